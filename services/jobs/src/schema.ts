import { sql, type Generated, type Kysely, type Migration } from "@switchyard/store";

/** The jobs service's own tables (no other service reads them). Times are ms since the epoch. */
export interface JobsTable {
  uid: string;
  name: string;
  team: string;
  queue: string;
  priority: number;
  /** A JobPhase (phases.ts). */
  phase: string;
  reason: string;
  message: string;
  /** While the reason is Waiting: why, as data (waiting-reason.ts, JSON); rendered to text only when read out. */
  waiting: string | null;
  /** The normalized JobSpec (JSON). */
  spec: string;
  /** The manifest as submitted. */
  manifest: string;
  source: string;
  request_id: string | null;
  seq: Generated<number>;
  created_at: number;
  start_time: number | null;
  completion_time: number | null;
  /** Attempts started so far. */
  attempt: number;
  /** Set when a cancel was asked; the job ends Cancelled once its processes are gone. */
  cancel_requested: number;
  /** Set when the deadline passed; the job ends Failed/DeadlineExceeded once its processes are gone. */
  deadline_exceeded: number;
  /** PyTorch rendezvous port of the current attempt. */
  master_port: number | null;
  /** GPU-ms used by finished attempts (least-attained-service ordering). */
  attained_gpu_ms: number;
  /** Who submitted it (the gateway's verified user; empty for internal callers). */
  user: string;
  /** Failures retried so far (counted against backoffLimit; preemptions are not). */
  retries: number;
  preemptions: number;
  /** The current run was started by backfill ahead of a blocked job: first to give way. */
  preemptible: number;
  /** When the job last entered the queue (submission or requeue); queueing time and starvation count from it. */
  queued_at: number;
  /** Total ms spent queued before each start (accounting). */
  queued_ms: number;
  /** When the job's files were deleted by retention or `switchyard gc`; null while they are kept. */
  collected_at: number | null;
  /** Bytes of the job's files (its directory and its logs) when last measured (retention.ts). */
  disk_bytes: Generated<number>;
  disk_measured_at: number | null;
  /**
   * When the job was deleted (DeleteJob, a replacing submission); null while it exists. A deleted job is found by no
   * lookup and its name is free (the row's name becomes `NAME (deleted UID)`), but its row and its replica runs stay:
   * they are its accounting (usage, fair share's memory) and what retention collects its files by.
   */
  deleted_at: number | null;
  /**
   * "training" (everything users submit), or "serving": a model-server replica the serving service runs for a
   * deployment — never demoted by least-attained-service nor preempted by training of its priority or below.
   */
  workload_class: Generated<string>;
}

/** Applied queue configurations, newest last (the scheduler uses the newest). */
export interface QueueConfigsTable {
  version: Generated<number>;
  yaml: string;
  applied_at: number;
  applied_by: string;
}

export interface ReplicasTable {
  run_id: string;
  job_uid: string;
  attempt: number;
  idx: number;
  role: string;
  /** A ReplicaStateName (phases.ts). */
  state: string;
  node: string;
  /** JSON array of GPU indices. */
  gpus: string;
  gpu_milli: number;
  cpu_milli: number;
  memory_mb: number;
  exit_code: number | null;
  pid: number | null;
  start_time: number | null;
  end_time: number | null;
  /** How far the metrics collector has read this replica's log. */
  metrics_offset: number;
}

export interface EventsTable {
  id: Generated<number>;
  job_uid: string;
  time: number;
  type: string;
  message: string;
  attempt: number;
  replica: number;
}

/** A metric series' points, bounded by downsampling (metrics-store.ts): a row stands for steps [step, step_to]. */
export interface MetricsTable {
  job_uid: string;
  name: string;
  step: number;
  /** Last step the row stands for; null: the row is one point (step_to = step). */
  step_to: number | null;
  /** The last value of the steps it stands for. */
  value: number;
  /** Null for a single point (= value). */
  min: number | null;
  max: number | null;
  /** Points the row stands for. */
  count: Generated<number>;
  time: number;
}

/** Teams' secrets, one row per key; values only ever encrypted (secret-box.ts, bound to team/name/key). */
export interface SecretsTable {
  team: string;
  name: string;
  key: string;
  /** `v1:<base64>` from SecretBox.seal. */
  ciphertext: string;
  created_at: number;
  updated_at: number;
  /** The user (or platform service) that wrote the secret last. */
  updated_by: string;
}

export interface JobsDatabase {
  jobs: JobsTable;
  replicas: ReplicasTable;
  events: EventsTable;
  metrics: MetricsTable;
  queue_configs: QueueConfigsTable;
  secrets: SecretsTable;
}

export const migrations: Record<string, Migration> = {
  "0001_jobs": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("jobs")
        .addColumn("seq", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("uid", "text", (c) => c.notNull().unique())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("team", "text", (c) => c.notNull())
        .addColumn("queue", "text", (c) => c.notNull())
        .addColumn("priority", "integer", (c) => c.notNull())
        .addColumn("phase", "text", (c) => c.notNull())
        .addColumn("reason", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("message", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("spec", "text", (c) => c.notNull())
        .addColumn("manifest", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("request_id", "text", (c) => c.unique())
        .addColumn("created_at", "integer", (c) => c.notNull())
        .addColumn("start_time", "integer")
        .addColumn("completion_time", "integer")
        .addColumn("attempt", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("cancel_requested", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("deadline_exceeded", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("master_port", "integer")
        .addColumn("attained_gpu_ms", "integer", (c) => c.notNull().defaultTo(0))
        .addUniqueConstraint("jobs_team_name", ["team", "name"])
        .execute();
      await db.schema.createIndex("jobs_phase").on("jobs").column("phase").execute();
      await db.schema
        .createTable("replicas")
        .addColumn("run_id", "text", (c) => c.primaryKey())
        .addColumn("job_uid", "text", (c) => c.notNull().references("jobs.uid"))
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("idx", "integer", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("node", "text", (c) => c.notNull())
        .addColumn("gpus", "text", (c) => c.notNull())
        .addColumn("gpu_milli", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("cpu_milli", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("memory_mb", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("exit_code", "integer")
        .addColumn("pid", "integer")
        .addColumn("start_time", "integer")
        .addColumn("end_time", "integer")
        .addColumn("metrics_offset", "integer", (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex("replicas_job").on("replicas").columns(["job_uid", "attempt"]).execute();
      await db.schema
        .createTable("events")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("job_uid", "text", (c) => c.notNull())
        .addColumn("time", "integer", (c) => c.notNull())
        .addColumn("type", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .addColumn("attempt", "integer", (c) => c.notNull())
        .addColumn("replica", "integer", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("events_job").on("events").column("job_uid").execute();
      await db.schema
        .createTable("metrics")
        .addColumn("job_uid", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("step", "integer", (c) => c.notNull())
        .addColumn("value", "real", (c) => c.notNull())
        .addColumn("time", "integer", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("metrics_job").on("metrics").columns(["job_uid", "name", "step"]).execute();
      await sql`select 1`.execute(db);
    },
  },
};

migrations["0002_scheduling"] = {
  async up(db: Kysely<unknown>) {
    for (const [col, type, dflt] of [
      ["user", "text", ""],
      ["retries", "integer", 0],
      ["preemptions", "integer", 0],
      ["preemptible", "integer", 0],
      ["queued_at", "integer", 0],
      ["queued_ms", "integer", 0],
    ] as const) {
      await db.schema.alterTable("jobs").addColumn(col, type, (c) => c.notNull().defaultTo(dflt)).execute();
    }
    await sql`update jobs set queued_at = created_at`.execute(db);
    await db.schema
      .createTable("queue_configs")
      .addColumn("version", "integer", (c) => c.primaryKey().autoIncrement())
      .addColumn("yaml", "text", (c) => c.notNull())
      .addColumn("applied_at", "integer", (c) => c.notNull())
      .addColumn("applied_by", "text", (c) => c.notNull().defaultTo(""))
      .execute();
  },
};

migrations["0003_secrets"] = {
  async up(db: Kysely<unknown>) {
    await db.schema
      .createTable("secrets")
      .addColumn("team", "text", (c) => c.notNull())
      .addColumn("name", "text", (c) => c.notNull())
      .addColumn("key", "text", (c) => c.notNull())
      .addColumn("ciphertext", "text", (c) => c.notNull())
      .addColumn("created_at", "integer", (c) => c.notNull())
      .addColumn("updated_at", "integer", (c) => c.notNull())
      .addColumn("updated_by", "text", (c) => c.notNull().defaultTo(""))
      .addPrimaryKeyConstraint("secrets_pk", ["team", "name", "key"])
      .execute();
  },
};

migrations["0004_metric_buckets"] = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("metrics").addColumn("step_to", "integer").execute();
    await db.schema.alterTable("metrics").addColumn("min", "real").execute();
    await db.schema.alterTable("metrics").addColumn("max", "real").execute();
    await db.schema.alterTable("metrics").addColumn("count", "integer", (c) => c.notNull().defaultTo(1)).execute();
  },
};

migrations["0005_retention"] = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("jobs").addColumn("collected_at", "integer").execute();
    await db.schema.alterTable("jobs").addColumn("disk_bytes", "integer", (c) => c.notNull().defaultTo(0)).execute();
    await db.schema.alterTable("jobs").addColumn("disk_measured_at", "integer").execute();
  },
};

migrations["0006_waiting_reason"] = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("jobs").addColumn("waiting", "text").execute();
  },
};

migrations["0007_deleted_jobs"] = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("jobs").addColumn("deleted_at", "integer").execute();
  },
};

migrations["0008_workload_class"] = {
  async up(db: Kysely<unknown>) {
    await db.schema.alterTable("jobs").addColumn("workload_class", "text", (c) => c.notNull().defaultTo("training")).execute();
  },
};
