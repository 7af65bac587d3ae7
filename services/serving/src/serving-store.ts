/**
 * Every query of the serving service (scripts/check-sql.mjs allows SQL here and in schema.ts only): typed rows in and
 * out. What the rows mean — revisions, traffic, replicas' lifecycle — is deployments.ts's and reconciler.ts's.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import type { Kysely, OpenedStore, Selectable } from "@switchyard/store";
import type { DeploymentsTable, ModelsTable, ReplicasTable, RevisionsTable, ServingDatabase } from "./schema.js";

export type DeploymentRow = Selectable<DeploymentsTable>;
export type RevisionRow = Selectable<RevisionsTable>;
export type ReplicaRow = Selectable<ReplicasTable>;
export type ModelRow = Selectable<ModelsTable>;

export class ServingStore {
  private readonly db: Kysely<ServingDatabase>;

  constructor(private readonly opened: OpenedStore<ServingDatabase>) {
    this.db = opened.db;
  }

  /** Runs `fn` in one transaction (its writes commit together or not at all). */
  transaction<T>(fn: (tx: ServingStore) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((tx) => fn(new ServingStore({ ...this.opened, db: tx })));
  }

  async deployments(): Promise<DeploymentRow[]> {
    return this.db.selectFrom("deployments").selectAll().orderBy("name").execute();
  }

  async deployment(name: string): Promise<DeploymentRow | undefined> {
    return this.db.selectFrom("deployments").selectAll().where("name", "=", name).executeTakeFirst();
  }

  async deploymentByUid(uid: string): Promise<DeploymentRow | undefined> {
    return this.db.selectFrom("deployments").selectAll().where("uid", "=", uid).executeTakeFirst();
  }

  /** Inserts a new deployment; its name taken (by any team) is ALREADY_EXISTS. */
  async insertDeployment(d: DeploymentRow): Promise<void> {
    try {
      await this.db.insertInto("deployments").values(d).execute();
    } catch (err) {
      if (this.opened.constraintOf(err) === "unique") throw new SwitchyardError(Code.AlreadyExists, `a deployment named "${d.name}" already exists: model names are platform-wide (they are the /v2/models/{name} path); choose another metadata.name`, { cause: err });
      throw err;
    }
  }

  /** The user a deployment's replicas run as from now on (its grant recorded first). */
  async setOwner(uid: string, owner: { user: string; teams: readonly string[]; role: string }): Promise<void> {
    await this.db.updateTable("deployments").set({ owner: owner.user, owner_teams: JSON.stringify(owner.teams), owner_role: owner.role }).where("uid", "=", uid).execute();
  }

  async setDeleting(uid: string): Promise<void> {
    await this.db.updateTable("deployments").set({ deleting: 1 }).where("uid", "=", uid).execute();
  }

  async touch(uid: string, at: number): Promise<void> {
    await this.db.updateTable("deployments").set({ last_active_at: at }).where("uid", "=", uid).where("last_active_at", "<", at).execute();
  }

  async removeDeployment(uid: string): Promise<void> {
    await this.db.deleteFrom("replicas").where("deployment_uid", "=", uid).execute();
    await this.db.deleteFrom("revisions").where("deployment_uid", "=", uid).execute();
    await this.db.deleteFrom("deployments").where("uid", "=", uid).execute();
  }

  async revisions(deploymentUid: string): Promise<RevisionRow[]> {
    return this.db.selectFrom("revisions").selectAll().where("deployment_uid", "=", deploymentUid).orderBy("number").execute();
  }

  async allRevisions(): Promise<RevisionRow[]> {
    return this.db.selectFrom("revisions").selectAll().where("state", "!=", "Retired").orderBy("deployment_uid").orderBy("number").execute();
  }

  async insertRevision(r: RevisionRow): Promise<void> {
    await this.db.insertInto("revisions").values(r).execute();
  }

  async updateRevision(deploymentUid: string, number: number, patch: Partial<Pick<RevisionRow, "state" | "traffic" | "desired" | "draining_since">>): Promise<void> {
    await this.db.updateTable("revisions").set(patch).where("deployment_uid", "=", deploymentUid).where("number", "=", number).execute();
  }

  /** A change of scale only: the revision keeps its model and number, its spec and wanted replicas are updated. */
  async updateRevisionSpec(deploymentUid: string, number: number, spec: string, manifest: string, desired: number): Promise<void> {
    await this.db.updateTable("revisions").set({ spec, manifest, desired }).where("deployment_uid", "=", deploymentUid).where("number", "=", number).execute();
  }

  async replicas(deploymentUid?: string): Promise<ReplicaRow[]> {
    let q = this.db.selectFrom("replicas").selectAll();
    if (deploymentUid !== undefined) q = q.where("deployment_uid", "=", deploymentUid);
    // Ties of created_at broken by id, so the order is the same on every database.
    return q.orderBy("created_at").orderBy("id").execute();
  }

  async insertReplica(r: ReplicaRow): Promise<void> {
    await this.db.insertInto("replicas").values(r).execute();
  }

  async updateReplica(id: string, patch: Partial<Pick<ReplicaRow, "job_uid" | "state" | "socket" | "stop_requested_at">>): Promise<void> {
    await this.db.updateTable("replicas").set(patch).where("id", "=", id).execute();
  }

  async removeReplica(id: string): Promise<void> {
    await this.db.deleteFrom("replicas").where("id", "=", id).execute();
  }

  async models(teams: "all" | readonly string[], name: string): Promise<ModelRow[]> {
    let q = this.db.selectFrom("models").selectAll();
    if (teams !== "all") {
      if (teams.length === 0) return [];
      q = q.where("team", "in", teams);
    }
    if (name) q = q.where("name", "=", name);
    return q.orderBy("team").orderBy("name").orderBy("version").execute();
  }

  async model(team: string, name: string, version: number | undefined): Promise<ModelRow | undefined> {
    let q = this.db.selectFrom("models").selectAll().where("team", "=", team).where("name", "=", name);
    q = version === undefined ? q.orderBy("version", "desc") : q.where("version", "=", version);
    return q.executeTakeFirst();
  }

  /** The next version of a team's model (1 for a new one); the insert's primary key decides races. */
  async nextModelVersion(team: string, name: string): Promise<number> {
    const r = await this.db.selectFrom("models").select((eb) => eb.fn.max("version").as("v")).where("team", "=", team).where("name", "=", name).executeTakeFirst();
    return Number(r?.v ?? 0) + 1;
  }

  async removeModel(team: string, name: string, version: number): Promise<void> {
    await this.db.deleteFrom("models").where("team", "=", team).where("name", "=", name).where("version", "=", version).execute();
  }

  async insertModel(m: ModelRow): Promise<void> {
    try {
      await this.db.insertInto("models").values(m).execute();
    } catch (err) {
      if (this.opened.constraintOf(err) === "unique") throw new SwitchyardError(Code.Aborted, `model ${m.name} version ${m.version} was registered meanwhile: register again`, { cause: err });
      throw err;
    }
  }
}
