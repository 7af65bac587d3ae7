/**
 * The scheduling loop: a snapshot of the store (this node, the queued jobs, the jobs holding resources — their live
 * replicas read in one query) goes to the scheduler, and its decisions are applied in order: preemptions, waiting
 * reasons (stored as data, waiting-reason.ts), starts. Cycles never overlap and coalesce while one runs; a timer
 * runs one when the scheduler says its answer changes with time alone (`nextReviewAtMs`).
 *
 * A job's spec never changes after submission, so what the scheduler needs of it (its replicas' requests) is read
 * once per job and kept while the job is queued or holds resources: a cycle parses no spec it has seen before.
 */
import type { Clock, Logger } from "@switchyard/core";
import type { NodeInfo, PendingJob, QueuesConfig, ReplicaPlacement, ReplicaRequest, RunningJob, Scheduler } from "@switchyard/scheduler";
import type { JobSpec } from "@switchyard/specs";
import type { JobStore } from "./job-store.js";
import type { JobSummary } from "./job-rows.js";
import { MAX_TIMER_MS } from "./job-deadlines.js";
import { isFinal } from "./phases.js";
import { sameWaiting, waitingReason, type WaitingReason } from "./waiting-reason.js";

export interface SchedulingLoopOptions {
  store: JobStore;
  scheduler: Scheduler;
  /** This machine, as the scheduler sees it. */
  node: NodeInfo;
  /** The queues in force (newest applied configuration). */
  queues: () => QueuesConfig | undefined;
  clock: Clock;
  logger: Logger;
  /** Carries out a preemption (serialized with the job's other actions). */
  preempt: (uid: string, reason: string) => Promise<void>;
  /** Places and launches a job's next attempt (serialized with the job's other actions). */
  place: (uid: string, placement: readonly ReplicaPlacement[], preemptible: boolean) => Promise<void>;
}

/** What one replica asks for, from the job's spec (roles expanded). */
export function replicaRequests(spec: JobSpec): ReplicaRequest[] {
  const roles = spec.roles && spec.roles.length > 0 ? spec.roles.flatMap((r) => Array.from({ length: r.replicas }, () => r.resources)) : Array.from({ length: spec.replicas }, () => spec.resources);
  return roles.map((res) => ({ gpus: res.gpus, cpuMilli: res.cpuMilli, memoryMb: res.memoryMb, ...(res.gpuMilli ? { gpuMilli: res.gpuMilli } : {}), ...(res.gpuType ? { gpuType: res.gpuType } : {}) }));
}

export class SchedulingLoop {
  private readonly waiting = new Map<string, WaitingReason>();
  /** Replica requests by job uid, for jobs queued or holding resources (specs never change). */
  private readonly requests = new Map<string, ReplicaRequest[]>();
  private running = false;
  private again = false;
  private closed = false;
  private reviewTimer: ReturnType<Clock["setTimeout"]> | undefined;
  private reviewAtMs = Infinity;

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
      do {
        this.again = false;
        await this.cycle();
      } while (this.again && !this.closed);
    } catch (err) {
      this.o.logger.error({ err: String(err), stack: (err as Error).stack }, "scheduling cycle failed");
    } finally {
      this.running = false;
    }
  }

  private async cycle(): Promise<void> {
    const { store, clock } = this.o;
    const queued = await store.queued();
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
    const decision = this.o.scheduler.schedule({
      nowMs: clock.now(),
      nodes: [this.o.node],
      pending: queued.map((row) => this.pending(row)),
      running: [...running.values()],
      // A config without queues (only defaults or teams) sets no quotas: one shared pool, as with none.
      ...(queues && queues.queues.length > 0 ? { queues } : {}),
    });
    this.scheduleReview(decision.nextReviewAtMs);
    for (const p of decision.preempt) await this.o.preempt(p.uid, p.reason);
    for (const w of decision.waiting) {
      const reason = waitingReason(w);
      if (sameWaiting(this.waiting.get(w.uid), reason)) continue;
      this.waiting.set(w.uid, reason);
      await store.setWaiting(w.uid, reason);
    }
    for (const s of decision.start) {
      this.waiting.delete(s.uid);
      if (queued.some((j) => j.uid === s.uid)) await this.o.place(s.uid, s.placement, s.preemptible === true);
    }
  }

  /** Reads the specs of jobs this loop has not seen (one query), and forgets jobs no longer queued or holding. */
  private async loadRequests(jobs: readonly JobSummary[]): Promise<void> {
    const current = new Set(jobs.map((j) => j.uid));
    for (const uid of this.requests.keys()) if (!current.has(uid)) this.requests.delete(uid);
    const missing = [...current].filter((uid) => !this.requests.has(uid));
    for (const [uid, spec] of await this.o.store.specs(missing)) this.requests.set(uid, replicaRequests(spec));
  }

  private pending(row: JobSummary): PendingJob {
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
      ...(row.user ? { user: row.user } : {}),
      replicas: this.requests.get(row.uid) ?? [],
    };
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
