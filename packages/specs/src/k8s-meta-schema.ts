/**
 * Kubernetes types shared by pod specs and Kubeflow jobs: ObjectMeta, env, resources, selectors, affinity,
 * tolerations. Field names follow the Kubernetes API exactly, so a misspelt key is an error and a valid one is accepted.
 */
import * as z from "zod";
import { checkQuantity } from "./quantity.js";
import { secretKeyRefSchema } from "./secret-env.js";
import { bool, dnsLabel, envName, generateNamePrefix, int, intOrString, labelMap, obj, opaque, opt, str, strList } from "./schema-kit.js";

const scalar = () => z.union([z.string(), z.number(), z.boolean()]);

/** A resource quantity (`"500m"`, `"4Gi"`, `2`), checked for form; meaning is checked where it is used. */
export const quantitySchema = z.union([z.string(), z.number()]).superRefine((v, ctx) => {
  const r = checkQuantity(v);
  if (!r.ok) {
    ctx.addIssue({ code: "custom", message: r.reason, input: v, params: { expected: 'a Kubernetes quantity such as "500m", "2", "4Gi"', hint: "use a non-negative number with an optional unit: m, k, M, G, Ki, Mi, Gi" } });
  }
});

export const resourceListSchema = z.record(z.string(), quantitySchema);

export const ownerReferenceSchema = obj({
  apiVersion: str(), kind: str(), name: str(), uid: str(), controller: opt(bool()), blockOwnerDeletion: opt(bool()),
});

export const managedFieldsEntrySchema = obj({
  manager: opt(str()), operation: opt(str()), apiVersion: opt(str()), time: opt(str()), fieldsType: opt(str()), fieldsV1: opt(opaque()), subresource: opt(str()),
});

/** Every ObjectMeta field, loosely typed; a job's own metadata narrows name, namespace and labels. */
export const objectMetaShape = {
  name: opt(str()),
  generateName: opt(str()),
  namespace: opt(str()),
  selfLink: opt(str()),
  uid: opt(str()),
  resourceVersion: opt(str()),
  generation: opt(int()),
  creationTimestamp: opt(str()),
  deletionTimestamp: opt(str()),
  deletionGracePeriodSeconds: opt(int()),
  labels: opt(z.record(z.string(), scalar())),
  annotations: opt(z.record(z.string(), scalar())),
  ownerReferences: opt(z.array(ownerReferenceSchema)),
  finalizers: opt(strList()),
  managedFields: opt(z.array(managedFieldsEntrySchema)),
};
export const objectMetaSchema = obj(objectMetaShape);

/** A Kubeflow job's own metadata: name, namespace (our team) and labels are used, so they are checked. */
export const jobObjectMetaSchema = obj({
  ...objectMetaShape,
  name: opt(dnsLabel("job name")),
  generateName: opt(generateNamePrefix()),
  namespace: opt(dnsLabel("namespace")),
  labels: opt(labelMap()),
});

export const localObjectReferenceSchema = obj({ name: opt(str()) });

const keySelector = obj({ name: opt(str()), key: str(), optional: opt(bool()) });

export const envVarSchema = obj({
  name: envName(),
  value: opt(z.union([z.string(), z.number(), z.boolean()]).transform(String)),
  valueFrom: opt(
    obj({
      fieldRef: opt(obj({ apiVersion: opt(str()), fieldPath: str() })),
      resourceFieldRef: opt(obj({ containerName: opt(str()), resource: str(), divisor: opt(quantitySchema) })),
      configMapKeyRef: opt(keySelector),
      // Resolved from the job's team's secret store (`switchyard secrets`): name and key follow Kubernetes' rules.
      secretKeyRef: opt(secretKeyRefSchema()),
      fileKeyRef: opt(obj({ volumeName: str(), path: str(), key: str(), optional: opt(bool()) })),
    }),
  ),
});

export const envFromSourceSchema = obj({
  prefix: opt(str()),
  configMapRef: opt(obj({ name: opt(str()), optional: opt(bool()) })),
  secretRef: opt(obj({ name: opt(str()), optional: opt(bool()) })),
});

export const resourceRequirementsSchema = obj({
  limits: opt(resourceListSchema),
  requests: opt(resourceListSchema),
  claims: opt(z.array(obj({ name: str(), request: opt(str()) }))),
});

const requirement = obj({ key: str(), operator: str(), values: opt(strList()) });

export const labelSelectorSchema = obj({
  matchLabels: opt(z.record(z.string(), scalar())),
  matchExpressions: opt(z.array(requirement)),
});

const nodeSelectorTerm = obj({ matchExpressions: opt(z.array(requirement)), matchFields: opt(z.array(requirement)) });

const podAffinityTerm = obj({
  labelSelector: opt(labelSelectorSchema),
  namespaceSelector: opt(labelSelectorSchema),
  namespaces: opt(strList()),
  topologyKey: str(),
  matchLabelKeys: opt(strList()),
  mismatchLabelKeys: opt(strList()),
});

const podAffinity = obj({
  requiredDuringSchedulingIgnoredDuringExecution: opt(z.array(podAffinityTerm)),
  preferredDuringSchedulingIgnoredDuringExecution: opt(z.array(obj({ weight: int(), podAffinityTerm }))),
});

export const affinitySchema = obj({
  nodeAffinity: opt(
    obj({
      requiredDuringSchedulingIgnoredDuringExecution: opt(obj({ nodeSelectorTerms: z.array(nodeSelectorTerm) })),
      preferredDuringSchedulingIgnoredDuringExecution: opt(z.array(obj({ weight: int(), preference: nodeSelectorTerm }))),
    }),
  ),
  podAffinity: opt(podAffinity),
  podAntiAffinity: opt(podAffinity),
});

export const tolerationSchema = obj({
  key: opt(str()),
  operator: opt(z.enum(["Exists", "Equal"])),
  value: opt(str()),
  effect: opt(z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"])),
  tolerationSeconds: opt(int()),
});

export const topologySpreadConstraintSchema = obj({
  maxSkew: int(),
  topologyKey: str(),
  whenUnsatisfiable: z.enum(["DoNotSchedule", "ScheduleAnyway"]),
  labelSelector: opt(labelSelectorSchema),
  minDomains: opt(int()),
  nodeAffinityPolicy: opt(z.enum(["Honor", "Ignore"])),
  nodeTaintsPolicy: opt(z.enum(["Honor", "Ignore"])),
  matchLabelKeys: opt(strList()),
});

export const seLinuxOptionsSchema = obj({ level: opt(str()), role: opt(str()), type: opt(str()), user: opt(str()) });
export const seccompProfileSchema = obj({ type: z.enum(["Localhost", "RuntimeDefault", "Unconfined"]), localhostProfile: opt(str()) });
export const appArmorProfileSchema = seccompProfileSchema;
export const windowsOptionsSchema = obj({
  gmsaCredentialSpec: opt(str()), gmsaCredentialSpecName: opt(str()), hostProcess: opt(bool()), runAsUserName: opt(str()),
});

/** Probe handlers and lifecycle hooks share these. */
export const execActionSchema = obj({ command: opt(strList()) });
export const httpGetActionSchema = obj({
  path: opt(str()), port: intOrString(), host: opt(str()), scheme: opt(z.enum(["HTTP", "HTTPS"])),
  httpHeaders: opt(z.array(obj({ name: str(), value: str() }))),
});
export const tcpSocketActionSchema = obj({ port: intOrString(), host: opt(str()) });
