import { invalidArgument } from "@switchyard/core";
import { compileQueues, resolveQueue } from "./quota.js";
import type { PendingJob, QueuesConfig } from "./types.js";

/** Slurm's default (PriorityDecayHalfLife): usage a week old counts half. */
export const DEFAULT_USAGE_HALF_LIFE_MS = 7 * 24 * 3600_000;

/**
 * GPU time used per queue, decayed with a half-life (Slurm's fair-share usage): what a queue used an hour ago counts
 * almost fully, what it used a half-life ago counts half. The caller (jobs service, simulator) keeps one, adds each
 * run's GPU time as it ends, and passes `snapshot(now)` as `ScheduleInput.usageHistory`. Pure: time is passed in.
 */
export class DecayedUsage {
  private readonly byKey = new Map<string, { value: number; atMs: number }>();

  constructor(readonly halfLifeMs: number = DEFAULT_USAGE_HALF_LIFE_MS) {
    if (!(halfLifeMs > 0)) throw invalidArgument(`the usage half-life must be > 0 ms (got ${halfLifeMs})`, [{ field: "halfLifeMs", message: "must be > 0", expected: "a duration such as 7 days", got: String(halfLifeMs) }]);
  }

  /** Adds `gpuMs` used by `key` at `atMs` (in any order: use older than what is held is decayed to its time). */
  add(key: string, gpuMs: number, atMs: number): void {
    if (!(gpuMs > 0)) return;
    const cur = this.byKey.get(key);
    if (cur === undefined) this.byKey.set(key, { value: gpuMs, atMs });
    else if (atMs >= cur.atMs) this.byKey.set(key, { value: this.decay(cur, atMs) + gpuMs, atMs });
    else cur.value += this.decay({ value: gpuMs, atMs }, cur.atMs);
  }

  value(key: string, nowMs: number): number {
    const cur = this.byKey.get(key);
    return cur === undefined ? 0 : this.decay(cur, nowMs);
  }

  /** Every key's decayed GPU-ms now (what `ScheduleInput.usageHistory` takes). */
  snapshot(nowMs: number): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of this.byKey) out[k] = this.decay(v, nowMs);
    return out;
  }

  private decay(e: { value: number; atMs: number }, nowMs: number): number {
    return e.value * 2 ** (-Math.max(0, nowMs - e.atMs) / this.halfLifeMs);
  }
}

/** The key fair share counts a job's usage under: its queue's name (with queues), else its `queue`, else its team. */
export function usageKey(job: Pick<PendingJob, "queue" | "team">, queues: QueuesConfig | undefined): string {
  const fallback = job.queue !== "" ? job.queue : job.team;
  if (queues === undefined || queues.queues.length === 0) return fallback;
  return resolveQueue(compileQueues(queues), job as PendingJob)?.name ?? fallback;
}
