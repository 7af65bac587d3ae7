import { MILLI_BUCKET, WHOLE, type Alloc, type ClusterState, type WholeIndex } from "./cluster-state.js";
import { fragmentationDelta, type ShapeClass } from "./fragmentation.js";
import { resolveGpuTypes } from "./topology.js";
import type { ReplicaRequest } from "./types.js";

/**
 * `best-fit`: the node (or shared GPU) with the least free capacity that fits, replicas of one gang together.
 * `first-fit`: the first node in cluster order that fits (the baseline of the packing experiments).
 * `fgd`: best-fit candidates scored by how much they grow the cluster's fragmentation for the expected workload
 * (Fragmentation Gradient Descent, ATC'23), looking at a few candidates per placement, never at every node.
 */
export type PlacementStrategy = "best-fit" | "first-fit" | "fgd";

export interface PlaceOptions {
  readonly strategy: PlacementStrategy;
  /** The workload's shapes and their weights, for `fgd`. */
  readonly classes?: readonly ShapeClass[];
  /** Candidates scored per replica by `fgd`. */
  readonly candidates?: number;
}

/** Is this replica a share of one GPU (1..999 milli)? */
export function isFractional(r: ReplicaRequest): boolean {
  return r.gpus === 0 && r.gpuMilli !== undefined && r.gpuMilli > 0 && r.gpuMilli < WHOLE;
}

/**
 * Places every replica of a job or none (gang). On success the allocations are applied to `state` and returned in
 * the replicas' order; on failure `state` is left exactly as it was.
 */
export function placeJob(state: ClusterState, replicas: readonly ReplicaRequest[], opts: PlaceOptions): Alloc[] | undefined {
  const order = replicas.map((_, i) => i);
  if (replicas.length > 1) {
    order.sort((a, b) => {
      const x = replicas[a]!;
      const y = replicas[b]!;
      return y.gpus - x.gpus || (y.gpuMilli ?? 0) - (x.gpuMilli ?? 0) || y.cpuMilli - x.cpuMilli || a - b;
    });
  }
  let remaining = 0;
  for (const r of replicas) remaining += r.gpus;
  const out: Alloc[] = new Array<Alloc>(replicas.length);
  const done: Alloc[] = [];
  const gangNodes: number[] = [];
  for (const i of order) {
    const r = replicas[i]!;
    const a = placeReplica(state, r, gangNodes, remaining, opts);
    if (a === undefined) {
      for (let k = done.length - 1; k >= 0; k--) state.release(done[k]!);
      return undefined;
    }
    state.allocate(a);
    done.push(a);
    out[i] = a;
    if (!gangNodes.includes(a.node)) gangNodes.push(a.node);
    remaining -= r.gpus;
  }
  return out;
}

function fitsHost(state: ClusterState, n: number, r: ReplicaRequest): boolean {
  return state.cpuFree[n]! >= r.cpuMilli && state.memFree[n]! >= r.memoryMb;
}

function wholeIndexes(state: ClusterState, types: number[] | undefined): WholeIndex[] {
  return types === undefined ? [state.anyWhole] : types.map((t) => state.typeWhole[t]!);
}

function typeOk(types: number[] | undefined, t: number): boolean {
  return types === undefined || types.includes(t);
}

/** The lowest-numbered whole free GPUs of an accepted type on node n (prefers one type on a mixed node). */
function pickWholeSlots(state: ClusterState, n: number, g: number, types: number[] | undefined): number[] {
  const topo = state.topo;
  const out: number[] = [];
  for (let s = topo.gpuBase[n]!; s < topo.gpuBase[n + 1]! && out.length < g; s++) {
    if (state.gpuFree[s] === WHOLE && typeOk(types, topo.slotType[s]!)) out.push(s);
  }
  return out;
}

function wholeCount(state: ClusterState, n: number, types: number[] | undefined): number {
  if (types === undefined) return state.anyWhole.count[n]!;
  let best = 0;
  for (const t of types) best = Math.max(best, state.typeWhole[t]!.count[n]!);
  return best;
}

interface Candidate {
  node: number;
  slots: number[];
  /** Free capacity left where it lands (smaller is a tighter fit). */
  fit: number;
}

function choose(state: ClusterState, cands: Candidate[], r: ReplicaRequest, milli: number, opts: PlaceOptions): Candidate | undefined {
  if (cands.length <= 1 || opts.strategy !== "fgd" || opts.classes === undefined || opts.classes.length === 0) return cands[0];
  let best: Candidate | undefined;
  let bestScore = Infinity;
  for (const c of cands) {
    const score = fragmentationDelta(state, c.node, c.slots, milli, r.cpuMilli, r.memoryMb, opts.classes);
    if (score < bestScore - 1e-9 || (Math.abs(score - bestScore) <= 1e-9 && best !== undefined && c.fit < best.fit)) {
      best = c;
      bestScore = score;
    }
  }
  return best;
}

function placeReplica(
  state: ClusterState,
  r: ReplicaRequest,
  gangNodes: readonly number[],
  remaining: number,
  opts: PlaceOptions,
): Alloc | undefined {
  const types = resolveGpuTypes(state.topo, r.gpuType);
  if (types !== undefined && types.length === 0) return undefined;
  const limit = opts.strategy === "fgd" ? (opts.candidates ?? 8) : 1;
  let chosen: Candidate | undefined;
  let milli = WHOLE;
  if (r.gpus > 0) {
    chosen = opts.strategy === "first-fit" ? firstFitWhole(state, r, types) : bestWhole(state, r, types, gangNodes, remaining, limit, opts);
  } else if (isFractional(r)) {
    milli = r.gpuMilli!;
    chosen = opts.strategy === "first-fit" ? firstFitShared(state, r, types) : bestShared(state, r, types, limit, opts);
  } else {
    milli = 0;
    chosen = opts.strategy === "first-fit" ? firstFitHost(state, r) : bestHost(state, r, gangNodes, limit, opts);
  }
  if (chosen === undefined) return undefined;
  return { node: chosen.node, slots: chosen.slots, milli, cpuMilli: r.cpuMilli, memoryMb: r.memoryMb };
}

function firstFitWhole(state: ClusterState, r: ReplicaRequest, types: number[] | undefined): Candidate | undefined {
  for (let n = 0; n < state.topo.nodes.length; n++) {
    if (wholeCount(state, n, types) >= r.gpus && fitsHost(state, n, r)) return { node: n, slots: pickWholeSlots(state, n, r.gpus, types), fit: 0 };
  }
  return undefined;
}

function firstFitShared(state: ClusterState, r: ReplicaRequest, types: number[] | undefined): Candidate | undefined {
  const topo = state.topo;
  for (let n = 0; n < topo.nodes.length; n++) {
    if (!fitsHost(state, n, r)) continue;
    for (let s = topo.gpuBase[n]!; s < topo.gpuBase[n + 1]!; s++) {
      if (state.gpuFree[s]! >= r.gpuMilli! && typeOk(types, topo.slotType[s]!)) return { node: n, slots: [s], fit: 0 };
    }
  }
  return undefined;
}

function firstFitHost(state: ClusterState, r: ReplicaRequest): Candidate | undefined {
  for (let n = 0; n < state.topo.nodes.length; n++) if (fitsHost(state, n, r)) return { node: n, slots: [], fit: 0 };
  return undefined;
}

function bestWhole(
  state: ClusterState,
  r: ReplicaRequest,
  types: number[] | undefined,
  gangNodes: readonly number[],
  remaining: number,
  limit: number,
  opts: PlaceOptions,
): Candidate | undefined {
  const g = r.gpus;
  // Replicas of a gang go where the gang already is, when they fit: fewest nodes.
  let best = -1;
  let bestCount = Infinity;
  for (const n of gangNodes) {
    const c = wholeCount(state, n, types);
    if (c >= g && c < bestCount && fitsHost(state, n, r)) [best, bestCount] = [n, c];
  }
  if (best >= 0) return { node: best, slots: pickWholeSlots(state, best, g, types), fit: bestCount - g };
  const indexes = wholeIndexes(state, types);
  const maxG = state.topo.maxGpusPerNode;
  if (g > maxG) return undefined;
  // A node that takes everything the gang still needs (tightest such node), else the emptiest nodes.
  const target = Math.min(Math.max(remaining, g), maxG);
  const cands: Candidate[] = [];
  const scan = (k: number): boolean => {
    for (const idx of indexes) {
      for (const n of idx.buckets.buckets[k] ?? []) {
        if (!fitsHost(state, n, r)) continue;
        cands.push({ node: n, slots: pickWholeSlots(state, n, g, types), fit: k - g });
        if (cands.length >= limit) return true;
      }
    }
    return false;
  };
  for (let k = target; k <= maxG; k++) if (scan(k)) break;
  if (cands.length === 0) for (let k = target - 1; k >= g; k--) if (scan(k)) break;
  return choose(state, cands, r, WHOLE, opts);
}

function bestShared(state: ClusterState, r: ReplicaRequest, types: number[] | undefined, limit: number, opts: PlaceOptions): Candidate | undefined {
  const m = r.gpuMilli!;
  const topo = state.topo;
  const typeList = types ?? topo.typeNames.map((_, t) => t);
  const cands: Candidate[] = [];
  // Shared GPUs already in use, tightest first.
  const first = Math.floor((m - 1) / MILLI_BUCKET);
  outer: for (let b = first; b < (state.typePartial[0]?.buckets.length ?? 0); b++) {
    let bestSlot = -1;
    let bestFree = Infinity;
    for (const t of typeList) {
      for (const s of state.typePartial[t]!.buckets[b]!) {
        const free = state.gpuFree[s]!;
        if (free < m || !fitsHost(state, topo.slotNode[s]!, r)) continue;
        if (limit === 1) {
          if (free < bestFree) [bestSlot, bestFree] = [s, free];
          continue;
        }
        cands.push({ node: topo.slotNode[s]!, slots: [s], fit: free - m });
        if (cands.length >= limit) break outer;
      }
    }
    if (bestSlot >= 0) return { node: topo.slotNode[bestSlot]!, slots: [bestSlot], fit: bestFree - m };
  }
  // Whole free GPUs, on the nodes with the fewest of them.
  const wholeCands = limit === 1 ? 1 : Math.max(2, limit - cands.length);
  let added = 0;
  const indexes = wholeIndexes(state, types);
  scan: for (let k = 1; k <= topo.maxGpusPerNode; k++) {
    for (const idx of indexes) {
      for (const n of idx.buckets.buckets[k] ?? []) {
        if (!fitsHost(state, n, r)) continue;
        cands.push({ node: n, slots: pickWholeSlots(state, n, 1, types), fit: WHOLE * k - m });
        if (++added >= wholeCands) break scan;
      }
    }
  }
  return choose(state, cands, r, m, opts);
}

function bestHost(state: ClusterState, r: ReplicaRequest, gangNodes: readonly number[], limit: number, opts: PlaceOptions): Candidate | undefined {
  for (const n of gangNodes) if (fitsHost(state, n, r)) return { node: n, slots: [], fit: 0 };
  const cands: Candidate[] = [];
  // CPU-only work goes where the fewest GPUs are free, so that it does not strand them.
  const buckets = state.anyWhole.buckets.buckets;
  scan: for (let k = 0; k < buckets.length; k++) {
    for (const n of buckets[k]!) {
      if (!fitsHost(state, n, r)) continue;
      cands.push({ node: n, slots: [], fit: k });
      if (cands.length >= limit) break scan;
    }
  }
  return choose(state, cands, r, 0, opts);
}
