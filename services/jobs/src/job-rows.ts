/**
 * The jobs service's records as the rest of the service sees them: typed rows out of the store (phase and state as
 * unions, the spec parsed, GPU indices as numbers, the waiting reason as data), and the typed writes that go back in.
 * Only the store modules turn these into columns (job-store.ts); nothing else knows how they are stored.
 */
import type { Selectable } from "@switchyard/store";
import type { JobSpec } from "@switchyard/specs";
import type { JobPhase, ReplicaStateName } from "./phases.js";
import type { EventsTable, JobsTable, ReplicasTable } from "./schema.js";
import type { WaitingReason } from "./waiting-reason.js";

/** A job without its spec and manifest: what the scheduling cycle, listings of holders and accounting read. */
export type JobSummary = Omit<Selectable<JobsTable>, "spec" | "manifest" | "phase" | "waiting"> & {
  phase: JobPhase;
  waiting: WaitingReason | null;
};

/** A job as stored: its spec parsed once, when the row is read. */
export type JobRow = JobSummary & { spec: JobSpec; manifest: string };

/** What a scheduling cycle reads of each queued job (JobStore.queued): eleven columns, not thirty, for every queued job. */
export type QueuedJob = Pick<JobSummary, "uid" | "name" | "team" | "queue" | "priority" | "created_at" | "seq" | "attained_gpu_ms" | "queued_at" | "user" | "preemptions" | "workload_class">;

export type ReplicaRow = Omit<Selectable<ReplicasTable>, "state" | "gpus"> & { state: ReplicaStateName; gpus: number[] };

export type EventRow = Selectable<EventsTable>;

/** Columns a transition may change on a job (never its identity, spec or manifest). */
export type JobPatch = Partial<Omit<JobSummary, "uid" | "seq" | "name" | "team" | "created_at" | "request_id" | "source">>;

export type ReplicaPatch = Partial<Omit<ReplicaRow, "run_id" | "job_uid" | "attempt" | "idx">>;

/** A replica row as a placement creates it (state Pending). */
export type NewReplica = Omit<ReplicaRow, "state" | "exit_code" | "pid" | "start_time" | "end_time" | "metrics_offset">;

/** One line of a job's history (`describe`). `replica` -1: the job as a whole. */
export interface JobEventRecord {
  type: string;
  message: string;
  attempt: number;
  replica?: number;
}

/** Everything one transition writes, in one transaction. */
export interface JobWrite {
  job?: JobPatch;
  newReplicas?: readonly NewReplica[];
  replicas?: readonly { runId: string; patch: ReplicaPatch }[];
  events?: readonly JobEventRecord[];
}

/** A new job as a submission stores it. */
export type WorkloadClass = "training" | "serving";

export interface NewJob {
  uid: string;
  name: string;
  team: string;
  queue: string;
  priority: number;
  reason: string;
  message: string;
  /** The spec to store (inline secret values sealed). */
  spec: JobSpec;
  manifest: string;
  source: string;
  requestId: string | null;
  user: string;
  /** "serving" for a model-server replica (only the serving service submits those); default "training". */
  workloadClass?: WorkloadClass;
  /** Submission time (ms). */
  at: number;
  event: JobEventRecord;
}
