import type { NodeInfo } from "./types.js";

/**
 * The cluster's fixed shape, compiled once per `nodes` array (cached by identity, so a caller that passes the same
 * array every cycle pays for it once). GPUs are numbered globally as "slots": node n owns slots
 * `gpuBase[n] .. gpuBase[n+1]-1`.
 */
export interface Topology {
  readonly nodes: readonly NodeInfo[];
  readonly nodeIndex: ReadonlyMap<string, number>;
  readonly gpuBase: Int32Array;
  readonly slotNode: Int32Array;
  readonly slotDevice: Int32Array;
  readonly slotType: Int32Array;
  readonly typeNames: readonly string[];
  readonly typeIds: ReadonlyMap<string, number>;
  /** GPUs of each type on each node: `typeCount[t][n]`. */
  readonly typeCount: readonly Int32Array[];
  readonly maxGpusPerNode: number;
  readonly totalGpus: number;
  readonly totalCpuMilli: number;
  readonly totalMemoryMb: number;
  readonly maxCpuMilli: number;
  readonly maxMemoryMb: number;
}

const cache = new WeakMap<readonly NodeInfo[], Topology>();

export function compileTopology(nodes: readonly NodeInfo[]): Topology {
  const hit = cache.get(nodes);
  if (hit !== undefined) return hit;
  const nodeIndex = new Map<string, number>();
  const typeIds = new Map<string, number>();
  const typeNames: string[] = [];
  let slots = 0;
  for (const n of nodes) slots += n.gpus.length;
  const gpuBase = new Int32Array(nodes.length + 1);
  const slotNode = new Int32Array(slots);
  const slotDevice = new Int32Array(slots);
  const slotType = new Int32Array(slots);
  let s = 0;
  let maxGpusPerNode = 0;
  let totalCpuMilli = 0;
  let totalMemoryMb = 0;
  let maxCpuMilli = 0;
  let maxMemoryMb = 0;
  nodes.forEach((node, n) => {
    if (!nodeIndex.has(node.name)) nodeIndex.set(node.name, n);
    gpuBase[n] = s;
    const sorted = [...node.gpus].sort((a, b) => a.index - b.index);
    for (const g of sorted) {
      let t = typeIds.get(g.type);
      if (t === undefined) {
        t = typeNames.length;
        typeIds.set(g.type, t);
        typeNames.push(g.type);
      }
      slotNode[s] = n;
      slotDevice[s] = g.index;
      slotType[s] = t;
      s++;
    }
    maxGpusPerNode = Math.max(maxGpusPerNode, node.gpus.length);
    totalCpuMilli += node.cpuMilli;
    totalMemoryMb += node.memoryMb;
    maxCpuMilli = Math.max(maxCpuMilli, node.cpuMilli);
    maxMemoryMb = Math.max(maxMemoryMb, node.memoryMb);
  });
  gpuBase[nodes.length] = s;
  const typeCount = typeNames.map(() => new Int32Array(nodes.length));
  for (let i = 0; i < slots; i++) typeCount[slotType[i]!]![slotNode[i]!]!++;
  const topo: Topology = {
    nodes,
    nodeIndex,
    gpuBase,
    slotNode,
    slotDevice,
    slotType,
    typeNames,
    typeIds,
    typeCount,
    maxGpusPerNode,
    totalGpus: slots,
    totalCpuMilli,
    totalMemoryMb,
    maxCpuMilli,
    maxMemoryMb,
  };
  cache.set(nodes, topo);
  return topo;
}

/**
 * The GPU types a request accepts: `undefined` for any type, else the ids of the named types (`A100|H100` lists
 * alternatives). An empty array means none of the named types exists in this cluster.
 */
export function resolveGpuTypes(topo: Topology, gpuType: string | undefined): number[] | undefined {
  if (gpuType === undefined || gpuType.trim() === "") return undefined;
  const ids: number[] = [];
  for (const part of gpuType.split("|")) {
    const id = topo.typeIds.get(part.trim());
    if (id !== undefined && !ids.includes(id)) ids.push(id);
  }
  return ids;
}
