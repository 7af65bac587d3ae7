import type { Kysely, Migration } from "@switchyard/store";

/**
 * The experiments service's tables (`<data>/experiments/experiments.db`). An experiment has trials; each trial is a
 * job of the jobs service. Every intent is stored before it is acted on: a trial row (with the request id its
 * submission uses) exists before its job is submitted, so a crash between the two submits nothing twice, and a
 * trial's end (early-stopped, killed) is recorded before its job is cancelled.
 */
export interface ExperimentsTable {
  uid: string;
  /** Unique in its team. */
  name: string;
  team: string;
  /** The user who created it: trials run as their jobs (under the grant they gave this service). */
  owner: string;
  owner_teams: string;
  owner_role: string;
  /** "kubeflow.org/v1beta1/Experiment" or "switchyard/v1/Experiment". */
  source: string;
  /** The normalized ExperimentSpec (JSON). */
  spec: string;
  /** Its native manifest. */
  manifest: string;
  /** The directory relative working directories of the trial template resolve against ("" for none). */
  base_dir: string;
  /** The suggestion stream's seed (the same history gives the same suggestions after a restart). */
  seed: number;
  /** Created | Running | Succeeded | Failed | Cancelled. */
  condition: string;
  reason: string;
  message: string;
  created_at: number;
  completed_at: number | null;
  /** Set by DeleteExperiment: its trials' jobs are cancelled and deleted, then the rows go. */
  deleting: number;
  /** Set once an ended experiment has no trial job left running (until then the controller keeps cancelling them). */
  settled: number;
}

export interface TrialsTable {
  experiment_uid: string;
  /** `<experiment>-<index>`: the job's name too. */
  name: string;
  /** 1, 2, …: the order of suggestion. */
  idx: number;
  /** Assignment (JSON object: name → number | string). */
  assignment: string;
  /** The resource a multi-fidelity algorithm gave it, or null. */
  budget: number | null;
  /** The id its submission uses (idempotent in the jobs service). */
  request_id: string;
  job_uid: string;
  /** Pending | Running | Succeeded | Failed | EarlyStopped | Killed. */
  state: string;
  /** The objective by the metric strategy; null until reported. */
  objective: number | null;
  /** Metrics (JSON: name → {min, max, latest}) when last read. */
  metrics: string;
  /** The objective metric's curve (JSON: [[step, value], …]) when last read, for early stopping. */
  curve: string;
  message: string;
  created_at: number;
  completed_at: number | null;
}

export interface ExperimentsDatabase {
  experiments: ExperimentsTable;
  trials: TrialsTable;
}

export const migrations: Record<string, Migration> = {
  "0001_experiments": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("experiments")
        .addColumn("uid", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("team", "text", (c) => c.notNull())
        .addColumn("owner", "text", (c) => c.notNull())
        .addColumn("owner_teams", "text", (c) => c.notNull())
        .addColumn("owner_role", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("spec", "text", (c) => c.notNull())
        .addColumn("manifest", "text", (c) => c.notNull())
        .addColumn("base_dir", "text", (c) => c.notNull())
        .addColumn("seed", "integer", (c) => c.notNull())
        .addColumn("condition", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("created_at", "integer", (c) => c.notNull())
        .addColumn("completed_at", "integer")
        .addColumn("deleting", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("settled", "integer", (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint("experiments_team_name", ["team", "name"])
        .execute();
      await db.schema
        .createTable("trials")
        .addColumn("experiment_uid", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("idx", "integer", (c) => c.notNull())
        .addColumn("assignment", "text", (c) => c.notNull())
        .addColumn("budget", "real")
        .addColumn("request_id", "text", (c) => c.notNull())
        .addColumn("job_uid", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("objective", "real")
        .addColumn("metrics", "text", (c) => c.notNull())
        .addColumn("curve", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("created_at", "integer", (c) => c.notNull())
        .addColumn("completed_at", "integer")
        .addPrimaryKeyConstraint("trials_pk", ["experiment_uid", "idx"])
        .execute();
    },
  },
};
