/**
 * The scheduler's vocabulary. The scheduler is a pure library: no I/O, no timers, time passed in as `nowMs`.
 * The jobs service and `switchyard simulate` call the same `Scheduler.schedule()` with a snapshot and act on the
 * decisions it returns.
 */

/** One machine's allocatable resources. */
export interface NodeInfo {
  name: string;
  /** GPUs on this node; index is the device index on the node (what CUDA_VISIBLE_DEVICES takes). */
  gpus: { index: number; type: string }[];
  cpuMilli: number;
  memoryMb: number;
}

/** What one replica asks for. `gpus` whole GPUs, or `gpuMilli` (1..999) of one shared GPU when gpus is 0. */
export interface ReplicaRequest {
  gpus: number;
  gpuMilli?: number;
  gpuType?: string;
  cpuMilli: number;
  memoryMb: number;
}

export interface PendingJob {
  uid: string;
  name: string;
  team: string;
  queue: string;
  /** User priority: higher first. */
  priority: number;
  /** Order of arrival (submission time; ties broken by `seq`). */
  submittedAtMs: number;
  seq: number;
  /** One entry per replica; a gang: all placed together or none. */
  replicas: ReplicaRequest[];
  /** GPU-milliseconds already used by earlier runs (least-attained-service ordering). */
  attainedGpuMs?: number;
}

export interface ReplicaPlacement {
  node: string;
  gpuIndices: number[];
  /** For a fractional request: the share taken on `gpuIndices[0]`. */
  gpuMilli?: number;
  cpuMilli: number;
  memoryMb: number;
}

export interface RunningJob extends PendingJob {
  placement: ReplicaPlacement[];
  startedAtMs: number;
  /** Started ahead of a blocked job by backfill: first to give way. */
  preemptible?: boolean;
}

export interface ScheduleInput {
  nowMs: number;
  nodes: NodeInfo[];
  pending: PendingJob[];
  running: RunningJob[];
}

export interface ScheduleDecision {
  /** Jobs to start now, with where each replica goes (same order as the job's replicas). */
  start: { uid: string; placement: ReplicaPlacement[] }[];
  /** Running jobs to stop and requeue (SIGTERM + grace), each with why. */
  preempt: { uid: string; reason: string }[];
  /** Pending jobs left waiting, each with a human reason (which resource, which quota, position). */
  waiting: { uid: string; reason: string; position: number }[];
}

export interface Scheduler {
  readonly name: string;
  schedule(input: ScheduleInput): ScheduleDecision;
}
