import type { Alloc, ClusterState } from "./cluster-state.js";
import { compareLevelled } from "./order.js";
import type { CompiledSwitchyardOptions } from "./switchyard-options.js";
import type { CompiledQueue, QuotaBook, UsageVector } from "./quota.js";
import type { PendingJob, PreemptionKind, RunningJob } from "./types.js";

/** A running job as the preemption search sees it. */
export interface RunningEntry {
  readonly job: RunningJob;
  readonly allocs: Alloc[];
  readonly queue: CompiledQueue | undefined;
  readonly vec: UsageVector;
  readonly gpus: number;
  readonly level: number;
  readonly ranMs: number;
  /** GPU-milliseconds of work a preemption throws away (since the last checkpoint, or since the start). */
  readonly lostGpuMs: number;
  /** GPU-milliseconds of service the job has had, earlier runs and this one. */
  readonly attainedGpuMs: number;
  /** Already chosen as a victim in this cycle. */
  claimed: boolean;
}

/** A waiting job as the preemption search sees it. */
export interface PreemptorView {
  readonly job: PendingJob;
  readonly level: number;
  readonly queue: CompiledQueue | undefined;
  readonly vec: UsageVector;
}

/** The options that decide who may be preempted. */
export type PreemptionPolicy = Pick<CompiledSwitchyardOptions, "minRunTimeMs" | "minRunTimeBackoff" | "maxPreemptionsPerJob" | "backfillEvictAfterMs" | "maxLostShare" | "smallestFirst">;

export interface PreemptionContext {
  readonly state: ClusterState;
  readonly book: QuotaBook | undefined;
  readonly policy: PreemptionPolicy;
  readonly nowMs: number;
  /** Is this job waiting in this cycle? (A job preempted for one that no longer waits frees resources for anyone.) */
  isWaiting(uid: string): boolean;
  /** Can the preemptor be admitted and placed in the current state? (Leaves the state as it found it.) */
  fits(p: PreemptorView): boolean;
}

/** Preference order of victims; a job already shutting down comes before all. */
const RANK: Record<PreemptionKind | "terminating", number> = { terminating: -1, backfill: 0, reclaim: 1, las: 2, priority: 3 };

export type VictimKind = PreemptionKind | "terminating";

/**
 * Is `v` protected by the progress guarantee: preempted `maxPreemptionsPerJob` times already, or preempted before and
 * not yet run its minimum run since (`protectedForMs`)? Such a job is never a victim, on any ground.
 */
export function isProtected(policy: PreemptionPolicy, v: Pick<RunningEntry, "job" | "ranMs">): boolean {
  return v.ranMs < protectedForMs(policy, v.job);
}

/** How long into its current run a job is protected by the progress guarantee: Infinity once preempted as often as allowed. */
export function protectedForMs(policy: PreemptionPolicy, job: { preemptions?: number }): number {
  const n = job.preemptions ?? 0;
  return n >= policy.maxPreemptionsPerJob ? Infinity : minRunAfter(policy, n);
}

/** The run a job preempted `n` times is owed before the next preemption: minRunTimeMs × backoff^(n−1). */
export function minRunAfter(policy: PreemptionPolicy, n: number): number {
  return n <= 0 ? 0 : policy.minRunTimeMs * policy.minRunTimeBackoff ** (n - 1);
}

/**
 * Whether `v` may give way to `p`, and on which ground (the most preferred one that applies):
 * backfilled work that comes after `p` in the order; quota borrowed from `p`'s cohort while `p` stays within its nominal quota;
 * a higher LAS level at the same priority once the minimum run time is over; a lower user priority.
 * LAS and priority preemption stay inside one queue when queues are configured (Kueue's withinClusterQueue). A job
 * protected by the progress guarantee (`isProtected`) is never a victim. A serving replica gives way on fewer grounds
 * (`servingVictimKind`).
 */
export function victimKind(ctx: PreemptionContext, p: PreemptorView, v: RunningEntry): VictimKind | undefined {
  if (v.claimed) return undefined;
  if (v.job.terminating === true) {
    // What a victim frees belongs to the job it was stopped for, while that job waits.
    const owner = v.job.preemptedFor;
    return owner === undefined || owner === p.job.uid || !ctx.isWaiting(owner) ? "terminating" : undefined;
  }
  if (isProtected(ctx.policy, v)) return undefined;
  if (v.job.serving === true) return servingVictimKind(ctx, p, v);
  // The cost rule needs to know the victim's checkpoints; a caller that does not report them is not held to it.
  const cheap = v.job.checkpointedAtMs === undefined || v.lostGpuMs <= ctx.policy.maxLostShare * v.attainedGpuMs;
  if (v.job.preemptible === true && cheap && comesAfter(ctx, v, p) && ctx.nowMs - (p.job.queuedAtMs ?? p.job.submittedAtMs) >= ctx.policy.backfillEvictAfterMs) return "backfill";
  const book = ctx.book;
  if (
    book !== undefined &&
    p.queue !== undefined &&
    v.queue !== undefined &&
    p.queue !== v.queue &&
    p.queue.cohortIndex >= 0 &&
    v.queue.cohortIndex === p.queue.cohortIndex &&
    book.withinNominal(p.queue, p.vec) &&
    book.borrowingAny(v.queue, p.vec)
  ) {
    return "reclaim";
  }
  const sameScope = book === undefined || p.queue === v.queue;
  if (!sameScope) return undefined;
  if (v.job.priority === p.job.priority && v.level > p.level && v.ranMs >= ctx.policy.minRunTimeMs && cheap) return "las";
  if (v.job.priority < p.job.priority) return "priority";
  return undefined;
}

/**
 * The grounds on which a serving replica gives way: never as backfill (whatever `preemptible` says) nor by
 * least-attained service (it never finishes: its service says nothing), and to work of its own or lower priority only
 * to reclaim quota: what its queue's serving replicas alone hold beyond the queue's nominal quota, for a cohort queue
 * within its own nominal (lending stays reclaimable). A higher priority in its queue may preempt it.
 */
function servingVictimKind(ctx: PreemptionContext, p: PreemptorView, v: RunningEntry): VictimKind | undefined {
  const book = ctx.book;
  if (book === undefined) return v.job.priority < p.job.priority ? "priority" : undefined;
  if (p.queue === undefined || v.queue === undefined) return undefined;
  if (p.queue === v.queue) return v.job.priority < p.job.priority ? "priority" : undefined;
  if (p.queue.cohortIndex >= 0 && v.queue.cohortIndex === p.queue.cohortIndex && book.withinNominal(p.queue, p.vec) && book.servingBorrowingAny(v.queue, p.vec)) return "reclaim";
  return undefined;
}

/** May reclaim still take `c` for `p` (checked as victims are taken, since each changes the queues' usage)? */
function reclaimable(book: QuotaBook, p: PreemptorView, c: RunningEntry): boolean {
  const q = c.queue!;
  if (!(book.borrowingAny(q, p.vec) && book.withinNominal(p.queue!, p.vec) && book.keepsNominalWithout(q, c.vec))) return false;
  // A serving replica only out of what serving holds beyond nominal, and never taking serving below it.
  return c.job.serving !== true || (book.servingBorrowingAny(q, p.vec) && book.servingKeepsNominalWithout(q, c.vec));
}

/** Does running `v` come after waiting `p` in the scheduling order (priority, level, arrival)? Only then may it give way as backfill, or two jobs could take turns evicting each other. */
function comesAfter(ctx: PreemptionContext, v: RunningEntry, p: PreemptorView): boolean {
  return compareLevelled(v, p, ctx.policy.smallestFirst) > 0;
}

/** Jobs already stopping first, serving replicas last: a training victim is taken whenever one would do. */
function servingRank(v: Victim): number {
  return v.kind === "terminating" ? -1 : v.entry.job.serving === true ? 1 : 0;
}

export interface Victim {
  readonly entry: RunningEntry;
  readonly kind: VictimKind;
}

/** Frees what a victim holds, in the cycle's state and quotas. */
export function releaseVictim(ctx: PreemptionContext, e: RunningEntry): void {
  for (const a of e.allocs) ctx.state.release(a);
  if (ctx.book !== undefined && e.queue !== undefined) {
    ctx.book.remove(e.queue, e.vec);
    if (e.job.terminating === true) ctx.book.markLeaving(e.queue, e.vec, -1);
    else if (e.job.serving === true) ctx.book.markServing(e.queue, e.vec, -1);
  }
}

/** Gives a victim back what `releaseVictim` freed. */
export function restoreVictim(ctx: PreemptionContext, e: RunningEntry): void {
  for (const a of e.allocs) ctx.state.allocate(a);
  if (ctx.book !== undefined && e.queue !== undefined) {
    ctx.book.add(e.queue, e.vec);
    if (e.job.terminating === true) ctx.book.markLeaving(e.queue, e.vec);
    else if (e.job.serving === true) ctx.book.markServing(e.queue, e.vec);
  }
}

/**
 * The victims whose stopping lets `p` start: candidates taken in preference order (jobs already stopping, then
 * training before serving replicas, then kind, then fewest GPU-seconds lost, then most recently started) until `p`
 * fits, then every victim that turns out not to be needed is spared, the last taken first (Kueue's minimal
 * preemption). Leaves state and quotas as it found them; `undefined` when no set of victims helps.
 */
export function findVictims(ctx: PreemptionContext, p: PreemptorView, running: Iterable<RunningEntry>): Victim[] | undefined {
  const cands: Victim[] = [];
  for (const e of running) {
    const kind = victimKind(ctx, p, e);
    if (kind !== undefined) cands.push({ entry: e, kind });
  }
  if (cands.length === 0) return undefined;
  cands.sort(
    (a, b) =>
      servingRank(a) - servingRank(b) ||
      RANK[a.kind] - RANK[b.kind] ||
      (a.kind === "las" ? b.entry.level - a.entry.level : 0) ||
      a.entry.lostGpuMs - b.entry.lostGpuMs ||
      b.entry.job.startedAtMs - a.entry.job.startedAtMs ||
      (a.entry.job.uid < b.entry.job.uid ? -1 : 1),
  );
  const taken: Victim[] = [];
  let ok = false;
  for (const c of cands) {
    // Reclaiming stops once the other queue no longer borrows, and never takes it below its nominal quota.
    if (c.kind === "reclaim" && !reclaimable(ctx.book!, p, c.entry)) continue;
    releaseVictim(ctx, c.entry);
    taken.push(c);
    if (ctx.fits(p)) {
      ok = true;
      break;
    }
  }
  if (!ok) {
    for (let i = taken.length - 1; i >= 0; i--) restoreVictim(ctx, taken[i]!.entry);
    return undefined;
  }
  const needed: Victim[] = [];
  for (let i = taken.length - 1; i >= 0; i--) {
    const v = taken[i]!;
    restoreVictim(ctx, v.entry);
    if (!ctx.fits(p)) {
      releaseVictim(ctx, v.entry);
      needed.push(v);
    }
  }
  for (const v of needed) restoreVictim(ctx, v.entry);
  return needed.reverse();
}
