import type { Kysely, Selectable } from "@switchyard/store";
import type { JobsDatabase, JobsTable, ReplicasTable } from "./schema.js";

export type JobRow = Selectable<JobsTable>;
export type ReplicaRow = Selectable<ReplicasTable>;

/** The jobs service's queries, in one place. Every state change goes through here before it is acted on. */
export class JobStore {
  constructor(readonly db: Kysely<JobsDatabase>) {}

  async byUid(uid: string): Promise<JobRow | undefined> {
    return this.db.selectFrom("jobs").selectAll().where("uid", "=", uid).executeTakeFirst();
  }

  /** Jobs by uid, in one query (a cycle or a listing that needs the jobs of many replicas). */
  async byUids(uids: Iterable<string>): Promise<Map<string, JobRow>> {
    const list = [...new Set(uids)];
    if (list.length === 0) return new Map();
    const rows = await this.db.selectFrom("jobs").selectAll().where("uid", "in", list).execute();
    return new Map(rows.map((r) => [r.uid, r]));
  }

  /** A job by uid, or by name within a team (any team when `team` is undefined). */
  async find(nameOrUid: string, team: string | undefined): Promise<JobRow[]> {
    const byUid = await this.byUid(nameOrUid);
    if (byUid && (team === undefined || byUid.team === team)) return [byUid];
    let q = this.db.selectFrom("jobs").selectAll().where("name", "=", nameOrUid);
    if (team !== undefined) q = q.where("team", "=", team);
    return q.execute();
  }

  async byRequestId(requestId: string): Promise<JobRow | undefined> {
    return this.db.selectFrom("jobs").selectAll().where("request_id", "=", requestId).executeTakeFirst();
  }

  async list(filter: { phase?: string; team?: string; limit?: number }): Promise<JobRow[]> {
    let q = this.db.selectFrom("jobs").selectAll();
    if (filter.phase) q = q.where("phase", "=", filter.phase);
    if (filter.team) q = q.where("team", "=", filter.team);
    return q.orderBy("seq", "asc").limit(filter.limit && filter.limit > 0 ? filter.limit : 10_000).execute();
  }

  /** Jobs waiting for placement (suspended ones are not). */
  async queued(): Promise<JobRow[]> {
    return this.db
      .selectFrom("jobs")
      .selectAll()
      .where("phase", "=", "Queued")
      .where("cancel_requested", "=", 0)
      .where("reason", "!=", "Suspended")
      .orderBy("seq", "asc")
      .execute();
  }

  /** Jobs that are not final, or that still have replicas that have not ended. */
  async unfinished(): Promise<JobRow[]> {
    return this.db
      .selectFrom("jobs")
      .selectAll()
      .where((eb) =>
        eb.or([
          eb("phase", "not in", ["Succeeded", "Failed", "Cancelled"]),
          eb("uid", "in", eb.selectFrom("replicas").select("job_uid").where("state", "in", ["Pending", "Running"])),
        ]),
      )
      .orderBy("seq", "asc")
      .execute();
  }

  async replicas(uid: string, attempt: number): Promise<ReplicaRow[]> {
    return this.db.selectFrom("replicas").selectAll().where("job_uid", "=", uid).where("attempt", "=", attempt).orderBy("idx", "asc").execute();
  }

  /** The current attempt's replicas of many jobs, in one query, by job uid. */
  async currentReplicas(jobs: readonly JobRow[]): Promise<Map<string, ReplicaRow[]>> {
    const started = jobs.filter((j) => j.attempt > 0);
    const out = new Map<string, ReplicaRow[]>();
    if (started.length === 0) return out;
    const attempt = new Map(started.map((j) => [j.uid, j.attempt]));
    const rows = await this.db.selectFrom("replicas").selectAll().where("job_uid", "in", [...attempt.keys()]).orderBy("idx", "asc").execute();
    for (const r of rows) if (attempt.get(r.job_uid) === r.attempt) out.set(r.job_uid, [...(out.get(r.job_uid) ?? []), r]);
    return out;
  }

  async replica(runId: string): Promise<ReplicaRow | undefined> {
    return this.db.selectFrom("replicas").selectAll().where("run_id", "=", runId).executeTakeFirst();
  }

  /** Replicas holding resources: placed and not yet ended. */
  async liveReplicas(): Promise<ReplicaRow[]> {
    return this.db.selectFrom("replicas").selectAll().where("state", "in", ["Pending", "Running"]).execute();
  }

  async updateJob(uid: string, patch: Partial<Omit<JobRow, "uid" | "seq">>): Promise<void> {
    await this.db.updateTable("jobs").set(patch).where("uid", "=", uid).execute();
  }

  async updateReplica(runId: string, patch: Partial<Omit<ReplicaRow, "run_id">>): Promise<void> {
    await this.db.updateTable("replicas").set(patch).where("run_id", "=", runId).execute();
  }

  async event(uid: string, type: string, message: string, attempt: number, replica = -1, time = Date.now()): Promise<void> {
    await this.db.insertInto("events").values({ job_uid: uid, time, type, message, attempt, replica }).execute();
  }

  async events(uid: string) {
    return this.db.selectFrom("events").selectAll().where("job_uid", "=", uid).orderBy("id", "asc").execute();
  }

  // ---- disk usage and retention (retention.ts) ---------------------------------------------------------------------

  /** Every replica run of a job, all attempts (their logs count in its disk usage). */
  async allReplicas(uid: string): Promise<ReplicaRow[]> {
    return this.db.selectFrom("replicas").selectAll().where("job_uid", "=", uid).execute();
  }

  /** Jobs whose files may have changed since last measured: running ones, and ended ones not measured since. */
  async toMeasure(): Promise<JobRow[]> {
    return this.db
      .selectFrom("jobs")
      .selectAll()
      .where("collected_at", "is", null)
      .where("attempt", ">", 0)
      .where((eb) => eb.or([eb("completion_time", "is", null), eb("disk_measured_at", "is", null), eb("disk_measured_at", "<", eb.ref("completion_time"))]))
      .execute();
  }

  async setDiskUsage(uid: string, bytes: number, at: number): Promise<void> {
    await this.db.updateTable("jobs").set({ disk_bytes: bytes, disk_measured_at: at }).where("uid", "=", uid).execute();
  }

  /** Finished jobs whose files are still there (in `teams` when given), oldest first. */
  async collectable(teams?: readonly string[]): Promise<JobRow[]> {
    let q = this.db.selectFrom("jobs").selectAll().where("collected_at", "is", null).where("phase", "in", ["Succeeded", "Failed", "Cancelled"]);
    if (teams !== undefined) q = q.where("team", "in", teams.length > 0 ? [...teams] : [""]);
    return q.orderBy("completion_time", "asc").execute();
  }

  async markCollected(uid: string, at: number, message: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable("jobs").set({ collected_at: at, disk_bytes: 0, disk_measured_at: at }).where("uid", "=", uid).execute();
      const job = await tx.selectFrom("jobs").select("attempt").where("uid", "=", uid).executeTakeFirstOrThrow();
      await tx.insertInto("events").values({ job_uid: uid, time: at, type: "Collected", message, attempt: job.attempt, replica: -1 }).execute();
    });
  }

  /** Bytes of every team's uncollected jobs' files, as last measured. */
  async diskUsageByTeam(): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom("jobs").select(["team", (eb) => eb.fn.sum<number>("disk_bytes").as("bytes")]).where("collected_at", "is", null).groupBy("team").execute();
    return new Map(rows.map((r) => [r.team, Number(r.bytes)]));
  }
}
