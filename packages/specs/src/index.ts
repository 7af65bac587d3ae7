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
export { batchJobSchema } from "./kubernetes-batchjob.js";
export { parseExperimentManifest } from "./experiment-manifest.js";
export { experimentSpecToManifest, experimentSpecToManifestObject } from "./experiment-to-manifest.js";
export { renderTrialManifest, renderTrialManifestObject } from "./experiment-render.js";
export { katibExperimentSchema } from "./experiment-katib.js";
export { nativeExperimentManifestSchema } from "./experiment-native.js";
export type { NativeExperimentManifest } from "./experiment-native.js";
export {
  DEFAULT_METRICS_REGEX, EXPERIMENT_DEFAULTS, MAX_EXPERIMENT_NAME_LENGTH, MAX_EXPERIMENT_PARAMETERS, MAX_PARAMETER_LIST_LENGTH, MAX_PARAMETER_VALUE_LENGTH,
  MAX_PARALLEL_TRIALS, MAX_TRIAL_COUNT, MAX_METRIC_NAMES, MAX_ALGORITHM_SETTINGS, MAX_METRICS_FILTERS, MAX_METRICS_FILTER_LENGTH, EXPERIMENT_LABEL, TRIAL_LABEL,
  KATIB_EXPERIMENT_LABEL, KATIB_TRIAL_LABEL,
} from "./experiment-spec.js";
export type {
  ExperimentSpec, ExperimentParameter, ExperimentObjective, ExperimentAlgorithm, ExperimentTrialTemplate, ExperimentManifestSource, TrialParameter, TrialFormat,
  ParameterType, ObjectiveType, MetricStrategy, MetricsCollector, MetricsFileFormat, ResumePolicy, JsonValue, AlgorithmCheck, AlgorithmCheckContext,
  AlgorithmProblem, ParseExperimentManifestOptions, ParsedExperimentManifest, RenderTrialOptions,
} from "./experiment-spec.js";
