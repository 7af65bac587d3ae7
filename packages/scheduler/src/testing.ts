import type { NodeInfo, PendingJob, ReplicaRequest, RunningJob } from "./types.js";

/** Builders for tests, benchmarks and the simulator's examples. Not part of the stable API. */
export function makeNodes(count: number, gpusPerNode: number, opts: { prefix?: string; type?: string; cpuMilli?: number; memoryMb?: number } = {}): NodeInfo[] {
  return Array.from({ length: count }, (_, i) => ({
    name: count === 1 && opts.prefix === undefined ? "local" : `${opts.prefix ?? "node"}-${i}`,
    gpus: Array.from({ length: gpusPerNode }, (_, index) => ({ index, type: opts.type ?? "A100" })),
    cpuMilli: opts.cpuMilli ?? 128_000,
    memoryMb: opts.memoryMb ?? 1_048_576,
  }));
}

export function replica(gpus: number, extra: Partial<ReplicaRequest> = {}): ReplicaRequest {
  return { gpus, cpuMilli: 1000, memoryMb: 1024, ...extra };
}

let seq = 0;
export function makeJob(uid: string, replicas: ReplicaRequest[], extra: Partial<PendingJob> = {}): PendingJob {
  seq++;
  return { uid, name: uid, team: "t", queue: "q", priority: 0, submittedAtMs: seq, seq, replicas, ...extra };
}

export function makeRunning(job: PendingJob, placement: RunningJob["placement"], startedAtMs = 0, extra: Partial<RunningJob> = {}): RunningJob {
  return { ...job, placement, startedAtMs, ...extra };
}
