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

/** GPUs a job holds while it runs, counting shared GPUs by their share. */
export function jobGpus(replicas: readonly ReplicaRequest[]): number {
  let g = 0;
  for (const r of replicas) g += r.gpus > 0 ? r.gpus : (r.gpuMilli ?? 0) / 1000;
  return g;
}
