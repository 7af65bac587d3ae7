import { invalidArgument } from "@switchyard/core";
import { exponential, mulberry32 } from "./prng.js";
import { defaultReplica, type SimJob } from "./workload.js";

export interface PhillyOptions {
  readonly jobs: number;
  readonly seed: number;
}

/**
 * A synthetic workload shaped like Microsoft's Philly trace as the Tiresias paper describes it: GPUs per job
 * 1 (70%), 2 (10%), 4 (15%), 8 (5%); run time 60·10^U(1.5,3) s with probability 0.8, else 60·10^U(3,4) s;
 * Poisson arrivals at one job per second (rescale them with `rescaleLoad`).
 */
export function generatePhilly(o: PhillyOptions): SimJob[] {
  if (!Number.isInteger(o.jobs) || o.jobs < 1) throw invalidArgument(`synthetic jobs must be a positive integer (got ${o.jobs})`, [{ field: "synthetic.jobs", message: "must be ≥ 1", expected: "an integer ≥ 1", got: String(o.jobs) }]);
  return poissonJobs(o.jobs, o.seed, "philly", (rng) => Math.round(rng() < 0.8 ? 60 * 10 ** (1.5 + 1.5 * rng()) : 60 * 10 ** (3 + rng())));
}

/** `n` jobs with Philly's GPU mix (1/2/4/8 at 70/10/15/5%), run times from `duration`, Poisson arrivals at 1/s. */
function poissonJobs(n: number, seed: number, prefix: string, duration: (rng: () => number) => number): SimJob[] {
  const rng = mulberry32(seed);
  const jobs: SimJob[] = [];
  let t = 0;
  const width = String(n - 1).length;
  for (let i = 0; i < n; i++) {
    const u = rng();
    const gpus = u < 0.7 ? 1 : u < 0.8 ? 2 : u < 0.95 ? 4 : 8;
    jobs.push({ id: `${prefix}-${String(i).padStart(width, "0")}`, submitS: t, durationS: duration(rng), replicas: [defaultReplica(gpus)], team: "default", priority: 0 });
    t += exponential(rng, 1);
  }
  return jobs;
}

export interface ShortJobsOptions {
  readonly jobs: number;
  readonly seed: number;
  /** Run times are log-uniform between these (seconds); default 120 and 1,200 (2 to 20 minutes). */
  readonly minS?: number;
  readonly maxS?: number;
}

/**
 * Short jobs of minutes, as small busy GPU servers see them (and as the 60-job sample of Tiresias' simulator is):
 * GPUs per job as in `generatePhilly`, run times log-uniform in [minS, maxS] (default 2–20 min), Poisson arrivals at
 * one job per second (rescale them with `rescaleLoad`).
 */
export function generateShortJobs(o: ShortJobsOptions): SimJob[] {
  if (!Number.isInteger(o.jobs) || o.jobs < 1) throw invalidArgument(`synthetic jobs must be a positive integer (got ${o.jobs})`, [{ field: "synthetic.jobs", message: "must be ≥ 1", expected: "an integer ≥ 1", got: String(o.jobs) }]);
  const lo = o.minS ?? 120;
  const hi = o.maxS ?? 1200;
  if (!(lo > 0 && hi >= lo)) throw invalidArgument(`run times must satisfy 0 < minS ≤ maxS (got ${lo}, ${hi})`);
  return poissonJobs(o.jobs, o.seed, "short", (rng) => Math.round(lo * (hi / lo) ** rng()));
}
