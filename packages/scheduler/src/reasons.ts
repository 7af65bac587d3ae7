import { ClusterState, WHOLE } from "./cluster-state.js";
import { isFractional } from "./placement.js";
import { compileTopology, resolveGpuTypes } from "./topology.js";
import type { NodeInfo, PendingJob, ReplicaRequest } from "./types.js";

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`;

/** The replica that asks for the most, which is the one a reason talks about. */
function largest(replicas: readonly ReplicaRequest[]): ReplicaRequest {
  let best = replicas[0]!;
  for (const r of replicas) {
    if (r.gpus > best.gpus || (r.gpus === best.gpus && ((r.gpuMilli ?? 0) > (best.gpuMilli ?? 0) || r.cpuMilli > best.cpuMilli))) best = r;
  }
  return best;
}

/** `needs 2 GPUs per replica × 2 replicas (gang)` */
export function describeNeed(job: PendingJob): string {
  const r = largest(job.replicas);
  const type = r.gpuType !== undefined && r.gpuType !== "" ? ` of type ${r.gpuType}` : "";
  let what: string;
  if (r.gpus > 0) what = `${plural(r.gpus, "GPU")}${type}`;
  else if (isFractional(r)) what = `${r.gpuMilli} milli-GPU of one shared GPU${type}`;
  else what = hostNeed(r) ?? "no GPU, CPU or memory (BestEffort)";
  const n = job.replicas.length;
  return n > 1 ? `needs ${what} per replica × ${n} replicas (gang)` : `needs ${what}`;
}

/** `2000 cpuMilli and 512 MB of memory`, naming only what the replica declares; undefined when it declares neither. */
function hostNeed(r: ReplicaRequest): string | undefined {
  const parts = [...(r.cpuMilli > 0 ? [`${r.cpuMilli} cpuMilli`] : []), ...(r.memoryMb > 0 ? [`${r.memoryMb} MB of memory`] : [])];
  return parts.length > 0 ? parts.join(" and ") : undefined;
}

/** What is short on the best node among `nodes` for the host part of `r`: `1000 cpuMilli short (1000 of 2000 free)`. */
function hostShortfall(state: ClusterState, r: ReplicaRequest, nodes: readonly number[]): string {
  let cpu = 0;
  let mem = 0;
  for (const n of nodes) [cpu, mem] = [Math.max(cpu, state.cpuFree[n]!), Math.max(mem, state.memFree[n]!)];
  const out: string[] = [];
  if (r.cpuMilli > cpu) out.push(`${r.cpuMilli - Math.max(0, cpu)} cpuMilli short (needs ${r.cpuMilli}, at most ${Math.max(0, cpu)} free on one node)`);
  if (r.memoryMb > mem) out.push(`${r.memoryMb - Math.max(0, mem)} MB of memory short (needs ${r.memoryMb}, at most ${Math.max(0, mem)} free on one node)`);
  return out.length > 0 ? out.join("; ") : "CPU and memory are free, but not on one node together";
}

/**
 * Why a job can never run on this cluster, even empty; `undefined` when it could. Checked against the cluster's
 * shape, not its current use.
 */
export function neverFits(state: ClusterState, job: PendingJob): string | undefined {
  const topo = state.topo;
  if (job.replicas.length === 0) return "has no replicas to place";
  let gangGpus = 0;
  let gangCpu = 0;
  let gangMem = 0;
  let gangMilli = 0;
  for (const r of job.replicas) {
    const types = resolveGpuTypes(topo, r.gpuType);
    if (types !== undefined && types.length === 0) {
      const known = topo.typeNames.length > 0 ? topo.typeNames.join(", ") : "none";
      return `can never fit: needs GPUs of type ${r.gpuType} and the cluster has none (GPU types: ${known})`;
    }
    const perNode = (n: number): number => (types === undefined ? topo.gpuBase[n + 1]! - topo.gpuBase[n]! : Math.max(...types.map((t) => topo.typeCount[t]![n]!)));
    let maxGpus = 0;
    for (let n = 0; n < topo.nodes.length; n++) maxGpus = Math.max(maxGpus, perNode(n));
    if ((r.gpus > 0 || isFractional(r)) && maxGpus === 0) return `can never fit: needs GPUs and the cluster has none`;
    if (r.gpus > maxGpus) return `can never fit: needs ${plural(r.gpus, "GPU")} on one node and the largest node has ${maxGpus}`;
    if (r.cpuMilli > topo.maxCpuMilli) return `can never fit: needs ${r.cpuMilli} cpuMilli on one node and the largest node has ${topo.maxCpuMilli}`;
    if (r.memoryMb > topo.maxMemoryMb) return `can never fit: needs ${r.memoryMb} MB of memory on one node and the largest node has ${topo.maxMemoryMb}`;
    gangGpus += r.gpus;
    gangCpu += r.cpuMilli;
    gangMem += r.memoryMb;
    gangMilli += isFractional(r) ? r.gpuMilli! : 0;
  }
  const n = job.replicas.length;
  if (gangGpus > topo.totalGpus) return `can never fit: the gang needs ${gangGpus} GPUs in all and the cluster has ${topo.totalGpus}`;
  if (gangMilli > topo.totalGpus * WHOLE) return `can never fit: the gang needs ${gangMilli} milli-GPU in all (${plural(n, "replica")}) and the cluster's ${plural(topo.totalGpus, "GPU")} have ${topo.totalGpus * WHOLE}`;
  if (gangCpu > topo.totalCpuMilli) return `can never fit: the gang needs ${gangCpu} cpuMilli in all (${plural(n, "replica")}) and the cluster has ${topo.totalCpuMilli}`;
  if (gangMem > topo.totalMemoryMb) return `can never fit: the gang needs ${gangMem} MB of memory in all (${plural(n, "replica")}) and the cluster has ${topo.totalMemoryMb}`;
  return undefined;
}

/**
 * Why replicas asking for `replicas` can never run on `nodes` even when nothing else runs, counting only what each
 * declares (0: not requested); `undefined` when they could. For a refusal at submission, before a job waits forever.
 */
export function neverFitsOn(nodes: readonly NodeInfo[], replicas: readonly ReplicaRequest[]): string | undefined {
  return neverFits(new ClusterState(compileTopology(nodes)), { uid: "", name: "", team: "", queue: "", priority: 0, submittedAtMs: 0, seq: 0, replicas: [...replicas] });
}

/** Why a job does not fit now: the resource that binds, and how much of it is free where. */
export function explainUnfit(state: ClusterState, job: PendingJob): string {
  const never = neverFits(state, job);
  if (never !== undefined) return never;
  const topo = state.topo;
  const r = largest(job.replicas);
  const types = resolveGpuTypes(topo, r.gpuType);
  const need = describeNeed(job);
  const onlyNode = topo.nodes.length === 1 ? topo.nodes[0]!.name : undefined;
  const typeWord = types === undefined ? "" : ` ${types.map((t) => topo.typeNames[t]).join("|")}`;
  if (r.gpus > 0) {
    let maxFree = 0;
    let maxNode = -1;
    let freeTotal = 0;
    let total = 0;
    for (let n = 0; n < topo.nodes.length; n++) {
      let free = 0;
      for (let s = topo.gpuBase[n]!; s < topo.gpuBase[n + 1]!; s++) {
        if (types !== undefined && !types.includes(topo.slotType[s]!)) continue;
        total++;
        if (state.gpuFree[s] === WHOLE) free++;
      }
      freeTotal += free;
      if (free > maxFree) [maxFree, maxNode] = [free, n];
    }
    const where =
      onlyNode !== undefined
        ? `${freeTotal} of ${total}${typeWord} GPUs free on node ${onlyNode}`
        : `at most ${maxFree} free on one node${maxNode >= 0 ? ` (${topo.nodes[maxNode]!.name})` : ""}; ${freeTotal} of ${total}${typeWord} GPUs free in the cluster`;
    const gangGpus = job.replicas.reduce((sum, x) => sum + x.gpus, 0);
    if (maxFree >= r.gpus && freeTotal >= gangGpus) {
      const withGpus: number[] = [];
      for (let n = 0; n < topo.nodes.length; n++) {
        let free = 0;
        for (let s = topo.gpuBase[n]!; s < topo.gpuBase[n + 1]!; s++) if ((types === undefined || types.includes(topo.slotType[s]!)) && state.gpuFree[s] === WHOLE) free++;
        if (free >= r.gpus) withGpus.push(n);
      }
      return `${need}; ${where}, but not with enough CPU or memory beside them: ${hostShortfall(state, r, withGpus)}`;
    }
    return `${need}; ${where}`;
  }
  if (isFractional(r)) {
    let best = 0;
    for (let s = 0; s < topo.totalGpus; s++) if (types === undefined || types.includes(topo.slotType[s]!)) best = Math.max(best, state.gpuFree[s]!);
    if (best >= r.gpuMilli!) return `${need}; a GPU has ${best} milli free but not with enough CPU or memory on its node`;
    return `${need}; the most free on one GPU is ${best} milli`;
  }
  return `${need}; ${hostShortfall(state, r, topo.nodes.map((_, n) => n))}`;
}
