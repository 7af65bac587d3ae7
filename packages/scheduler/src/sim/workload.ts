import { invalidArgument } from "@switchyard/core";
import type { ReplicaRequest } from "../types.js";
import { fnv1a } from "./prng.js";

/** One job of a simulated workload. */
export interface SimJob {
  readonly id: string;
  /** Arrival, seconds from the start of the trace. */
  readonly submitS: number;
  /** Run time when it runs uninterrupted, seconds. */
  readonly durationS: number;
  readonly replicas: readonly ReplicaRequest[];
  readonly team: string;
  readonly user?: string;
  readonly priority: number;
  /**
   * A model-serving replica (`PendingJob.serving`): it never finishes, so `durationS` is ignored and it runs until the
   * simulation ends (when every training job has finished). Left out of JCT and training queueing; reported apart
   * (`SimResult.serving`).
   */
  readonly serving?: boolean;
}

/** GPUs of a job (shares of shared GPUs by their fraction). */
export function simJobGpus(j: SimJob): number {
  let g = 0;
  for (const r of j.replicas) g += r.gpus > 0 ? r.gpus : (r.gpuMilli ?? 0) / 1000;
  return g;
}

/**
 * Rescales arrival times so that the offered GPU load (GPU-seconds asked per second of arrivals) is `load` of
 * `totalGpus`. Arrivals keep their order and relative spacing. Serving replicas ask for no run time: they count as
 * arrivals but not as work.
 */
export function rescaleLoad(jobs: readonly SimJob[], totalGpus: number, load: number): SimJob[] {
  if (!(load > 0)) throw invalidArgument(`load must be > 0 (got ${load})`, [{ field: "load", message: "must be > 0", expected: "a fraction of capacity such as 0.9", got: String(load) }]);
  if (jobs.length < 2) return [...jobs];
  let first = Infinity;
  let last = -Infinity;
  let work = 0;
  for (const j of jobs) {
    first = Math.min(first, j.submitS);
    last = Math.max(last, j.submitS);
    if (j.serving !== true) work += simJobGpus(j) * j.durationS;
  }
  const span = last - first;
  if (!(span > 0) || !(work > 0)) return [...jobs];
  // offered = work / (gpus × span × f) = load  →  f = work / (gpus × span × load)
  const f = work / (totalGpus * span * load);
  return jobs.map((j) => ({ ...j, submitS: first + (j.submitS - first) * f }));
}

/** Spreads jobs over `teams` teams (`team-0` …) by a hash of their id: deterministic, about even. */
export function assignTeams(jobs: readonly SimJob[], teams: number): SimJob[] {
  if (!(teams >= 1) || !Number.isInteger(teams)) throw invalidArgument(`teams must be a positive integer (got ${teams})`);
  return jobs.map((j) => ({ ...j, team: `team-${fnv1a(j.id) % teams}` }));
}

/**
 * A replica that asks for more GPUs than the largest node holds becomes a gang of equal replicas that each fit
 * (16 GPUs on 8-GPU nodes: 2 × 8), as multi-node traces mean.
 */
export function splitOversized(j: SimJob, maxGpusPerNode: number): SimJob {
  if (maxGpusPerNode <= 0 || j.replicas.every((r) => r.gpus <= maxGpusPerNode)) return j;
  const replicas: ReplicaRequest[] = [];
  for (const r of j.replicas) {
    if (r.gpus <= maxGpusPerNode) {
      replicas.push(r);
      continue;
    }
    let k = Math.ceil(r.gpus / maxGpusPerNode);
    while (r.gpus % k !== 0) k++;
    const per = r.gpus / k;
    for (let i = 0; i < k; i++) replicas.push({ ...r, gpus: per, cpuMilli: Math.ceil(r.cpuMilli / k), memoryMb: Math.ceil(r.memoryMb / k) });
  }
  return { ...j, replicas };
}

/** Default host resources per GPU for traces that give none. */
export const CPU_MILLI_PER_GPU = 4000;
export const MEMORY_MB_PER_GPU = 16384;

export function defaultReplica(gpus: number): ReplicaRequest {
  return { gpus, cpuMilli: CPU_MILLI_PER_GPU * Math.max(1, gpus), memoryMb: MEMORY_MB_PER_GPU * Math.max(1, gpus) };
}
