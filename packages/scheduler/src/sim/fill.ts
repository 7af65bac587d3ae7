import { invalidArgument } from "@switchyard/core";
import { ClusterState, WHOLE } from "../cluster-state.js";
import { shapeClasses, strandedGpuMilli } from "../fragmentation.js";
import { placeJob, type PlacementStrategy } from "../placement.js";
import { compileTopology } from "../topology.js";
import type { NodeInfo, ReplicaRequest } from "../types.js";
import { simJobGpus, type SimJob } from "./workload.js";

export interface FillOptions {
  /** Jobs in trace order; taken cyclically. */
  readonly jobs: readonly SimJob[];
  readonly nodes: readonly NodeInfo[];
  readonly placement: PlacementStrategy;
}

export interface FillResult {
  /** Jobs offered. */
  offered: number;
  placed: number;
  refused: number;
  /** GPUs asked for in all (shares counted by their fraction): about the cluster's GPU count. */
  requestedGpus: number;
  allocatedGpus: number;
  /** Free GPU capacity that none of the refused jobs could use. */
  strandedGpus: number;
  totalGpus: number;
  decisionsPerSec: number;
}

/**
 * The packing experiment of FGD (ATC'23): jobs arrive in trace order (cycling through the trace) until the GPUs they
 * ask for add up to the cluster's GPU count; each is placed at once or refused, nothing ends. Reports what is
 * allocated and what is stranded. Placement is the scheduler's own (`placeJob`), with the trace's shapes as FGD's
 * expected workload.
 */
export function simulateFill(o: FillOptions): FillResult {
  const topo = compileTopology(o.nodes);
  if (topo.totalGpus === 0) throw invalidArgument("the cluster has no GPUs: the packing experiment needs some", [{ field: "cluster", message: "no GPUs" }]);
  const gpuJobs = o.jobs.filter((j) => simJobGpus(j) > 0);
  if (gpuJobs.length === 0) throw invalidArgument("the trace has no GPU jobs: nothing to pack", [{ field: "trace", message: "no job asks for a GPU" }]);
  const state = new ClusterState(topo);
  const all: ReplicaRequest[] = [];
  for (const j of o.jobs) all.push(...j.replicas);
  const opts = { strategy: o.placement, classes: shapeClasses(state, all) };
  const refused: ReplicaRequest[] = [];
  let requested = 0;
  let offered = 0;
  let placed = 0;
  const t0 = performance.now();
  for (let i = 0; requested < topo.totalGpus; i++) {
    const j = o.jobs[i % o.jobs.length]!;
    requested += simJobGpus(j);
    offered++;
    if (placeJob(state, j.replicas, opts) !== undefined) placed++;
    else refused.push(...j.replicas);
  }
  const ms = performance.now() - t0;
  return {
    offered,
    placed,
    refused: offered - placed,
    requestedGpus: requested,
    allocatedGpus: state.allocatedGpuMilli / WHOLE,
    strandedGpus: strandedGpuMilli(state, refused) / WHOLE,
    totalGpus: topo.totalGpus,
    decisionsPerSec: ms > 0 ? offered / (ms / 1000) : 0,
  };
}
