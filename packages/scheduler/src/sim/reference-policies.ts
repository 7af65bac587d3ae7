import { invalidArgument } from "@switchyard/core";
import type { Alloc } from "../cluster-state.js";
import { buildClusterState } from "../cluster-build.js";
import { jobGpus } from "../order.js";
import { placeJob, type PlaceOptions } from "../placement.js";
import type { PendingJob, RunningJob, ScheduleDecision, ScheduleInput, Scheduler } from "../types.js";

/**
 * Reference policies for the simulator only: yardsticks that ours is measured against, not schedulers the platform
 * runs. Both are greedy and preemptive: every cycle they walk all jobs, running and waiting, in their order; a
 * waiting job that does not fit stops running jobs that come after it in the order (the last first) when that lets
 * it start, and starts in the same decision (the simulator stops victims at once, so there is no grace to wait out).
 * Placement is ours (best-fit, gangs whole) so that only the order differs. Neither stops a serving replica.
 */

/** What the simulator tells the oracle: a job's remaining run time, and the cost model of a preemption. */
export interface SimOracle {
  remainingMs(uid: string, nowMs: number): number;
  readonly restartPenaltyMs: number;
}

type Entry = { readonly job: PendingJob; readonly running?: RunningJob; allocs: Alloc[] };

function greedyPreemptive(name: string, key: (e: Entry, nowMs: number) => readonly number[]): Scheduler {
  const placeOpts: PlaceOptions = { strategy: "best-fit" };
  return {
    name,
    schedule(input: ScheduleInput): ScheduleDecision {
      const now = input.nowMs;
      const { state, allocs } = buildClusterState(input.nodes, input.running);
      const entries: Entry[] = [
        ...input.running.filter((r) => r.terminating !== true).map((r) => ({ job: r as PendingJob, running: r, allocs: allocs.get(r.uid) ?? [] })),
        ...input.pending.map((job) => ({ job, allocs: [] as Alloc[] })),
      ];
      const keys = new Map<Entry, readonly number[]>(entries.map((e) => [e, key(e, now)]));
      const cmp = (a: Entry, b: Entry): number => {
        const x = keys.get(a)!;
        const y = keys.get(b)!;
        for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
        return a.job.submittedAtMs - b.job.submittedAtMs || a.job.seq - b.job.seq;
      };
      entries.sort(cmp);
      const d: ScheduleDecision = { start: [], preempt: [], waiting: [] };
      const live = new Set(entries.filter((e) => e.running !== undefined));
      entries.forEach((e, i) => {
        if (e.running !== undefined) return;
        let placed = placeJob(state, e.job.replicas, placeOpts);
        if (placed === undefined) {
          // Victims: running jobs after it in the order, the last first, until it fits; then spare the unneeded.
          // Serving replicas are never victims here: the class is the platform's rule, not a policy's choice, and a
          // reference that stopped them would buy training JCT that ours may not.
          const taken: Entry[] = [];
          for (let k = entries.length - 1; k > i; k--) {
            const v = entries[k]!;
            if (!live.has(v) || v.job.serving === true) continue;
            for (const a of v.allocs) state.release(a);
            taken.push(v);
            placed = placeJob(state, e.job.replicas, placeOpts);
            if (placed !== undefined) break;
          }
          if (placed === undefined) {
            for (const v of taken) for (const a of v.allocs) state.allocate(a);
          } else {
            for (let k = placed.length - 1; k >= 0; k--) state.release(placed[k]!);
            const needed: Entry[] = [];
            for (let k = taken.length - 1; k >= 0; k--) {
              const v = taken[k]!;
              for (const a of v.allocs) state.allocate(a);
              const trial = placeJob(state, e.job.replicas, placeOpts);
              if (trial === undefined) {
                for (const a of v.allocs) state.release(a);
                needed.push(v);
              } else {
                for (let m = trial.length - 1; m >= 0; m--) state.release(trial[m]!);
              }
            }
            placed = placeJob(state, e.job.replicas, placeOpts)!;
            for (const v of needed) {
              live.delete(v);
              d.preempt.push({ uid: v.job.uid, reason: `preempted by ${name} for job ${e.job.name}`, forUid: e.job.uid });
            }
          }
        }
        if (placed !== undefined) d.start.push({ uid: e.job.uid, placement: placed.map((a) => state.toPlacement(a)) });
        else d.waiting.push({ uid: e.job.uid, reason: `waiting (${name} order)`, position: d.waiting.length + 1, cause: { kind: "resources" } });
      });
      return d;
    },
  };
}

/** Tiresias' `dlas-gpu` as its public simulator runs it: 3 queues at 3,250 and 7,200 GPU-seconds, no starvation promotion. */
export const TIRESIAS_QUEUE_LIMITS_GPU_S: readonly number[] = [3250, 7200];

/**
 * Tiresias (NSDI'19), discretized 2D-LAS (`dlas-gpu` of its public simulator, parameters as published, not tuned
 * here): a job's queue is set by its attained GPU time against `TIRESIAS_QUEUE_LIMITS_GPU_S`; queues in order; within
 * a queue, running jobs before waiting ones, each in the order it joined the queue (arrival, demotion or requeue). No
 * duration knowledge, no minimum run time.
 */
export function createTiresiasScheduler(limitsGpuS: readonly number[] = TIRESIAS_QUEUE_LIMITS_GPU_S): Scheduler {
  const limits = limitsGpuS.map((x) => x * 1000);
  const queueOf = (gpuMs: number): number => {
    let q = 0;
    while (q < limits.length && gpuMs >= limits[q]!) q++;
    return q;
  };
  return greedyPreemptive("tiresias", (e, now) => {
    const before = e.job.attainedGpuMs ?? 0;
    if (e.running === undefined) return [queueOf(before), 1, e.job.queuedAtMs ?? e.job.submittedAtMs];
    const gpus = jobGpus(e.job.replicas);
    const q = queueOf(before + gpus * Math.max(0, now - e.running.startedAtMs));
    // Joined its queue when this run crossed the queue's lower limit, or (if it started in it) when it last queued.
    const crossed = q > queueOf(before) && gpus > 0 ? e.running.startedAtMs + (limits[q - 1]! - before) / gpus : (e.job.queuedAtMs ?? e.job.submittedAtMs);
    return [q, 0, crossed];
  });
}

/**
 * Shortest remaining time first with knowledge of every job's run time: the ceiling a scheduler without that
 * knowledge is held to. A waiting job counts its remaining time plus its restart; a running job its remaining time
 * less what stopping it would cost (work since its last checkpoint and a restart): for two jobs, stopping R for P
 * lowers the sum of their completion times exactly when P + restart(P) < R − lost(R) − restart(R). So the oracle
 * preempts only when that pays, and two jobs never take turns.
 */
export function createSrtfOracleScheduler(oracle: SimOracle): Scheduler {
  return greedyPreemptive("srtf-oracle", (e, now) => {
    const remaining = oracle.remainingMs(e.job.uid, now);
    if (e.running === undefined) return [remaining + ((e.job.preemptions ?? 0) > 0 ? oracle.restartPenaltyMs : 0)];
    const since = Math.max(0, now - Math.max(e.running.startedAtMs, e.running.checkpointedAtMs ?? e.running.startedAtMs));
    return [remaining - since - oracle.restartPenaltyMs];
  });
}

export function requireOracle(oracle: SimOracle | undefined): SimOracle {
  if (oracle === undefined) {
    throw invalidArgument("the srtf-oracle policy knows run times that only the simulator has", [
      { field: "policy", message: "srtf-oracle runs in the simulator only", hint: "use it with `switchyard simulate`" },
    ]);
  }
  return oracle;
}
