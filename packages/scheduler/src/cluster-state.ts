import { BucketSet } from "./bucket-set.js";
import type { Topology } from "./topology.js";
import type { ReplicaPlacement } from "./types.js";

/** Width of a free-milli bucket of the shared-GPU index. */
export const MILLI_BUCKET = 50;
const MILLI_BUCKETS = Math.ceil(999 / MILLI_BUCKET);
export const WHOLE = 1000;

/** One replica's allocation in slot terms. `milli` is taken from each slot (1000 for whole GPUs). */
export interface Alloc {
  node: number;
  slots: number[];
  milli: number;
  cpuMilli: number;
  memoryMb: number;
}

/** Whole-GPU free counts per node, bucketed by count, for one GPU type (or all types). */
export interface WholeIndex {
  readonly count: Int32Array;
  readonly buckets: BucketSet;
}

/**
 * Free capacity of the cluster, indexed so that a placement looks at a handful of nodes, not all of them:
 * nodes bucketed by free whole GPUs (per type and for any type), shared GPUs bucketed by free milli.
 * Mutated by allocate/release; a trial placement is undone by releasing what it allocated.
 */
export class ClusterState {
  readonly cpuFree: Float64Array;
  readonly memFree: Float64Array;
  /** Free milli per GPU slot (1000 = whole GPU free). */
  readonly gpuFree: Int32Array;
  readonly anyWhole: WholeIndex;
  readonly typeWhole: WholeIndex[];
  /** Partly used GPUs per type, bucketed by free milli. */
  readonly typePartial: BucketSet[];
  /** Bumped whenever capacity is released (failure caches keyed on it stay valid while it does not move). */
  releaseEpoch = 0;
  allocatedGpuMilli = 0;

  constructor(readonly topo: Topology) {
    const n = topo.nodes.length;
    const slots = topo.totalGpus;
    const maxG = topo.maxGpusPerNode;
    this.cpuFree = Float64Array.from(topo.nodes, (x) => x.cpuMilli);
    this.memFree = Float64Array.from(topo.nodes, (x) => x.memoryMb);
    this.gpuFree = new Int32Array(slots).fill(WHOLE);
    this.anyWhole = { count: new Int32Array(n), buckets: new BucketSet(n, maxG + 1) };
    this.typeWhole = topo.typeNames.map(() => ({ count: new Int32Array(n), buckets: new BucketSet(n, maxG + 1) }));
    this.typePartial = topo.typeNames.map(() => new BucketSet(slots, MILLI_BUCKETS));
    for (let i = 0; i < n; i++) {
      const g = topo.gpuBase[i + 1]! - topo.gpuBase[i]!;
      this.anyWhole.count[i] = g;
      this.anyWhole.buckets.set(i, g);
    }
    topo.typeCount.forEach((perNode, t) => {
      const idx = this.typeWhole[t]!;
      for (let i = 0; i < n; i++) {
        const c = perNode[i]!;
        if (c > 0) {
          idx.count[i] = c;
          idx.buckets.set(i, c);
        }
      }
    });
  }

  private setSlotFree(slot: number, after: number): void {
    const before = this.gpuFree[slot]!;
    if (before === after) return;
    this.gpuFree[slot] = after;
    this.allocatedGpuMilli += before - after;
    const t = this.topo.slotType[slot]!;
    const n = this.topo.slotNode[slot]!;
    const delta = (after === WHOLE ? 1 : 0) - (before === WHOLE ? 1 : 0);
    if (delta !== 0) {
      const a = (this.anyWhole.count[n]! += delta);
      this.anyWhole.buckets.set(n, a);
      const idx = this.typeWhole[t]!;
      const c = (idx.count[n]! += delta);
      idx.buckets.set(n, c);
    }
    this.typePartial[t]!.set(slot, after > 0 && after < WHOLE ? Math.floor((after - 1) / MILLI_BUCKET) : -1);
  }

  allocate(a: Alloc): void {
    this.cpuFree[a.node]! -= a.cpuMilli;
    this.memFree[a.node]! -= a.memoryMb;
    for (const s of a.slots) this.setSlotFree(s, this.gpuFree[s]! - a.milli);
  }

  release(a: Alloc): void {
    this.cpuFree[a.node]! += a.cpuMilli;
    this.memFree[a.node]! += a.memoryMb;
    for (const s of a.slots) this.setSlotFree(s, this.gpuFree[s]! + a.milli);
    this.releaseEpoch++;
  }

  /** Turns a running replica's placement into slot terms; `undefined` when it names a node or GPU not in the cluster. */
  fromPlacement(p: ReplicaPlacement): Alloc | undefined {
    const node = this.topo.nodeIndex.get(p.node);
    if (node === undefined) return undefined;
    const slots: number[] = [];
    const base = this.topo.gpuBase[node]!;
    const end = this.topo.gpuBase[node + 1]!;
    for (const dev of p.gpuIndices) {
      let found = -1;
      for (let s = base; s < end; s++) if (this.topo.slotDevice[s] === dev) found = s;
      if (found >= 0) slots.push(found);
    }
    const fractional = p.gpuMilli !== undefined && p.gpuMilli > 0 && p.gpuMilli < WHOLE;
    return { node, slots, milli: fractional ? p.gpuMilli! : WHOLE, cpuMilli: p.cpuMilli, memoryMb: p.memoryMb };
  }

  toPlacement(a: Alloc): ReplicaPlacement {
    const out: ReplicaPlacement = {
      node: this.topo.nodes[a.node]!.name,
      gpuIndices: a.slots.map((s) => this.topo.slotDevice[s]!),
      cpuMilli: a.cpuMilli,
      memoryMb: a.memoryMb,
    };
    if (a.milli < WHOLE) out.gpuMilli = a.milli;
    return out;
  }

  /** Free GPU capacity of a node in milli (whole and shared GPUs together). */
  nodeFreeMilli(node: number): number {
    let sum = 0;
    for (let s = this.topo.gpuBase[node]!; s < this.topo.gpuBase[node + 1]!; s++) sum += Math.max(0, this.gpuFree[s]!);
    return sum;
  }

  totalFreeWhole(): number {
    let sum = 0;
    const b = this.anyWhole.buckets.buckets;
    for (let k = 1; k < b.length; k++) sum += k * b[k]!.length;
    return sum;
  }
}
