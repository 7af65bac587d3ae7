import type { PendingJob, ReplicaRequest } from "./types.js";

/** Priority (higher first), then arrival (submittedAtMs, then seq), then uid so that the order is total. */
export function compareFifo(a: PendingJob, b: PendingJob): number {
  return b.priority - a.priority || a.submittedAtMs - b.submittedAtMs || a.seq - b.seq || (a.uid < b.uid ? -1 : a.uid > b.uid ? 1 : 0);
}

const shapeKeys = new WeakMap<readonly ReplicaRequest[], string>();

/** A key equal for jobs that ask for exactly the same replicas: one placement failure stands for all of them. */
export function shapeKey(replicas: readonly ReplicaRequest[]): string {
  let key = shapeKeys.get(replicas);
  if (key === undefined) {
    key = replicas.map((r) => `${r.gpus}/${r.gpuMilli ?? 0}/${r.gpuType ?? ""}/${r.cpuMilli}/${r.memoryMb}`).join(",");
    shapeKeys.set(replicas, key);
  }
  return key;
}

/**
 * The switchyard order of two jobs at their service levels: user priority (higher first), level (lower first), then,
 * with `smallestFirst`, fewer GPUs first, then arrival. Waiting jobs are taken in it, and backfilled work gives way
 * only to a job before it (two jobs never evict each other by turns).
 */
export function compareLevelled(a: { job: PendingJob; level: number }, b: { job: PendingJob; level: number }, smallestFirst: boolean): number {
  const x = a.job;
  const y = b.job;
  return (
    y.priority - x.priority ||
    a.level - b.level ||
    (smallestFirst ? jobGpus(x.replicas) - jobGpus(y.replicas) : 0) ||
    x.submittedAtMs - y.submittedAtMs ||
    x.seq - y.seq ||
    (x.uid < y.uid ? -1 : x.uid > y.uid ? 1 : 0)
  );
}

/** GPUs a job holds while it runs, counting shared GPUs by their share. */
export function jobGpus(replicas: readonly ReplicaRequest[]): number {
  let g = 0;
  for (const r of replicas) g += r.gpus > 0 ? r.gpus : (r.gpuMilli ?? 0) / 1000;
  return g;
}
