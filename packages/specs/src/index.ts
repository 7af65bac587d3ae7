export { parseJobManifest, MAX_MANIFEST_BYTES, MAX_MANIFEST_DEPTH, MAX_EXEC_STRING_BYTES } from "./job-manifest.js";
export { jobSpecToManifest, REDACTED } from "./job-to-manifest.js";
export { nativeJobManifestSchema, nativeResourcesSchema } from "./job-native.js";
export type { NativeJobManifest } from "./job-native.js";
export { pytorchJobSchema } from "./kubeflow-pytorchjob.js";
export { trainJobSchema } from "./kubeflow-trainjob.js";
export { podSpecSchema, podTemplateSpecSchema, containerSchema } from "./k8s-pod-schema.js";
export { JOB_DEFAULTS, defaultBackoffLimit } from "./job-spec.js";
export type {
  JobSpec, JobResources, JobRole, SecretEnvSource, DistributedSpec, RestartPolicy, JobManifestSource, ParseJobManifestOptions, ParsedJobManifest,
} from "./job-spec.js";
export { parseQuantityCpu, parseQuantityMemory, parseQuantityGpu, checkQuantity } from "./quantity.js";
export type { QuantityResult } from "./quantity.js";
export { PRIORITY_CLASSES } from "./normalize-common.js";
export { redactManifest } from "./redact-manifest.js";
export { secretNameProblem, secretKeyProblem } from "./secret-env.js";
export { parseDeploymentManifest } from "./deployment-manifest.js";
export { deploymentSpecToManifest, deploymentSpecToManifestObject } from "./deployment-to-manifest.js";
export { nativeDeploymentManifestSchema } from "./deployment-native.js";
export type { NativeDeploymentManifest } from "./deployment-native.js";
export { inferenceServiceSchema, PREFERRED_BATCH_SIZES_ANNOTATION, MAX_QUEUE_SIZE_ANNOTATION } from "./kserve-inferenceservice.js";
export { DEPLOYMENT_DEFAULTS, MAX_DEPLOYMENT_REPLICAS, MAX_BATCH_SIZE } from "./deployment-spec.js";
export type {
  DeploymentSpec, DeploymentModel, DeploymentResources, DeploymentBatching, DeploymentEnvVar, ModelFormat, ScaleMetric, DeploymentManifestSource,
  ParseDeploymentManifestOptions, ParsedDeploymentManifest,
} from "./deployment-spec.js";
export { STORAGE_URI_FORMS, storageUriProblem } from "./deployment-common.js";
