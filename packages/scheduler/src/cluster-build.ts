import { ClusterState, type Alloc } from "./cluster-state.js";
import { compileTopology } from "./topology.js";
import type { NodeInfo, RunningJob } from "./types.js";

/** The cluster with every running job's placement taken out of it; also each running job's allocations. */
export function buildClusterState(nodes: readonly NodeInfo[], running: readonly RunningJob[]): { state: ClusterState; allocs: Map<string, Alloc[]> } {
  const state = new ClusterState(compileTopology(nodes));
  const allocs = new Map<string, Alloc[]>();
  for (const job of running) {
    const list: Alloc[] = [];
    for (const p of job.placement) {
      const a = state.fromPlacement(p);
      if (a === undefined) continue;
      state.allocate(a);
      list.push(a);
    }
    allocs.set(job.uid, list);
  }
  return { state, allocs };
}
