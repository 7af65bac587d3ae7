/**
 * The normalized job spec every manifest format is turned into, and the defaults used to fill it.
 * Consumers (the jobs service, `switchyard validate`, the scheduler's request builder) only ever see this shape.
 */

/** Where a manifest came from: the `apiVersion` (and kind, for foreign formats) it was read as. */
export type JobManifestSource = "switchyard/v1" | "kubeflow.org/v1/PyTorchJob" | "trainer.kubeflow.org/v1alpha1/TrainJob" | "batch/v1/Job";

export type RestartPolicy = "Never" | "OnFailure" | "ExitCode";

/**
 * What one replica asks for: what it is scheduled by (Kubernetes' requests). `gpus` whole GPUs, or `gpuMilli` (1..999)
 * of one shared GPU when `gpus` is 0. `cpuMilli` or `memoryMb` 0: the manifest asked for none of that resource
 * (Kubernetes' BestEffort), and placement counts none.
 */
export interface JobResources {
  gpus: number;
  gpuMilli: number;
  /** 0 when the manifest declares no CPU (BestEffort). */
  cpuMilli: number;
  /** Mebibytes (2^20 bytes), rounded up; 0 when the manifest declares no memory (BestEffort). */
  memoryMb: number;
  gpuType?: string;
}

/**
 * Where a secret environment variable's value comes from: a key of one of the team's secrets (`switchyard secrets`),
 * a value written in the manifest and marked secret, or — once the jobs service has stored it — that value encrypted
 * (`sealed`: what the service keeps instead of `inline`). Never printed: readers see the ref, or that it is inline.
 */
export type SecretEnvSource =
  | { kind: "ref"; secret: string; key: string; optional?: boolean }
  | { kind: "inline"; value: string }
  | { kind: "sealed"; ciphertext: string };

/** One group of replicas that differs from the others (PyTorchJob Master vs Worker). */
export interface JobRole {
  name: "Master" | "Worker";
  replicas: number;
  command: string[];
  args: string[];
  /** Plain variables only; secret ones are in `secretEnv` (a name is in one or the other). */
  env: Record<string, string>;
  /** Secret variables, absent when there are none. */
  secretEnv?: Record<string, SecretEnvSource>;
  workingDir?: string;
  resources: JobResources;
}

export interface DistributedSpec {
  framework: "pytorch";
  /** Processes per replica (torchrun's `--nproc-per-node`). */
  nprocPerNode: number;
}

export interface JobSpec {
  /** Exactly one of `name` and `generateName` is set. */
  name?: string;
  generateName?: string;
  team: string;
  labels: Record<string, string>;
  queue: string;
  priority: number;
  /** Total replicas of the job (a gang: all start together or none). */
  replicas: number;
  /** Per replica. With `roles`, these are the first role's (the Master's). */
  resources: JobResources;
  command: string[];
  args: string[];
  /** Absolute when the manifest was read with a `baseDir`. */
  workingDir?: string;
  /** Plain variables only; secret ones are in `secretEnv` (a name is in one or the other). */
  env: Record<string, string>;
  /** Secret variables, absent when there are none. With `roles`, the first role's. */
  secretEnv?: Record<string, SecretEnvSource>;
  restartPolicy: RestartPolicy;
  backoffLimit: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  suspend: boolean;
  distributed?: DistributedSpec;
  image?: string;
  /** Per-replica overrides when roles differ (PyTorchJob Master vs Worker): index 0 is master. Absent when all replicas are the same. */
  roles?: JobRole[];
}

export interface ParseJobManifestOptions {
  /** File name shown in error positions and warnings. */
  file?: string;
  /** Directory a relative `workingDir` is resolved against (usually the manifest's directory). */
  baseDir?: string;
  /**
   * An inline secret value of "(secret)" is what printing a job puts in place of the value; by default such a value is
   * refused (submitting a printed job back would set it). True: take it as it is (a stored, redacted manifest read back).
   */
  acceptRedacted?: boolean;
}

export interface ParsedJobManifest {
  spec: JobSpec;
  /** Things accepted but changed or ignored, one sentence each. */
  warnings: string[];
  source: JobManifestSource;
}

/** The defaults filled in when a manifest leaves a field out. See README.md for the reasoning. */
export const JOB_DEFAULTS = {
  team: "default",
  queue: "default",
  priority: 0,
  replicas: 1,
  gpus: 0,
  /** No CPU or memory declared is none requested (Kubernetes' BestEffort), not a made-up amount. */
  cpuMilli: 0,
  memoryMb: 0,
  /** Native jobs run once unless asked; Kubeflow's PyTorchJob defaults replicas to OnFailure. */
  nativeRestartPolicy: "Never",
  pytorchJobRestartPolicy: "OnFailure",
  /** TrainJob restarts are decided by its runtime on Kubernetes; runtimes are not resolved here. */
  trainJobRestartPolicy: "Never",
  /** A batch/v1 Job's pod template must say Never or OnFailure on Kubernetes; left out here, Never. */
  batchJobRestartPolicy: "Never",
  /** Kubernetes' own default for a batch/v1 Job's backoffLimit. */
  batchJobBackoffLimit: 6,
  /** backoffLimit when not given: 0 with Never (nothing restarts), 3 with OnFailure or ExitCode. */
  backoffLimitNever: 0,
  backoffLimitRetrying: 3,
} as const;

export function defaultBackoffLimit(policy: RestartPolicy): number {
  return policy === "Never" ? JOB_DEFAULTS.backoffLimitNever : JOB_DEFAULTS.backoffLimitRetrying;
}
