/**
 * Kubernetes Volume: a name plus one volume source. The sources people write by hand are modelled field by field;
 * the cloud- and vendor-specific ones are accepted as mappings (volumes mean nothing on this engine either way).
 */
import * as z from "zod";
import { labelSelectorSchema, localObjectReferenceSchema, objectMetaSchema, quantitySchema, resourceListSchema } from "./k8s-meta-schema.js";
import { bool, int, obj, opaque, opt, str, strList } from "./schema-kit.js";

const keyToPath = obj({ key: str(), path: str(), mode: opt(int()) });

const objectFieldSelector = obj({ apiVersion: opt(str()), fieldPath: str() });
const resourceFieldSelector = obj({ containerName: opt(str()), resource: str(), divisor: opt(quantitySchema) });

const downwardApiFile = obj({
  path: str(), fieldRef: opt(objectFieldSelector), resourceFieldRef: opt(resourceFieldSelector), mode: opt(int()),
});

const configMapSource = obj({ name: opt(str()), items: opt(z.array(keyToPath)), defaultMode: opt(int()), optional: opt(bool()) });
const secretSource = obj({ secretName: opt(str()), items: opt(z.array(keyToPath)), defaultMode: opt(int()), optional: opt(bool()) });

const projection = obj({
  configMap: opt(obj({ name: opt(str()), items: opt(z.array(keyToPath)), optional: opt(bool()) })),
  secret: opt(obj({ name: opt(str()), items: opt(z.array(keyToPath)), optional: opt(bool()) })),
  downwardAPI: opt(obj({ items: opt(z.array(downwardApiFile)) })),
  serviceAccountToken: opt(obj({ audience: opt(str()), expirationSeconds: opt(int()), path: str() })),
  clusterTrustBundle: opt(obj({ name: opt(str()), signerName: opt(str()), labelSelector: opt(labelSelectorSchema), optional: opt(bool()), path: str() })),
  podCertificate: opt(opaque()),
});

const pvcSpec = obj({
  accessModes: opt(strList()),
  selector: opt(labelSelectorSchema),
  resources: opt(obj({ limits: opt(resourceListSchema), requests: opt(resourceListSchema) })),
  volumeName: opt(str()),
  storageClassName: opt(str()),
  volumeMode: opt(z.enum(["Filesystem", "Block"])),
  dataSource: opt(obj({ apiGroup: opt(str()), kind: str(), name: str() })),
  dataSourceRef: opt(obj({ apiGroup: opt(str()), kind: str(), name: str(), namespace: opt(str()) })),
  volumeAttributesClassName: opt(str()),
});

const vendorSources = [
  "awsElasticBlockStore", "azureDisk", "azureFile", "cephfs", "cinder", "fc", "flexVolume", "flocker", "gcePersistentDisk",
  "gitRepo", "glusterfs", "iscsi", "photonPersistentDisk", "portworxVolume", "quobyte", "rbd", "scaleIO", "storageos", "vsphereVolume",
] as const;

const opaqueOpt = () => opt(opaque());
const vendorShape = Object.fromEntries(vendorSources.map((k) => [k, opaqueOpt()])) as Record<(typeof vendorSources)[number], ReturnType<typeof opaqueOpt>>;

export const volumeSchema = obj({
  name: str(),
  emptyDir: opt(obj({ medium: opt(str()), sizeLimit: opt(quantitySchema) })),
  hostPath: opt(obj({ path: str(), type: opt(str()) })),
  configMap: opt(configMapSource),
  secret: opt(secretSource),
  persistentVolumeClaim: opt(obj({ claimName: str(), readOnly: opt(bool()) })),
  nfs: opt(obj({ server: str(), path: str(), readOnly: opt(bool()) })),
  csi: opt(obj({
    driver: str(), readOnly: opt(bool()), fsType: opt(str()), volumeAttributes: opt(z.record(z.string(), z.string())),
    nodePublishSecretRef: opt(localObjectReferenceSchema),
  })),
  downwardAPI: opt(obj({ items: opt(z.array(downwardApiFile)), defaultMode: opt(int()) })),
  projected: opt(obj({ sources: opt(z.array(projection)), defaultMode: opt(int()) })),
  ephemeral: opt(obj({ volumeClaimTemplate: opt(obj({ metadata: opt(objectMetaSchema), spec: pvcSpec })) })),
  image: opt(obj({ reference: opt(str()), pullPolicy: opt(z.enum(["Always", "IfNotPresent", "Never"])) })),
  ...vendorShape,
});
