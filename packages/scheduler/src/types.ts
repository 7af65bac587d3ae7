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
  /**
   * GPU-milliseconds already used by earlier runs (least-attained-service ordering). For a running job, the GPU time
   * of the current run is NOT included: the scheduler adds `(nowMs - startedAtMs) × GPUs` itself.
   */
  attainedGpuMs?: number;
  /** When the job last entered the queue (submission, or requeue after a preemption); starvation is measured from it. Defaults to `submittedAtMs`. */
  queuedAtMs?: number;
  /** Who submitted it (accounting and reasons only). */
  user?: string;
  /**
   * How often the job was preempted so far. The progress guarantee reads it: a job preempted before is not preempted
   * again until its current run has lasted the minimum run time, and never more than `maxPreemptionsPerJob` times.
   */
  preemptions?: number;
  /**
   * Running jobs were preempted to make room for this job (a decision's `preempt[].forUid`): it is considered before
   * every other waiting job, so that what its victims free goes to it and to nothing else. The caller sets it from the
   * decisions it acted on and clears it when the job starts.
   */
  reserved?: boolean;
  /**
   * A model-serving replica (one long-running model server of a deployment), not training: it never finishes, so the
   * least-attained-service rules do not apply to it (its level is always 0: never demoted, never a LAS victim), and it
   * is never preempted by work of equal or lower priority except to reclaim quota that its queue's serving replicas
   * hold beyond the queue's nominal quota. Higher-priority work may preempt it; training victims are taken first.
   * It is never backfilled: it waits behind a job before it that does not fit, rather than start where it could
   * never be made to give way.
   */
  serving?: boolean;
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
  /** As on the waiting job (`PendingJob.serving`): pass it on every cycle while the replica runs; its protection rests on it. */
  serving?: boolean;
  /**
   * Started ahead of a blocked job by backfill: first to give way. Pass back what `start[].preemptible` said. Ignored
   * for a serving replica (never backfilled, never evicted as backfill).
   */
  preemptible?: boolean;
  /** Time of the last checkpoint of this run, when known: work since then is what a preemption loses. */
  checkpointedAtMs?: number;
  /** A preemption was already sent and the job is shutting down: its resources count as being freed. */
  terminating?: boolean;
  /** With `terminating`: the job it was preempted for (`preempt[].forUid`); what it frees is that job's alone. */
  preemptedFor?: string;
}

export interface ScheduleInput {
  nowMs: number;
  nodes: NodeInfo[];
  pending: PendingJob[];
  running: RunningJob[];
  /**
   * Team queues with quotas and cohorts (from `parseQueuesConfig`). Absent: no quotas, one pool, fair share across
   * the jobs' `queue` names. Pass the same object every cycle: its compiled form is cached by identity.
   */
  queues?: QueuesConfig;
  /**
   * Decayed GPU-milliseconds each queue (or, without queues, each `queue` name) used in the past (`DecayedUsage`):
   * fair share weighs it with current usage, so a queue that had the cluster all week gives way to one that did not.
   */
  usageHistory?: Readonly<Record<string, number>>;
}

/** Why a running job is preempted, in the order of preference in which victims are taken. */
export type PreemptionKind = "backfill" | "reclaim" | "las" | "priority";

/** One resource's quota in a queue (Kueue's meaning). */
export interface ResourceQuota {
  /** What the queue is guaranteed. */
  nominalQuota: number;
  /** How much more than nominal it may borrow from its cohort; absent: no limit (only what the cohort lends). */
  borrowingLimit?: number;
  /** How much of its nominal quota it lends to the cohort when unused; absent: all of it. */
  lendingLimit?: number;
}

/**
 * Resource names in quotas: `gpus` (whole GPUs of any type), `gpus/<TYPE>` (whole GPUs of one type, e.g. `gpus/A100`),
 * `gpuMilli` (shares of shared GPUs), `cpuMilli`, `memoryMb`. A resource a queue does not list is not limited.
 */
export type QuotaResource = string;

export interface QueueSpec {
  name: string;
  team: string;
  /** Queues in the same cohort lend each other unused quota. */
  cohort?: string;
  /** Fair-share weight across queues (dominant resource fairness); default 1. */
  weight?: number;
  resources: Record<QuotaResource, ResourceQuota>;
  /** Storage limits of the queue's jobs (queues-limits.ts; applied by the jobs service, not the scheduler). */
  limits?: QueueLimits;
}

/** What a queue's jobs may keep: how long after they end, how much log, how many metric points per series. */
export interface QueueLimits {
  retentionMs?: number;
  logHeadBytes?: number;
  logTailBytes?: number;
  metricPoints?: number;
}

export interface QueuesConfig {
  queues: QueueSpec[];
  /** Limits of queues that set none themselves. */
  defaults?: { limits: QueueLimits };
  /** Per-team settings: the disk quota of the team's jobs' files. */
  teams?: Record<string, { diskQuotaBytes: number }>;
}

/**
 * Why a job waits, as data (`reason` says it for people): `neverFits` — not on this cluster even empty; `resources` —
 * not now, for lack of free resources; `quota` — its queue (or the queue's cohort) is at its limit for `resource`;
 * `noQueue` — its queue is not in the queues config; `behind` — strict order: `blockedBy` (a job name) does not fit
 * and holds it up (`blockerPosition`: that job's position, when the reason names it); `preempting` — running jobs are
 * being stopped to make room for it.
 */
export type WaitingCause =
  | { kind: "neverFits" }
  | { kind: "resources" }
  | { kind: "preempting" }
  | { kind: "quota"; queue: string; resource: string; cohort?: string }
  | { kind: "noQueue"; queue: string }
  | { kind: "behind"; blockedBy: string; blockerPosition?: number };

export interface ScheduleDecision {
  /**
   * Jobs to start now, with where each replica goes (same order as the job's replicas). `preemptible`: started by
   * backfill ahead of a blocked job; report it back on the RunningJob so that it is the first to give way.
   */
  start: { uid: string; placement: ReplicaPlacement[]; preemptible?: boolean }[];
  /** Running jobs to stop and requeue (SIGTERM + grace), each with why; `kind` and `forUid` (the job it makes room for) when known. */
  preempt: { uid: string; reason: string; kind?: PreemptionKind; forUid?: string }[];
  /**
   * Pending jobs left waiting, each with a human reason (which resource, which quota, position) and the same as data
   * (`cause`): callers branch on the cause, never on the text.
   */
  waiting: { uid: string; reason: string; position: number; cause: WaitingCause }[];
  /**
   * When the decision may change with no event (a running job reaching a new service level, a minimum run time
   * ending, a starvation guard): run a cycle again then. Absent: only events change it.
   */
  nextReviewAtMs?: number;
}

export interface Scheduler {
  readonly name: string;
  schedule(input: ScheduleInput): ScheduleDecision;
}
