/**
 * Kubernetes PodTemplateSpec, PodSpec and Container with every field of the API, so that Kubeflow manifests written
 * for a cluster parse here: a misspelt key is an error (with "did you mean"), a valid one is accepted.
 */
import * as z from "zod";
import {
  affinitySchema, appArmorProfileSchema, envFromSourceSchema, envVarSchema, execActionSchema, httpGetActionSchema,
  localObjectReferenceSchema, objectMetaSchema, resourceListSchema, resourceRequirementsSchema, seLinuxOptionsSchema,
  seccompProfileSchema, tcpSocketActionSchema, tolerationSchema, topologySpreadConstraintSchema, windowsOptionsSchema,
} from "./k8s-meta-schema.js";
import { volumeSchema } from "./k8s-volume-schema.js";
import { bool, int, obj, opt, str, strList, strMap } from "./schema-kit.js";

const probeSchema = obj({
  exec: opt(execActionSchema),
  httpGet: opt(httpGetActionSchema),
  tcpSocket: opt(tcpSocketActionSchema),
  grpc: opt(obj({ port: int(), service: opt(str()) })),
  initialDelaySeconds: opt(int()),
  timeoutSeconds: opt(int()),
  periodSeconds: opt(int()),
  successThreshold: opt(int()),
  failureThreshold: opt(int()),
  terminationGracePeriodSeconds: opt(int()),
});

const lifecycleHandlerSchema = obj({
  exec: opt(execActionSchema),
  httpGet: opt(httpGetActionSchema),
  tcpSocket: opt(tcpSocketActionSchema),
  sleep: opt(obj({ seconds: int() })),
});

const securityContextSchema = obj({
  allowPrivilegeEscalation: opt(bool()),
  appArmorProfile: opt(appArmorProfileSchema),
  capabilities: opt(obj({ add: opt(strList()), drop: opt(strList()) })),
  privileged: opt(bool()),
  procMount: opt(z.enum(["Default", "Unmasked"])),
  readOnlyRootFilesystem: opt(bool()),
  runAsGroup: opt(int()),
  runAsNonRoot: opt(bool()),
  runAsUser: opt(int()),
  seLinuxOptions: opt(seLinuxOptionsSchema),
  seccompProfile: opt(seccompProfileSchema),
  windowsOptions: opt(windowsOptionsSchema),
});

const containerShape = {
  name: str(),
  image: opt(str()),
  command: opt(strList()),
  args: opt(strList()),
  workingDir: opt(str()),
  ports: opt(z.array(obj({ name: opt(str()), containerPort: int(), hostPort: opt(int()), hostIP: opt(str()), protocol: opt(z.enum(["TCP", "UDP", "SCTP"])) }))),
  envFrom: opt(z.array(envFromSourceSchema)),
  env: opt(z.array(envVarSchema)),
  resources: opt(resourceRequirementsSchema),
  resizePolicy: opt(z.array(obj({ resourceName: str(), restartPolicy: z.enum(["NotRequired", "RestartContainer"]) }))),
  restartPolicy: opt(z.enum(["Always"])),
  volumeMounts: opt(z.array(obj({
    name: str(), mountPath: str(), readOnly: opt(bool()), recursiveReadOnly: opt(z.enum(["Disabled", "IfPossible", "Enabled"])),
    subPath: opt(str()), subPathExpr: opt(str()), mountPropagation: opt(z.enum(["None", "HostToContainer", "Bidirectional"])),
  }))),
  volumeDevices: opt(z.array(obj({ name: str(), devicePath: str() }))),
  livenessProbe: opt(probeSchema),
  readinessProbe: opt(probeSchema),
  startupProbe: opt(probeSchema),
  lifecycle: opt(obj({ postStart: opt(lifecycleHandlerSchema), preStop: opt(lifecycleHandlerSchema), stopSignal: opt(str()) })),
  terminationMessagePath: opt(str()),
  terminationMessagePolicy: opt(z.enum(["File", "FallbackToLogsOnError"])),
  imagePullPolicy: opt(z.enum(["Always", "IfNotPresent", "Never"])),
  securityContext: opt(securityContextSchema),
  stdin: opt(bool()),
  stdinOnce: opt(bool()),
  tty: opt(bool()),
};

export const containerSchema = obj(containerShape);
export type K8sContainer = z.infer<typeof containerSchema>;

const podSecurityContextSchema = obj({
  appArmorProfile: opt(appArmorProfileSchema),
  fsGroup: opt(int()),
  fsGroupChangePolicy: opt(z.enum(["OnRootMismatch", "Always"])),
  runAsGroup: opt(int()),
  runAsNonRoot: opt(bool()),
  runAsUser: opt(int()),
  seLinuxChangePolicy: opt(str()),
  seLinuxOptions: opt(seLinuxOptionsSchema),
  seccompProfile: opt(seccompProfileSchema),
  supplementalGroups: opt(z.array(int())),
  supplementalGroupsPolicy: opt(z.enum(["Merge", "Strict"])),
  sysctls: opt(z.array(obj({ name: str(), value: str() }))),
  windowsOptions: opt(windowsOptionsSchema),
});

export const podSpecSchema = obj({
  activeDeadlineSeconds: opt(int()),
  affinity: opt(affinitySchema),
  automountServiceAccountToken: opt(bool()),
  containers: z.array(containerSchema),
  dnsConfig: opt(obj({ nameservers: opt(strList()), searches: opt(strList()), options: opt(z.array(obj({ name: opt(str()), value: opt(str()) }))) })),
  dnsPolicy: opt(z.enum(["ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"])),
  enableServiceLinks: opt(bool()),
  ephemeralContainers: opt(z.array(obj({ ...containerShape, targetContainerName: opt(str()) }))),
  hostAliases: opt(z.array(obj({ ip: str(), hostnames: opt(strList()) }))),
  hostIPC: opt(bool()),
  hostNetwork: opt(bool()),
  hostPID: opt(bool()),
  hostUsers: opt(bool()),
  hostname: opt(str()),
  imagePullSecrets: opt(z.array(localObjectReferenceSchema)),
  initContainers: opt(z.array(containerSchema)),
  nodeName: opt(str()),
  nodeSelector: opt(strMap()),
  os: opt(obj({ name: z.enum(["linux", "windows"]) })),
  overhead: opt(resourceListSchema),
  preemptionPolicy: opt(z.enum(["PreemptLowerPriority", "Never"])),
  priority: opt(int()),
  priorityClassName: opt(str()),
  readinessGates: opt(z.array(obj({ conditionType: str() }))),
  resourceClaims: opt(z.array(obj({ name: str(), resourceClaimName: opt(str()), resourceClaimTemplateName: opt(str()) }))),
  resources: opt(resourceRequirementsSchema),
  restartPolicy: opt(z.enum(["Always", "OnFailure", "Never"])),
  runtimeClassName: opt(str()),
  schedulerName: opt(str()),
  schedulingGates: opt(z.array(obj({ name: str() }))),
  securityContext: opt(podSecurityContextSchema),
  serviceAccount: opt(str()),
  serviceAccountName: opt(str()),
  setHostnameAsFQDN: opt(bool()),
  shareProcessNamespace: opt(bool()),
  subdomain: opt(str()),
  terminationGracePeriodSeconds: opt(int()),
  tolerations: opt(z.array(tolerationSchema)),
  topologySpreadConstraints: opt(z.array(topologySpreadConstraintSchema)),
  volumes: opt(z.array(volumeSchema)),
});

export const podTemplateSpecSchema = obj({
  metadata: opt(objectMetaSchema),
  spec: podSpecSchema,
});
export type K8sPodTemplateSpec = z.infer<typeof podTemplateSpecSchema>;
