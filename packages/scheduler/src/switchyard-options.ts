import { invalidArgument } from "@switchyard/core";
import { DEFAULT_USAGE_HALF_LIFE_MS } from "./decayed-usage.js";
import type { LasPolicy } from "./las.js";
import type { PlacementStrategy } from "./placement.js";
import type { QueuesConfig } from "./types.js";

export interface SwitchyardSchedulerOptions {
  /** Default queues when a ScheduleInput carries none. */
  readonly queues?: QueuesConfig;
  /** GPU-seconds at which a job drops to the next least-attained-service level (increasing). Default [36000, 360000] (10 and 100 GPU-hours). */
  readonly lasThresholdsGpuS?: readonly number[];
  /**
   * A job runs at least this long before LAS can pause it, and a job preempted once runs at least this long before it
   * can be preempted again, on any ground (the progress guarantee). Default 10 min.
   */
  readonly minRunTimeMs?: number;
  /** Each further preemption of a job owes it this many times the run the one before did (default 1: always minRunTimeMs; 2: 10, 20, 40 min …). */
  readonly minRunTimeBackoff?: number;
  /** A job is preempted at most this many times; after that it runs to its end (default 10). */
  readonly maxPreemptionsPerJob?: number;
  /**
   * A job blocked behind backfilled work makes it give way only once it has waited this long (default 1 h): work
   * that a preemption throws away is lost for good, and backfilled jobs that end soon free the room anyway. 0: at once.
   */
  readonly backfillEvictAfterMs?: number;
  /**
   * Backfilled work and higher LAS levels give way only while a preemption would throw away at most this share of
   * the GPU time the victim has had (work since its last checkpoint, against all its service): a job that has not
   * checkpointed loses everything, so it runs on (default 0.25; 1: no such limit). Applies to running jobs whose
   * `checkpointedAtMs` the caller reports.
   */
  readonly maxLostShare?: number;
  /** Half-life of the usage history in fair share (`ScheduleInput.usageHistory`), default 7 days as Slurm. */
  readonly usageHalfLifeMs?: number;
  /** Within one priority and service level, jobs asking for fewer GPUs go first (default false: arrival order). */
  readonly smallestFirst?: boolean;
  /** A waiting job climbs back one LAS level per this much waiting. Default 12 h; Infinity turns the guard off. */
  readonly starvationMs?: number;
  /**
   * `true` (default): jobs behind a blocked one may start, marked preemptible, and give way when it can start.
   * `false`: strict order, nothing starts behind a job that does not fit.
   */
  readonly backfill?: boolean;
  /** Decide preemptions (default true). */
  readonly preemption?: boolean;
  /** Default `fgd` (fragmentation-aware packing). */
  readonly placement?: PlacementStrategy;
  /** Bound on victim searches per cycle, to bound a cycle's time (default 64). */
  readonly maxPreemptionSearches?: number;
  readonly name?: string;
}

export interface CompiledSwitchyardOptions {
  readonly queues: QueuesConfig | undefined;
  readonly las: LasPolicy;
  readonly minRunTimeMs: number;
  readonly minRunTimeBackoff: number;
  readonly maxPreemptionsPerJob: number;
  readonly backfillEvictAfterMs: number;
  readonly maxLostShare: number;
  readonly smallestFirst: boolean;
  readonly usageHalfLifeMs: number;
  readonly backfill: boolean;
  readonly preemption: boolean;
  readonly placement: PlacementStrategy;
  readonly maxPreemptionSearches: number;
  readonly name: string;
}

/** Validates options once and fills the defaults. */
export function compileSwitchyardOptions(o: SwitchyardSchedulerOptions = {}): CompiledSwitchyardOptions {
  const thresholds = o.lasThresholdsGpuS ?? [36_000, 360_000];
  thresholds.forEach((t, i) => {
    if (!(t > 0) || (i > 0 && !(t > thresholds[i - 1]!))) {
      throw invalidArgument(`lasThresholdsGpuS must be increasing positive numbers of GPU-seconds (got ${JSON.stringify(thresholds)})`, [
        { field: `lasThresholdsGpuS[${i}]`, message: "not increasing or not positive", expected: "increasing numbers > 0", got: String(t) },
      ]);
    }
  });
  const nonNegative = (field: string, x: number): number => {
    if (!(x >= 0)) throw invalidArgument(`${field} must be ≥ 0 (got ${x})`, [{ field, message: "must be ≥ 0", expected: "a number ≥ 0", got: String(x) }]);
    return x;
  };
  const starvationMs = o.starvationMs ?? 12 * 3600_000;
  if (!(starvationMs > 0)) throw invalidArgument(`starvationMs must be > 0 (got ${starvationMs}); use Infinity to turn the guard off`);
  return {
    queues: o.queues,
    las: { thresholdsGpuMs: thresholds.map((t) => t * 1000), starvationMs },
    minRunTimeMs: nonNegative("minRunTimeMs", o.minRunTimeMs ?? 10 * 60_000),
    minRunTimeBackoff: Math.max(1, o.minRunTimeBackoff ?? 1),
    maxPreemptionsPerJob: nonNegative("maxPreemptionsPerJob", o.maxPreemptionsPerJob ?? 10),
    backfillEvictAfterMs: nonNegative("backfillEvictAfterMs", o.backfillEvictAfterMs ?? 60 * 60_000),
    maxLostShare: nonNegative("maxLostShare", o.maxLostShare ?? 0.25),
    smallestFirst: o.smallestFirst ?? false,
    usageHalfLifeMs: o.usageHalfLifeMs ?? DEFAULT_USAGE_HALF_LIFE_MS,
    backfill: o.backfill ?? true,
    preemption: o.preemption ?? true,
    placement: o.placement ?? "fgd",
    maxPreemptionSearches: nonNegative("maxPreemptionSearches", o.maxPreemptionSearches ?? 64),
    name: o.name ?? "switchyard",
  };
}
