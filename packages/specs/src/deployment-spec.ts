/**
 * The normalized model deployment every deployment manifest (native `switchyard/v1` Deployment, KServe
 * InferenceService) is turned into, and the defaults used to fill it. Consumers only ever see this shape.
 */

/** Where a deployment manifest came from: the `apiVersion`/kind it was read as. */
export type DeploymentManifestSource = "serving.kserve.io/v1beta1/InferenceService" | "switchyard/v1/Deployment";

export type ModelFormat = "onnx" | "custom";

export interface DeploymentEnvVar {
  name: string;
  value: string;
}

export interface DeploymentModel {
  /** `onnx`: the platform serves the file itself; `custom`: `command` is a server of the Open Inference Protocol. */
  format: ModelFormat;
  /**
   * Required for onnx: `file:///abs/path.onnx`, `job://JOB/relative/path` (an artifact of a job),
   * `models://NAME@VERSION` or `models://NAME` (the latest version). Optional for a custom server.
   */
  storageUri?: string;
  /** Custom servers only: the process serves the Open Inference Protocol over HTTP on `$PORT`. */
  command?: string[];
  args?: string[];
  env?: DeploymentEnvVar[];
  workingDir?: string;
}

/** Per replica. */
export interface DeploymentResources {
  /** Whole GPUs, or a share of one GPU below 1 (0.5), as jobs ask for them. */
  gpus: number;
  /** Cores (0.5 = 500m). */
  cpu: number;
  memoryBytes: number;
}

/** Dynamic batching (Triton's fields; KServe's batcher sets the first, second and last). */
export interface DeploymentBatching {
  maxBatchSize: number;
  maxQueueDelayMicroseconds: number;
  /** Ascending, each at most maxBatchSize; empty: any size up to maxBatchSize. */
  preferredBatchSizes: number[];
  maxQueueSize: number;
  queueTimeoutMicroseconds: number;
}

export type ScaleMetric = "concurrency" | "rps";

export interface DeploymentSpec {
  /** A DNS-1123 label, like job names. */
  name: string;
  team: string;
  /** Kubernetes labels from the manifest; absent when there are none. */
  labels?: Record<string, string>;
  model: DeploymentModel;
  resources: DeploymentResources;
  /** 0 = scale to zero when idle. */
  minReplicas: number;
  /** ≥ minReplicas, ≥ 1, at most MAX_DEPLOYMENT_REPLICAS. */
  maxReplicas: number;
  scaleMetric: ScaleMetric;
  /** Per replica: concurrent requests (concurrency) or requests per second (rps) the autoscaler aims for; > 0. */
  scaleTarget: number;
  /** The most requests one replica serves at once; 0 = unlimited (KServe's meaning). */
  containerConcurrency: number;
  /** Per request. */
  timeoutSeconds: number;
  /** Share of requests (0..100) sent to the newest revision while the previous one still serves the rest. */
  canaryTrafficPercent?: number;
  /** Absent: no batching. */
  batching?: DeploymentBatching;
  /** Lowercase name of one of PRIORITY_CLASSES, or an integer as text. */
  priorityClassName?: string;
  queue?: string;
}

export interface ParseDeploymentManifestOptions {
  /** File name shown in error positions and warnings. */
  file?: string;
  /** The team when the manifest names none (`metadata.team` / `metadata.namespace`); "default" when not given. */
  defaultTeam?: string;
}

export interface ParsedDeploymentManifest {
  spec: DeploymentSpec;
  /** Things accepted but changed or ignored, one sentence each. */
  warnings: string[];
  source: DeploymentManifestSource;
}

/** The most replicas one deployment may scale to. */
export const MAX_DEPLOYMENT_REPLICAS = 64;
/** The largest batch a batching deployment may form. */
export const MAX_BATCH_SIZE = 1024;

/** The defaults filled in when a manifest leaves a field out. See README.md. */
export const DEPLOYMENT_DEFAULTS = {
  team: "default",
  gpus: 0,
  cpu: 1,
  memoryBytes: 2 ** 30,
  minReplicas: 1,
  scaleMetric: "concurrency",
  /** scaleTarget per metric: concurrent requests per replica, or requests per second per replica. */
  scaleTarget: { concurrency: 4, rps: 100 },
  containerConcurrency: 0,
  timeoutSeconds: 60,
  batching: {
    /** KServe's batcher default when only `batcher: {}` is written. */
    maxBatchSize: 32,
    maxQueueDelayMicroseconds: 5_000,
    maxQueueSize: 1024,
    queueTimeoutMicroseconds: 10_000_000,
  },
} as const;
