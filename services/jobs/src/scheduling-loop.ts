/**
 * The scheduling loop: a snapshot of the store (this node, the queued jobs, the jobs holding resources — their live
 * replicas read in one query) goes to the scheduler, and its decisions are applied in order: preemptions, waiting
 * reasons (stored as data, waiting-reason.ts), starts. Cycles never overlap and coalesce while one runs; a timer
 * runs one when the scheduler says its answer changes with time alone (`nextReviewAtMs`).
 *
 * Cycles take a bounded share of the service's time: after a cycle of d ms, the next one starts no sooner than
 * `restFactor`·d ms later (6·d, at most `maxRestMs`, 100). A cycle considers every queued job, so without this a
 * burst of submissions into a long queue would spend the service on cycles whose answer each submission barely
 * changes (Slurm's `sched_min_interval` and Kueue's batching solve the same); an idle platform's cycles take about a
 * millisecond, and the rest applies only to a cycle asked for while one ran.
 *
 * What a cycle reads of the queue is incremental: while only submissions happened (JobStore.queueGeneration), it reads
 * the new queued jobs alone; otherwise the queue's keys, with each row from memory unless it was queued again since.
 *
 * A job's spec never changes after submission, so what the scheduler needs of it (its replicas' requests) is read
 * once per job and kept while the job is queued or holds resources: a cycle parses no spec it has seen before.
 */
import type { Clock, Logger } from "@switchyard/core";
import { DEFAULT_USAGE_HALF_LIFE_MS, DecayedUsage, usageKey, type NodeInfo, type PendingJob, type QueuesConfig, type ReplicaPlacement, type ReplicaRequest, type RunningJob, type Scheduler } from "@switchyard/scheduler";
import type { JobSpec } from "@switchyard/specs";
import type { JobStore } from "./job-store.js";
import type { QueuedJob } from "./job-rows.js";
import { MAX_TIMER_MS } from "./job-deadlines.js";
import { isFinal } from "./phases.js";
import { sameWaiting, waitingReason, type WaitingReason } from "./waiting-reason.js";

export interface SchedulingLoopOptions {
  store: JobStore;
  scheduler: Scheduler;
  /** The nodes to place on now (cluster-nodes.ts `available`: the same array until they change). */
  nodes: () => NodeInfo[];
  /** The executor's units (`Executor.cpuUnitMilli`, `wholeGpus`): requests are rounded up to them. */
  units?: EngineUnits;
  /** The queues in force (newest applied configuration). */
  queues: () => QueuesConfig | undefined;
  clock: Clock;
  logger: Logger;
  /** Carries out a preemption (serialized with the job's other actions). */
  preempt: (uid: string, reason: string) => Promise<void>;
  /** Places and launches a job's next attempt (serialized with the job's other actions). */
  place: (uid: string, placement: readonly ReplicaPlacement[], preemptible: boolean) => Promise<void>;
  /** The rest after a cycle, as a multiple of its duration (default 6: cycles take at most a seventh of the time). */
  restFactor?: number;
  /** The longest rest after a cycle (default 100 ms). */
  maxRestMs?: number;
  /** Half-life of the past usage fair share weighs (the scheduler's `usageHalfLifeMs`; default 7 days). */
  usageHalfLifeMs?: number;
  /** How long the past usage read from the store is reused before it is read again (default 5 min). */
  usageRefreshMs?: number;
}

/** What an engine allocates in whole units (executors `Executor.cpuUnitMilli`, `wholeGpus`). */
export interface EngineUnits {
  readonly cpuUnitMilli?: number;
  readonly wholeGpus?: boolean;
}

/**
 * What one replica asks for, from the job's spec (roles expanded), rounded up to what the engine allocates: Slurm
 * allocates whole CPUs and whole GPUs, so a 10m request holds one CPU there and is placed as one, and a half GPU is
 * placed as a whole one — so that what the scheduler places is what the engine holds.
 */
export function replicaRequests(spec: JobSpec, units: EngineUnits = {}): ReplicaRequest[] {
  const roles = spec.roles && spec.roles.length > 0 ? spec.roles.flatMap((r) => Array.from({ length: r.replicas }, () => r.resources)) : Array.from({ length: spec.replicas }, () => spec.resources);
  const unit = units.cpuUnitMilli ?? 1;
  const cpu = (m: number) => (unit > 1 ? Math.ceil(m / unit) * unit || unit : m);
  return roles.map((res) => {
    const shared = res.gpuMilli > 0 && res.gpus === 0;
    const gpus = shared && units.wholeGpus ? 1 : res.gpus;
    return { gpus, cpuMilli: cpu(res.cpuMilli), memoryMb: res.memoryMb, ...(shared && !units.wholeGpus ? { gpuMilli: res.gpuMilli } : {}), ...(res.gpuType ? { gpuType: res.gpuType } : {}) };
  });
}

export class SchedulingLoop {
  private readonly waiting = new Map<string, WaitingReason>();
  /** What the cycle reads of each queued job, by uid, with the queued_at it was read at (JobStore.queuedKeys). */
  private readonly queuedRows = new Map<string, QueuedJob>();
  /** The queued jobs of the last read, in order, and the store's generation then (JobStore.queueGeneration). */
  private queuedList: { generation: number; lastSeq: number; rows: QueuedJob[] } | undefined;
  /** Each queued row as the scheduler sees it, made once per row read. */
  private readonly pendings = new WeakMap<QueuedJob, PendingJob>();
  /** Replica requests by job uid, for jobs queued or holding resources (specs never change). */
  private readonly requests = new Map<string, ReplicaRequest[]>();
  private running = false;
  private again = false;
  private closed = false;
  private reviewTimer: ReturnType<Clock["setTimeout"]> | undefined;
  private reviewAtMs = Infinity;
  /**
   * Reservations (the scheduler's progress guarantee): jobs that running jobs were preempted for, until they start
   * (PendingJob.reserved), and each stopping victim's job (RunningJob.preemptedFor). In memory: after a restart the
   * victims are gone or stopping, and the next preemption decides afresh.
   */
  private readonly reservedFor = new Set<string>();
  private readonly victimFor = new Map<string, string>();
  /** Decayed past usage per queue, read from the store's replica runs every `usageRefreshMs`. */
  private history: { atMs: number; queues: QueuesConfig | undefined; usage: DecayedUsage } | undefined;

  constructor(private readonly o: SchedulingLoopOptions) {}

  /** Asks for a scheduling cycle soon; cycles never overlap and coalesce while one runs. */
  kick(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    setImmediate(() => {
      void this.loop();
    });
  }

  close(): void {
    this.closed = true;
    if (this.reviewTimer) this.o.clock.clearTimeout(this.reviewTimer);
  }

  private async loop(): Promise<void> {
    try {
      const restFactor = this.o.restFactor ?? 6;
      const maxRestMs = this.o.maxRestMs ?? 100;
      for (;;) {
        this.again = false;
        const t0 = performance.now();
        await this.cycle();
        if (!this.again || this.closed) break;
        // Kicked while the cycle ran: rest in proportion to its cost (real time, whatever the clock), then run again.
        const rest = Math.min(maxRestMs, (performance.now() - t0) * restFactor);
        if (rest >= 1) await new Promise((r) => setTimeout(r, rest));
      }
    } catch (err) {
      this.o.logger.error({ err: String(err), stack: (err as Error).stack }, "scheduling cycle failed");
    } finally {
      this.running = false;
    }
  }

  private async cycle(): Promise<void> {
    const { store, clock } = this.o;
    const queued = await this.readQueued();
    if (queued.length === 0) return;
    const live = await store.liveReplicas();
    const holders = await store.summaries(live.map((r) => r.job_uid));
    await this.loadRequests([...queued, ...holders.values()]);
    const running = new Map<string, RunningJob>();
    for (const r of live) {
      let job = running.get(r.job_uid);
      if (!job) {
        const row = holders.get(r.job_uid);
        if (!row) continue;
        const terminating = row.phase === "Preempting" || row.phase === "Retrying" || isFinal(row.phase) || row.cancel_requested === 1 || row.deadline_exceeded === 1;
        job = { ...this.pending(row), placement: [], startedAtMs: clock.now(), preemptible: row.preemptible === 1, ...(terminating ? { terminating } : {}) };
        running.set(r.job_uid, job);
      }
      // The current run started when its first replica did (attained service of earlier runs is in attainedGpuMs).
      if (r.start_time !== null) job.startedAtMs = Math.min(job.startedAtMs, r.start_time);
      job.placement.push({ node: r.node, gpuIndices: r.gpus, cpuMilli: r.cpu_milli, memoryMb: r.memory_mb, ...(r.gpu_milli ? { gpuMilli: r.gpu_milli } : {}) });
    }
    const queues = this.o.queues();
    const queuedUids = new Set(queued.map((j) => j.uid));
    for (const uid of this.reservedFor) if (!queuedUids.has(uid)) this.reservedFor.delete(uid);
    for (const [victim, forUid] of this.victimFor) if (!running.get(victim)?.terminating || !queuedUids.has(forUid)) this.victimFor.delete(victim);
    for (const [uid, job] of running) {
      const forUid = this.victimFor.get(uid);
      if (forUid !== undefined) running.set(uid, { ...job, preemptedFor: forUid });
    }
    const config = queues && queues.queues.length > 0 ? queues : undefined;
    const now = clock.now();
    const decision = this.o.scheduler.schedule({
      nowMs: now,
      nodes: this.o.nodes(),
      pending: queued.map((row) => {
        const p = this.pending(row);
        return this.reservedFor.has(row.uid) ? { ...p, reserved: true } : p;
      }),
      running: [...running.values()],
      // A config without queues (only defaults or teams) sets no quotas: one shared pool, as with none.
      ...(config ? { queues: config } : {}),
      usageHistory: await this.usageHistory(now, config),
    });
    this.scheduleReview(decision.nextReviewAtMs);
    for (const p of decision.preempt) {
      if (p.forUid !== undefined) {
        this.reservedFor.add(p.forUid);
        this.victimFor.set(p.uid, p.forUid);
      }
      await this.o.preempt(p.uid, p.reason);
    }
    const changed: [string, WaitingReason][] = [];
    for (const w of decision.waiting) {
      const reason = waitingReason(w);
      if (sameWaiting(this.waiting.get(w.uid), reason)) continue;
      changed.push([w.uid, reason]);
    }
    await store.setWaitingMany(changed);
    for (const [uid, reason] of changed) this.waiting.set(uid, reason);
    for (const s of decision.start) {
      this.waiting.delete(s.uid);
      this.reservedFor.delete(s.uid);
      if (queuedUids.has(s.uid)) await this.o.place(s.uid, s.placement, s.preemptible === true);
    }
  }

  /**
   * The queued jobs in submission order. While the store's generation is that of the last read, only submissions
   * happened since: the new queued jobs are read and appended. Otherwise the keys are read, and rows from memory
   * unless new or queued again since.
   */
  private async readQueued(): Promise<QueuedJob[]> {
    const store = this.o.store;
    const generation = store.queueGeneration;
    const last = this.queuedList;
    if (last !== undefined && last.generation === generation) {
      const added = await store.queuedSince(last.lastSeq);
      if (store.queueGeneration === generation) {
        for (const row of added) {
          this.queuedRows.set(row.uid, row);
          last.rows.push(row);
          last.lastSeq = Math.max(last.lastSeq, row.seq);
        }
        return last.rows;
      }
    }
    const keys = await store.queuedKeys();
    const current = new Set<string>();
    const stale: string[] = [];
    for (const k of keys) {
      current.add(k.uid);
      if (this.queuedRows.get(k.uid)?.queued_at !== k.queued_at) stale.push(k.uid);
    }
    for (const uid of this.queuedRows.keys()) if (!current.has(uid)) this.queuedRows.delete(uid);
    // Reasons of jobs no longer queued (started, cancelled, past their deadline) are not kept either.
    for (const uid of this.waiting.keys()) if (!current.has(uid)) this.waiting.delete(uid);
    for (const row of await this.o.store.queuedJobs(stale)) this.queuedRows.set(row.uid, row);
    const out: QueuedJob[] = [];
    let lastSeq = last?.lastSeq ?? 0;
    for (const k of keys) {
      lastSeq = Math.max(lastSeq, k.seq);
      const row = this.queuedRows.get(k.uid);
      // Queued again between the two reads: its row says so, and the next cycle reads it (a kick follows every requeue).
      if (row !== undefined && row.queued_at === k.queued_at) out.push(row);
    }
    // Kept under the generation seen before reading: a write meanwhile makes the next cycle read everything again.
    this.queuedList = { generation, lastSeq, rows: out };
    return out;
  }

  /** Reads the specs of jobs this loop has not seen (one query), and forgets jobs no longer queued or holding. */
  private async loadRequests(jobs: readonly QueuedJob[]): Promise<void> {
    const current = new Set(jobs.map((j) => j.uid));
    for (const uid of this.requests.keys()) if (!current.has(uid)) this.requests.delete(uid);
    const missing = [...current].filter((uid) => !this.requests.has(uid));
    for (const [uid, spec] of await this.o.store.specs(missing)) this.requests.set(uid, replicaRequests(spec, this.o.units));
  }

  private pending(row: QueuedJob): PendingJob {
    let p = this.pendings.get(row);
    if (p === undefined) this.pendings.set(row, (p = this.toPending(row)));
    return p;
  }

  private toPending(row: QueuedJob): PendingJob {
    return {
      uid: row.uid,
      name: row.name,
      team: row.team,
      queue: row.queue,
      priority: row.priority,
      submittedAtMs: row.created_at,
      seq: row.seq,
      attainedGpuMs: row.attained_gpu_ms,
      queuedAtMs: row.queued_at,
      preemptions: row.preemptions,
      ...(row.user ? { user: row.user } : {}),
      // A model-server replica: never demoted by least-attained-service, not preempted by training of its priority.
      ...(row.workload_class === "serving" ? { serving: true } : {}),
      replicas: this.requests.get(row.uid) ?? [],
    };
  }

  /**
   * Each queue's decayed GPU time of ended replica runs (fair share's memory), read from the store at most every
   * `usageRefreshMs` (and when the queues change): eight half-lives back, what is older counts under 0.4%.
   */
  private async usageHistory(now: number, queues: QueuesConfig | undefined): Promise<Record<string, number>> {
    const h = this.history;
    if (h !== undefined && h.queues === queues && now - h.atMs < (this.o.usageRefreshMs ?? 5 * 60_000)) return h.usage.snapshot(now);
    const halfLife = this.o.usageHalfLifeMs ?? DEFAULT_USAGE_HALF_LIFE_MS;
    const since = now - 8 * halfLife;
    const usage = new DecayedUsage(halfLife);
    for (const { job, replicas } of await this.o.store.usageRecords(since)) {
      const key = usageKey(job, queues);
      for (const r of replicas) {
        if (r.start_time === null || r.end_time === null || r.end_time < since) continue;
        usage.add(key, r.gpus.length * (r.gpu_milli ? r.gpu_milli / 1000 : 1) * (r.end_time - r.start_time), r.end_time);
      }
    }
    this.history = { atMs: now, queues, usage };
    return usage.snapshot(now);
  }

  /** Runs a cycle when the scheduler says its decision may change with no event (LAS levels, minimum run time). */
  private scheduleReview(atMs: number | undefined): void {
    const clock = this.o.clock;
    if (atMs === undefined || !Number.isFinite(atMs) || atMs >= this.reviewAtMs) return;
    if (this.reviewTimer) clock.clearTimeout(this.reviewTimer);
    this.reviewAtMs = atMs;
    this.reviewTimer = clock.setTimeout(() => {
      this.reviewTimer = undefined;
      this.reviewAtMs = Infinity;
      this.kick();
    }, Math.min(MAX_TIMER_MS, Math.max(0, atMs - clock.now())));
  }
}
