/**
 * Jobs, their replicas and their events in jobs.db: the only module that queries those tables (scripts/check-sql.mjs
 * keeps it so). Rows come out typed (job-rows.ts) — the spec parsed once per row read, here — and every write a
 * transition makes goes in as one transaction (`commit`), before anything acts on it.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import type { JobSpec } from "@switchyard/specs";
import type { Kysely, OpenedStore, Selectable, Transaction } from "@switchyard/store";
import type { JobEventRecord, JobPatch, JobRow, JobSummary, JobWrite, NewJob, QueuedJob, ReplicaPatch, ReplicaRow } from "./job-rows.js";
import { FINAL_PHASES, LIVE_STATES, type JobPhase, type ReplicaStateName } from "./phases.js";
import type { JobsDatabase, JobsTable, ReplicasTable } from "./schema.js";

/** Every column of `jobs` but the spec and the manifest (the scheduling cycle and listings of holders need no more). */
const SUMMARY_COLUMNS = [
  "uid", "name", "team", "queue", "priority", "phase", "reason", "message", "waiting", "source", "request_id", "seq", "created_at", "start_time",
  "completion_time", "attempt", "cancel_requested", "deadline_exceeded", "master_port", "attained_gpu_ms", "user", "retries", "preemptions",
  "preemptible", "queued_at", "queued_ms", "collected_at", "disk_bytes", "disk_measured_at", "deleted_at", "workload_class",
] as const satisfies readonly (keyof JobsTable)[];

/** The columns of QueuedJob. */
const QUEUED_COLUMNS = ["uid", "name", "team", "queue", "priority", "created_at", "seq", "attained_gpu_ms", "queued_at", "user", "preemptions", "workload_class"] as const satisfies readonly (keyof JobsTable)[];

type SummaryColumns = Pick<Selectable<JobsTable>, (typeof SUMMARY_COLUMNS)[number]>;

function toSummary(r: SummaryColumns): JobSummary {
  return { ...r, phase: r.phase as JobPhase, waiting: r.waiting === null ? null : (JSON.parse(r.waiting) as JobSummary["waiting"]) };
}

/** The one place a stored spec is parsed. */
function toJob(r: Selectable<JobsTable>): JobRow {
  return { ...toSummary(r), spec: JSON.parse(r.spec) as JobSpec, manifest: r.manifest };
}

function toReplica(r: Selectable<ReplicasTable>): ReplicaRow {
  return { ...r, state: r.state as ReplicaStateName, gpus: JSON.parse(r.gpus) as number[] };
}

function jobColumns(patch: JobPatch): Partial<Selectable<JobsTable>> {
  const { waiting, ...rest } = patch;
  // GPU-ms of a shared GPU are fractional (gpu_milli / 1000 × ms); the column is an integer one: SQLite would keep the
  // fraction as a REAL, PostgreSQL's bigint refuses it. Stored to the millisecond on both.
  if (rest.attained_gpu_ms !== undefined) rest.attained_gpu_ms = Math.round(rest.attained_gpu_ms);
  return waiting === undefined ? rest : { ...rest, waiting: waiting === null ? null : JSON.stringify(waiting) };
}

/**
 * Values bound per `in (…)` list: SQLite binds at most 32,766 values a statement, PostgreSQL 65,535; a lookup of more
 * keys runs in slices.
 */
const IN_LIST_MAX = 10_000;

function slices<T>(list: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < list.length; i += IN_LIST_MAX) out.push(list.slice(i, i + IN_LIST_MAX));
  return out;
}

function replicaColumns(patch: ReplicaPatch): Partial<Selectable<ReplicasTable>> {
  const { gpus, ...rest } = patch;
  return gpus === undefined ? rest : { ...rest, gpus: JSON.stringify(gpus) };
}

/** What ListJobs and WatchJobs filter by (empty or absent: any). */
export interface JobFilter {
  phase?: string;
  team?: string;
  queue?: string;
  user?: string;
  /** A job's name or uid. */
  name?: string;
}

export class JobStore {
  private readonly db: Kysely<JobsDatabase>;

  /**
   * Bumped by every write that may change which jobs are queued, or what `queuedJobs` says of one: every write but a
   * submission (`insertJob`) and waiting reasons. While it stays the same, queued jobs only arrive, in seq order, and
   * `queuedSince` is all a scheduling cycle needs to read (scheduling-loop.ts). A new write method bumps it too.
   */
  private generation = 0;

  /** Who hears of committed changes (WatchJobs, job-watch.ts). */
  private readonly listeners = new Set<(uids: readonly string[]) => void>();

  constructor(private readonly opened: OpenedStore<JobsDatabase>) {
    this.db = opened.db;
  }

  /**
   * Calls `listener` with the uids of the jobs a write changed, once it is committed: submissions, transitions,
   * replicas, waiting reasons, deletions, collected files (what GetJob would answer differently). Returns the
   * unsubscribe. A listener must not throw or block: it is called inside the writer's turn.
   */
  onChange(listener: (uids: readonly string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(uids: readonly string[]): void {
    if (uids.length === 0) return;
    for (const l of this.listeners) {
      try {
        l(uids);
      } catch {
        // A listener's fault is its own: the write is committed and its callers must hear so.
      }
    }
  }

  // ---- jobs -------------------------------------------------------------------------------------------------------

  /** Jobs by uid, deleted ones left out (WatchJobs reads what changed with one query). */
  async byUids(uids: readonly string[]): Promise<JobRow[]> {
    const out: JobRow[] = [];
    for (const part of slices(uids)) out.push(...(await this.db.selectFrom("jobs").selectAll().where("uid", "in", part).where("deleted_at", "is", null).execute()).map(toJob));
    return out;
  }

  async byUid(uid: string): Promise<JobRow | undefined> {
    const r = await this.db.selectFrom("jobs").selectAll().where("uid", "=", uid).executeTakeFirst();
    return r && toJob(r);
  }

  /** Jobs without their specs, by uid, in one query (a cycle, or a listing that needs the jobs of many replicas). */
  async summaries(uids: Iterable<string>): Promise<Map<string, JobSummary>> {
    const list = [...new Set(uids)];
    if (list.length === 0) return new Map();
    const out = new Map<string, JobSummary>();
    for (const part of slices(list)) for (const r of await this.db.selectFrom("jobs").select(SUMMARY_COLUMNS).where("uid", "in", part).execute()) out.set(r.uid, toSummary(r));
    return out;
  }

  /** The specs of jobs, by uid, in one query. */
  async specs(uids: Iterable<string>): Promise<Map<string, JobSpec>> {
    const list = [...new Set(uids)];
    if (list.length === 0) return new Map();
    const out = new Map<string, JobSpec>();
    for (const part of slices(list)) for (const r of await this.db.selectFrom("jobs").select(["uid", "spec"]).where("uid", "in", part).execute()) out.set(r.uid, JSON.parse(r.spec) as JobSpec);
    return out;
  }

  /** A job by uid, or by name within a team (any team when `team` is undefined); never a deleted one. */
  async find(nameOrUid: string, team: string | undefined): Promise<JobRow[]> {
    const byUid = await this.byUid(nameOrUid);
    if (byUid && byUid.deleted_at === null && (team === undefined || byUid.team === team)) return [byUid];
    let q = this.db.selectFrom("jobs").selectAll().where("name", "=", nameOrUid).where("deleted_at", "is", null);
    if (team !== undefined) q = q.where("team", "=", team);
    return (await q.orderBy("seq", "asc").execute()).map(toJob);
  }

  async byRequestId(requestId: string): Promise<JobRow | undefined> {
    const r = await this.db.selectFrom("jobs").selectAll().where("request_id", "=", requestId).executeTakeFirst();
    return r && toJob(r);
  }

  /** Jobs that exist (not deleted), in submission order. */
  async list(filter: JobFilter & { limit?: number }): Promise<JobRow[]> {
    let q = this.db.selectFrom("jobs").selectAll().where("deleted_at", "is", null);
    if (filter.phase) q = q.where("phase", "=", filter.phase);
    if (filter.team) q = q.where("team", "=", filter.team);
    if (filter.queue) q = q.where("queue", "=", filter.queue);
    if (filter.user) q = q.where("user", "=", filter.user);
    const name = filter.name;
    if (name) q = q.where((eb) => eb.or([eb("name", "=", name), eb("uid", "=", name)]));
    return (await q.orderBy("seq", "asc").limit(filter.limit && filter.limit > 0 ? filter.limit : 10_000).execute()).map(toJob);
  }

  /**
   * Jobs waiting for placement (suspended ones are not), in submission order, as keys only (uid and queued_at): a
   * fifth of the cost of reading their QueuedJob rows, for a long queue. Every column of QueuedJob that can change does so only when the job is queued again, which sets queued_at,
   * so a QueuedJob read earlier with the same queued_at is still right (scheduling-loop.ts keeps them).
   */
  async queuedKeys(): Promise<{ uid: string; seq: number; queued_at: number }[]> {
    return this.db.selectFrom("jobs").select(["uid", "seq", "queued_at"]).where("phase", "=", "Queued").where("cancel_requested", "=", 0).where("reason", "!=", "Suspended").orderBy("seq", "asc").execute();
  }

  /** See `generation`. */
  get queueGeneration(): number {
    return this.generation;
  }

  /** Queued jobs submitted after `seq` (what queuedKeys would add to an earlier answer while the generation stays). */
  async queuedSince(seq: number): Promise<QueuedJob[]> {
    return this.db.selectFrom("jobs").select(QUEUED_COLUMNS).where("seq", ">", seq).where("phase", "=", "Queued").where("cancel_requested", "=", 0).where("reason", "!=", "Suspended").orderBy("seq", "asc").execute();
  }

  /** QueuedJob rows of these jobs, whatever their phase now, in one query. */
  async queuedJobs(uids: readonly string[]): Promise<QueuedJob[]> {
    if (uids.length === 0) return [];
    const out: QueuedJob[] = [];
    // A first cycle over a long queue reads in slices (IN_LIST_MAX).
    for (const part of slices(uids)) out.push(...(await this.db.selectFrom("jobs").select(QUEUED_COLUMNS).where("uid", "in", part).orderBy("seq", "asc").execute()));
    return out;
  }

  /** Jobs not in a final phase. */
  async active(): Promise<JobSummary[]> {
    return (await this.db.selectFrom("jobs").select(SUMMARY_COLUMNS).where("phase", "not in", FINAL_PHASES).orderBy("seq", "asc").execute()).map(toSummary);
  }

  /** Jobs that are not final, or that still have replicas that have not ended. */
  async unfinished(): Promise<JobRow[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .selectAll()
      .where((eb) => eb.or([eb("phase", "not in", FINAL_PHASES), eb("uid", "in", eb.selectFrom("replicas").select("job_uid").where("state", "in", LIVE_STATES))]))
      .orderBy("seq", "asc")
      .execute();
    return rows.map(toJob);
  }

  /**
   * Stores a submission and its first event, and returns the stored job (one statement: RETURNING, not a read after).
   * A job of the same name in the team, or the same request id, is ALREADY_EXISTS — unless `replace` is given: then
   * an existing job of that name is handed to it (with how many of its replicas still hold resources), which throws
   * to refuse, or returns an event for the new job that says what it replaced: the old job is then deleted
   * (`deleteJob`) in the same transaction, before the insert.
   */
  async insertJob(j: NewJob, replace?: (old: JobSummary, liveReplicas: number) => JobEventRecord): Promise<JobRow> {
    if (replace === undefined) return this.insertBatched(j);
    return this.insertOne(j, replace);
  }

  /**
   * Submissions that arrive while one is being stored wait and go in together: one transaction, one statement for
   * the jobs and one for their events (group commit). On SQLite it saves commits; on PostgreSQL, whose driver has one
   * connection, it is what keeps a burst of submissions from paying four round trips each. A job whose name or request
   * id is taken is left out by ON CONFLICT DO NOTHING and answered ALREADY_EXISTS alone; if the batch fails for any
   * other reason, each of its jobs is stored on its own, so that one bad row never fails the others.
   */
  private insertBatched(j: NewJob): Promise<JobRow> {
    return new Promise((resolve, reject) => {
      this.batch.push({ j, resolve, reject });
      if (!this.flushing) void this.flushBatches();
    });
  }

  private readonly batch: { j: NewJob; resolve: (row: JobRow) => void; reject: (err: unknown) => void }[] = [];
  private flushing = false;

  private async flushBatches(): Promise<void> {
    this.flushing = true;
    try {
      while (this.batch.length > 0) {
        // At most 200 jobs a statement: 32 columns each stays far under either database's limit on bound values.
        const items = this.batch.splice(0, 200);
        let rows: Map<string, SummaryColumns>;
        try {
          rows = await this.db.transaction().execute(async (tx) => {
            const inserted = await tx.insertInto("jobs").values(items.map(({ j }) => newJobColumns(j))).onConflict((oc) => oc.doNothing()).returning(SUMMARY_COLUMNS).execute();
            const byUid = new Map(inserted.map((r) => [r.uid, r]));
            const events = items.filter(({ j }) => byUid.has(j.uid)).map(({ j }) => ({ job_uid: j.uid, time: j.at, type: j.event.type, message: j.event.message, attempt: j.event.attempt, replica: j.event.replica ?? -1 }));
            if (events.length > 0) await tx.insertInto("events").values(events).execute();
            return byUid;
          });
        } catch {
          for (const it of items) this.insertOne(it.j).then(it.resolve, it.reject);
          continue;
        }
        this.changed([...rows.keys()]);
        for (const { j, resolve, reject } of items) {
          const row = rows.get(j.uid);
          if (row === undefined) reject(new SwitchyardError(Code.AlreadyExists, `job "${j.name}" already exists in team "${j.team}"`));
          else resolve({ ...toSummary(row), spec: j.spec, manifest: j.manifest });
        }
      }
    } finally {
      this.flushing = false;
    }
  }

  private async insertOne(j: NewJob, replace?: (old: JobSummary, liveReplicas: number) => JobEventRecord): Promise<JobRow> {
    try {
      const replaced: string[] = [];
      const row = await this.db.transaction().execute(async (tx) => {
        const events = [j.event];
        if (replace !== undefined) {
          const row = await tx.selectFrom("jobs").select(SUMMARY_COLUMNS).where("team", "=", j.team).where("name", "=", j.name).where("deleted_at", "is", null).executeTakeFirst();
          if (row !== undefined) {
            const old = toSummary(row);
            events.push(replace(old, await liveReplicaCount(tx, old.uid)));
            await softDelete(tx, old, j.at);
            this.generation++;
            replaced.push(old.uid);
          }
        }
        const row = await tx
          .insertInto("jobs")
          .values(newJobColumns(j))
          .returning(SUMMARY_COLUMNS)
          .executeTakeFirstOrThrow();
        await insertEvents(tx, j.uid, events, j.at);
        // The spec and manifest are the ones just written: not read back (or parsed) again.
        return { ...toSummary(row), spec: j.spec, manifest: j.manifest };
      });
      this.changed([...replaced, row.uid]);
      return row;
    } catch (err) {
      if (this.opened.constraintOf(err) === "unique") throw new SwitchyardError(Code.AlreadyExists, `job "${j.name}" already exists in team "${j.team}"`, { cause: err });
      throw err;
    }
  }

  /**
   * Deletes a job: hands it (with how many of its replicas still hold resources) to `check`, which throws to refuse;
   * then, in the same transaction, its events and metrics are removed and the job is marked deleted — found by no
   * lookup, its name free, its request id forgotten, its manifest text dropped. Its row and replica runs stay as its
   * accounting, and for retention to collect its files by. Undefined when it does not exist (or is deleted already).
   */
  async deleteJob(uid: string, at: number, check: (job: JobSummary, liveReplicas: number) => void): Promise<JobSummary | undefined> {
    const deleted = await this.db.transaction().execute(async (tx) => {
      const row = await tx.selectFrom("jobs").select(SUMMARY_COLUMNS).where("uid", "=", uid).where("deleted_at", "is", null).executeTakeFirst();
      if (row === undefined) return undefined;
      const job = toSummary(row);
      check(job, await liveReplicaCount(tx, uid));
      await softDelete(tx, job, at);
      this.generation++;
      return job;
    });
    if (deleted !== undefined) this.changed([uid]);
    return deleted;
  }

  /** Stores one transition's write (job columns, new and changed replicas, events) in one transaction. */
  async commit(uid: string, w: JobWrite, at: number): Promise<void> {
    if (!w.job && !w.newReplicas?.length && !w.replicas?.length && !w.events?.length) return;
    this.generation++;
    await this.db.transaction().execute(async (tx) => {
      for (const r of w.newReplicas ?? []) {
        await tx
          .insertInto("replicas")
          .values({ ...r, gpus: JSON.stringify(r.gpus), state: "Pending", exit_code: null, pid: null, start_time: null, end_time: null, metrics_offset: 0 })
          .execute();
      }
      if (w.job && Object.keys(w.job).length > 0) await tx.updateTable("jobs").set(jobColumns(w.job)).where("uid", "=", uid).execute();
      for (const { runId, patch } of w.replicas ?? []) await tx.updateTable("replicas").set(replicaColumns(patch)).where("run_id", "=", runId).execute();
      await insertEvents(tx, uid, w.events ?? [], at);
    });
    this.changed([uid]);
  }

  /** The scheduler's latest word on a waiting job (the reason Waiting, the why as data). */
  async setWaiting(uid: string, waiting: NonNullable<JobSummary["waiting"]>): Promise<void> {
    await this.setWaitingMany([[uid, waiting]]);
  }

  /** The waiting reasons of a cycle, in one transaction (one commit, not one per job). */
  async setWaitingMany(reasons: readonly (readonly [string, NonNullable<JobSummary["waiting"]>])[]): Promise<void> {
    if (reasons.length === 0) return;
    await this.db.transaction().execute(async (tx) => {
      // Only a job still queued: one cancelled or past its deadline during the cycle keeps its own reason.
      for (const [uid, waiting] of reasons) {
        await tx
          .updateTable("jobs")
          .set({ reason: "Waiting", message: "", waiting: JSON.stringify(waiting) })
          .where("uid", "=", uid)
          .where("phase", "=", "Queued")
          .where("cancel_requested", "=", 0)
          .where("deadline_exceeded", "=", 0)
          .execute();
      }
    });
    this.changed(reasons.map(([uid]) => uid));
  }

  async events(uid: string) {
    return this.db.selectFrom("events").selectAll().where("job_uid", "=", uid).orderBy("id", "asc").execute();
  }

  // ---- replicas ---------------------------------------------------------------------------------------------------

  async replicas(uid: string, attempt: number): Promise<ReplicaRow[]> {
    return (await this.db.selectFrom("replicas").selectAll().where("job_uid", "=", uid).where("attempt", "=", attempt).orderBy("idx", "asc").execute()).map(toReplica);
  }

  /** The current attempt's replicas of many jobs, in one query, by job uid. */
  async currentReplicas(jobs: readonly { uid: string; attempt: number }[]): Promise<Map<string, ReplicaRow[]>> {
    const started = jobs.filter((j) => j.attempt > 0);
    const out = new Map<string, ReplicaRow[]>();
    if (started.length === 0) return out;
    const attempt = new Map(started.map((j) => [j.uid, j.attempt]));
    const rows: Selectable<ReplicasTable>[] = [];
    for (const part of slices([...attempt.keys()])) rows.push(...(await this.db.selectFrom("replicas").selectAll().where("job_uid", "in", part).orderBy("idx", "asc").execute()));
    for (const r of rows) if (attempt.get(r.job_uid) === r.attempt) out.set(r.job_uid, [...(out.get(r.job_uid) ?? []), toReplica(r)]);
    return out;
  }

  async replica(runId: string): Promise<ReplicaRow | undefined> {
    const r = await this.db.selectFrom("replicas").selectAll().where("run_id", "=", runId).executeTakeFirst();
    return r && toReplica(r);
  }

  /** Replicas holding resources: placed and not yet ended. */
  async liveReplicas(): Promise<ReplicaRow[]> {
    return (await this.db.selectFrom("replicas").selectAll().where("state", "in", LIVE_STATES).orderBy("job_uid").orderBy("attempt").orderBy("idx").execute()).map(toReplica);
  }

  /** Running replicas 0, whose output the metrics collector reads. */
  async runningPrimaries(): Promise<ReplicaRow[]> {
    return (await this.db.selectFrom("replicas").selectAll().where("state", "=", "Running").where("idx", "=", 0).orderBy("job_uid").orderBy("attempt").execute()).map(toReplica);
  }

  /** Every replica run of a job, all attempts (their logs count in its disk usage). */
  async allReplicas(uid: string): Promise<ReplicaRow[]> {
    return (await this.db.selectFrom("replicas").selectAll().where("job_uid", "=", uid).orderBy("attempt").orderBy("idx").execute()).map(toReplica);
  }

  // ---- accounting (usage.ts) --------------------------------------------------------------------------------------

  /** Jobs not finished before `sinceMs`, each with every replica run of all its attempts. */
  async usageRecords(sinceMs: number): Promise<{ job: JobSummary; replicas: ReplicaRow[] }[]> {
    const jobs = await this.db.selectFrom("jobs").select(SUMMARY_COLUMNS).where((eb) => eb.or([eb("completion_time", "is", null), eb("completion_time", ">=", sinceMs)])).orderBy("seq", "asc").execute();
    const replicas = await this.db
      .selectFrom("replicas")
      .selectAll()
      .where("job_uid", "in", (eb) => eb.selectFrom("jobs").select("uid").where((w) => w.or([w("completion_time", "is", null), w("completion_time", ">=", sinceMs)])))
      .orderBy("job_uid")
      .orderBy("attempt")
      .orderBy("idx")
      .execute();
    const byJob = new Map<string, ReplicaRow[]>();
    for (const r of replicas) {
      let list = byJob.get(r.job_uid);
      if (list === undefined) byJob.set(r.job_uid, (list = []));
      list.push(toReplica(r));
    }
    return jobs.map((j) => ({ job: toSummary(j), replicas: byJob.get(j.uid) ?? [] }));
  }

  // ---- disk usage and retention (retention.ts) ---------------------------------------------------------------------

  /** Jobs whose files may have changed since last measured: running ones, and ended ones not measured since. */
  async toMeasure(): Promise<JobSummary[]> {
    const rows = await this.db
      .selectFrom("jobs")
      .select(SUMMARY_COLUMNS)
      .where("collected_at", "is", null)
      .where("attempt", ">", 0)
      .where((eb) => eb.or([eb("completion_time", "is", null), eb("disk_measured_at", "is", null), eb("disk_measured_at", "<", eb.ref("completion_time"))]))
      .orderBy("seq", "asc")
      .execute();
    return rows.map(toSummary);
  }

  async setDiskUsage(uid: string, bytes: number, at: number): Promise<void> {
    this.generation++;
    await this.db.updateTable("jobs").set({ disk_bytes: bytes, disk_measured_at: at }).where("uid", "=", uid).execute();
  }

  /** Finished jobs whose files are still there (in `teams` when given), oldest first. */
  async collectable(teams?: readonly string[]): Promise<JobSummary[]> {
    let q = this.db.selectFrom("jobs").select(SUMMARY_COLUMNS).where("collected_at", "is", null).where("phase", "in", FINAL_PHASES);
    if (teams !== undefined) q = q.where("team", "in", teams.length > 0 ? [...teams] : [""]);
    // NULLs first, as SQLite orders them (PostgreSQL puts them last in ascending order); then submission order.
    return (await q.orderBy("completion_time", (ob) => ob.asc().nullsFirst()).orderBy("seq", "asc").execute()).map(toSummary);
  }

  /** Marks a job's files deleted, with a `Collected` event saying so (none for a deleted job: its events are gone). */
  async markCollected(uid: string, at: number, message: string): Promise<void> {
    this.generation++;
    await this.db.transaction().execute(async (tx) => {
      await tx.updateTable("jobs").set({ collected_at: at, disk_bytes: 0, disk_measured_at: at }).where("uid", "=", uid).execute();
      const job = await tx.selectFrom("jobs").select(["attempt", "deleted_at"]).where("uid", "=", uid).executeTakeFirstOrThrow();
      if (job.deleted_at === null) await insertEvents(tx, uid, [{ type: "Collected", message, attempt: job.attempt }], at);
    });
    this.changed([uid]);
  }

  /** Bytes of every team's uncollected jobs' files, as last measured. */
  async diskUsageByTeam(): Promise<Map<string, number>> {
    const rows = await this.db.selectFrom("jobs").select(["team", (eb) => eb.fn.sum<number>("disk_bytes").as("bytes")]).where("collected_at", "is", null).groupBy("team").orderBy("team").execute();
    return new Map(rows.map((r) => [r.team, Number(r.bytes)]));
  }
}

async function liveReplicaCount(tx: Transaction<JobsDatabase>, uid: string): Promise<number> {
  const r = await tx.selectFrom("replicas").select((eb) => eb.fn.countAll<number>().as("n")).where("job_uid", "=", uid).where("state", "in", LIVE_STATES).executeTakeFirstOrThrow();
  return Number(r.n);
}

/** See `deleteJob`: the name `NAME (deleted UID)` is no job name (they are DNS labels), so it frees the real one. */
async function softDelete(tx: Transaction<JobsDatabase>, job: JobSummary, at: number): Promise<void> {
  await tx.deleteFrom("events").where("job_uid", "=", job.uid).execute();
  await tx.deleteFrom("metrics").where("job_uid", "=", job.uid).execute();
  await tx.updateTable("jobs").set({ deleted_at: at, name: `${job.name} (deleted ${job.uid})`, request_id: null, manifest: "" }).where("uid", "=", job.uid).execute();
}

/** A new job's row: Queued, nothing run yet. */
function newJobColumns(j: NewJob) {
  return {
    uid: j.uid, name: j.name, team: j.team, queue: j.queue, priority: j.priority, phase: "Queued", reason: j.reason, message: j.message,
    spec: JSON.stringify(j.spec), manifest: j.manifest, source: j.source, request_id: j.requestId, created_at: j.at, start_time: null,
    completion_time: null, attempt: 0, cancel_requested: 0, deadline_exceeded: 0, master_port: null, attained_gpu_ms: 0, user: j.user,
    retries: 0, preemptions: 0, preemptible: 0, queued_at: j.at, queued_ms: 0, workload_class: j.workloadClass ?? "training",
  } as const;
}

async function insertEvents(tx: Transaction<JobsDatabase>, uid: string, events: readonly JobEventRecord[], at: number): Promise<void> {
  for (const e of events) await tx.insertInto("events").values({ job_uid: uid, time: at, type: e.type, message: e.message, attempt: e.attempt, replica: e.replica ?? -1 }).execute();
}
