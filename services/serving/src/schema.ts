import type { Kysely, Migration } from "@switchyard/store";

/**
 * The serving service's tables (`<data>/serving/serving.db`). A deployment has revisions (each an immutable spec and
 * model), and each revision has replicas — jobs of the jobs service, which the reconciler starts, registers in the
 * mesh, drains and stops. Every intent is stored before it is acted on: a replica row (with the request id its
 * submission uses) exists before the job is submitted, so a crash between the two submits nothing twice.
 */
export interface DeploymentsTable {
  uid: string;
  /** Unique on the platform: it is the model's name in `/v2/models/{name}`. */
  name: string;
  team: string;
  /** The user who created it: replicas run as their jobs (identity as the gateway verified it then). */
  owner: string;
  owner_teams: string;
  owner_role: string;
  source: string;
  created_at: number;
  /** Set by DeleteDeployment: every revision drains, then the row goes. */
  deleting: number;
  /** Last time a request was seen (activation, or served requests counted by the autoscaler); scale to zero counts from it. */
  last_active_at: number;
}

export interface RevisionsTable {
  deployment_uid: string;
  number: number;
  /** The normalized DeploymentSpec (JSON) this revision runs. */
  spec: string;
  /** The native manifest of that spec. */
  manifest: string;
  model_uri: string;
  /** The model file in this service's store (job:// and models:// sources), or "" (file://: the replica reads it). */
  model_file: string;
  model_checksum: string;
  /** Active | Draining | Retired. */
  state: string;
  /** Share of the deployment's traffic (0–100). */
  traffic: number;
  /** Replicas the autoscaler (or activation) wants now, within the spec's min and max. */
  desired: number;
  created_at: number;
  /** When it started draining (Draining); its replicas stop once in-flight requests had time to finish. */
  draining_since: number | null;
}

export interface ReplicasTable {
  /** The request id of the replica's submission (idempotent at the jobs service): known before the job is. */
  id: string;
  deployment_uid: string;
  revision: number;
  team: string;
  job_name: string;
  /** Empty until the submission returned. */
  job_uid: string;
  /** Pending (job not running or not loaded yet) | Ready (registered in the mesh) | Stopping (deregistered, job cancelled). */
  state: string;
  socket: string;
  created_at: number;
  stop_requested_at: number | null;
}

export interface ModelsTable {
  team: string;
  name: string;
  version: number;
  source: string;
  source_job_uid: string;
  checksum: string;
  size_bytes: number;
  /** The source job's last value of each metric (JSON object). */
  metrics: string;
  file: string;
  created_at: number;
  registered_by: string;
  description: string;
}

export interface ServingDatabase {
  deployments: DeploymentsTable;
  revisions: RevisionsTable;
  replicas: ReplicasTable;
  models: ModelsTable;
}

export const migrations: Record<string, Migration> = {
  "0001_initial": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("deployments")
        .addColumn("uid", "text", (c) => c.primaryKey())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("team", "text", (c) => c.notNull())
        .addColumn("owner", "text", (c) => c.notNull())
        .addColumn("owner_teams", "text", (c) => c.notNull())
        .addColumn("owner_role", "text", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("created_at", "integer", (c) => c.notNull())
        .addColumn("deleting", "integer", (c) => c.notNull().defaultTo(0))
        .addColumn("last_active_at", "integer", (c) => c.notNull())
        .execute();
      await db.schema
        .createTable("revisions")
        .addColumn("deployment_uid", "text", (c) => c.notNull().references("deployments.uid").onDelete("cascade"))
        .addColumn("number", "integer", (c) => c.notNull())
        .addColumn("spec", "text", (c) => c.notNull())
        .addColumn("manifest", "text", (c) => c.notNull())
        .addColumn("model_uri", "text", (c) => c.notNull())
        .addColumn("model_file", "text", (c) => c.notNull())
        .addColumn("model_checksum", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("traffic", "integer", (c) => c.notNull())
        .addColumn("desired", "integer", (c) => c.notNull())
        .addColumn("created_at", "integer", (c) => c.notNull())
        .addColumn("draining_since", "integer")
        .addPrimaryKeyConstraint("revisions_pk", ["deployment_uid", "number"])
        .execute();
      await db.schema
        .createTable("replicas")
        .addColumn("id", "text", (c) => c.primaryKey())
        .addColumn("deployment_uid", "text", (c) => c.notNull())
        .addColumn("revision", "integer", (c) => c.notNull())
        .addColumn("team", "text", (c) => c.notNull())
        .addColumn("job_name", "text", (c) => c.notNull())
        .addColumn("job_uid", "text", (c) => c.notNull())
        .addColumn("state", "text", (c) => c.notNull())
        .addColumn("socket", "text", (c) => c.notNull())
        .addColumn("created_at", "integer", (c) => c.notNull())
        .addColumn("stop_requested_at", "integer")
        .execute();
      await db.schema
        .createTable("models")
        .addColumn("team", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("source", "text", (c) => c.notNull())
        .addColumn("source_job_uid", "text", (c) => c.notNull())
        .addColumn("checksum", "text", (c) => c.notNull())
        .addColumn("size_bytes", "integer", (c) => c.notNull())
        .addColumn("metrics", "text", (c) => c.notNull())
        .addColumn("file", "text", (c) => c.notNull())
        .addColumn("created_at", "integer", (c) => c.notNull())
        .addColumn("registered_by", "text", (c) => c.notNull())
        .addColumn("description", "text", (c) => c.notNull())
        .addPrimaryKeyConstraint("models_pk", ["team", "name", "version"])
        .execute();
    },
  },
};
