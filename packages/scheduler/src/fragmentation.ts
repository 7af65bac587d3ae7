import { WHOLE, type ClusterState } from "./cluster-state.js";
import { resolveGpuTypes } from "./topology.js";
import type { ReplicaRequest } from "./types.js";

/** A kind of replica the workload is expected to contain, with its share of the workload (FGD's "task classes"). */
export interface ShapeClass {
  readonly gpus: number;
  /** Share of one GPU for fractional shapes, 0 otherwise. */
  readonly milli: number;
  readonly cpuMilli: number;
  readonly memoryMb: number;
  readonly types: readonly number[] | undefined;
  readonly weight: number;
}

/**
 * The workload's shapes from a list of replica requests: the `max` most frequent, weights summing to 1.
 * FGD measures fragmentation against the workload the cluster is about to see.
 */
export function shapeClasses(state: ClusterState, replicas: Iterable<ReplicaRequest>, max = 32): ShapeClass[] {
  // Grouped by what they ask of GPUs; CPU and memory are the group's median, so that classes stay few.
  const groups = new Map<string, { r: ReplicaRequest; cpu: number[]; mem: number[] }>();
  let total = 0;
  for (const r of replicas) {
    if (r.gpus === 0 && (r.gpuMilli ?? 0) === 0) continue;
    const key = `${r.gpus}/${r.gpus === 0 ? (r.gpuMilli ?? 0) : 0}/${r.gpuType ?? ""}`;
    let g = groups.get(key);
    if (g === undefined) groups.set(key, (g = { r, cpu: [], mem: [] }));
    g.cpu.push(r.cpuMilli);
    g.mem.push(r.memoryMb);
    total++;
  }
  if (total === 0) return [];
  const top = [...groups.values()].sort((a, b) => b.cpu.length - a.cpu.length).slice(0, max);
  const kept = top.reduce((s, g) => s + g.cpu.length, 0);
  const median = (xs: number[]): number => xs.sort((a, b) => a - b)[xs.length >> 1]!;
  return top.map(({ r, cpu, mem }) => ({
    gpus: r.gpus,
    milli: r.gpus === 0 ? (r.gpuMilli ?? 0) : 0,
    cpuMilli: median(cpu),
    memoryMb: median(mem),
    types: resolveGpuTypes(state.topo, r.gpuType),
    weight: cpu.length / kept,
  }));
}

/** GPU capacity of one node (milli) that a shape cannot use: FGD's fragment measure F_n(m). */
function fragmentFor(c: ShapeClass, cpu: number, mem: number, free: Int32Array | number[], slotType: Int32Array, base: number): number {
  const len = free.length;
  let total = 0;
  for (let i = 0; i < len; i++) total += Math.max(0, free[i]!);
  if (cpu < c.cpuMilli || mem < c.memoryMb) return total;
  if (c.milli > 0) {
    let frag = 0;
    for (let i = 0; i < len; i++) {
      const f = free[i]!;
      if (f <= 0) continue;
      if (f < c.milli || (c.types !== undefined && !c.types.includes(slotType[base + i]!))) frag += f;
    }
    return frag;
  }
  let whole = 0;
  let frag = 0;
  for (let i = 0; i < len; i++) {
    const f = free[i]!;
    if (f <= 0) continue;
    if (f === WHOLE && (c.types === undefined || c.types.includes(slotType[base + i]!))) whole++;
    else frag += f;
  }
  return whole < c.gpus ? total : frag;
}

function nodeFragmentation(classes: readonly ShapeClass[], cpu: number, mem: number, free: Int32Array | number[], slotType: Int32Array, base: number): number {
  let sum = 0;
  for (const c of classes) sum += c.weight * fragmentFor(c, cpu, mem, free, slotType, base);
  return sum;
}

/** How much placing a replica (milli from each of `slots`, plus CPU and memory) on `node` grows its fragmentation. */
export function fragmentationDelta(
  state: ClusterState,
  node: number,
  slots: readonly number[],
  milli: number,
  cpuMilli: number,
  memoryMb: number,
  classes: readonly ShapeClass[],
): number {
  const topo = state.topo;
  const base = topo.gpuBase[node]!;
  const before = state.gpuFree.subarray(base, topo.gpuBase[node + 1]!);
  const after = Array.from(before);
  for (const s of slots) after[s - base]! -= milli;
  const cpu = state.cpuFree[node]!;
  const mem = state.memFree[node]!;
  return (
    nodeFragmentation(classes, cpu - cpuMilli, mem - memoryMb, after, topo.slotType, base) -
    nodeFragmentation(classes, cpu, mem, before, topo.slotType, base)
  );
}

/** Free GPU capacity (milli) in the cluster that none of `shapes` could use: the stranded GPUs of the packing experiment. */
export function strandedGpuMilli(state: ClusterState, shapes: readonly ReplicaRequest[]): number {
  const topo = state.topo;
  const classes = shapeClasses(state, shapes, Number.MAX_SAFE_INTEGER);
  let stranded = 0;
  for (let n = 0; n < topo.nodes.length; n++) {
    const base = topo.gpuBase[n]!;
    const end = topo.gpuBase[n + 1]!;
    const fits = classes.filter((c) => state.cpuFree[n]! >= c.cpuMilli && state.memFree[n]! >= c.memoryMb);
    for (let s = base; s < end; s++) {
      const f = state.gpuFree[s]!;
      if (f <= 0) continue;
      const t = topo.slotType[s]!;
      const usable = fits.some((c) => {
        if (c.types !== undefined && !c.types.includes(t)) return false;
        if (c.milli > 0) return f >= c.milli;
        if (f !== WHOLE) return false;
        let whole = 0;
        for (let x = base; x < end; x++) if (state.gpuFree[x] === WHOLE && (c.types === undefined || c.types.includes(topo.slotType[x]!))) whole++;
        return whole >= c.gpus;
      });
      if (!usable) stranded += f;
    }
  }
  return stranded;
}
