import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { neverFitsOn } from "./reasons.js";
import type { NodeInfo, ReplicaRequest } from "./types.js";

const node = (gpus: number, cpuMilli: number, memoryMb: number, name = "n1"): NodeInfo => ({ name, gpus: Array.from({ length: gpus }, (_, index) => ({ index, type: "A100" })), cpuMilli, memoryMb });
const rep = (r: Partial<ReplicaRequest>): ReplicaRequest => ({ gpus: 0, cpuMilli: 0, memoryMb: 0, ...r });
const times = (n: number, r: ReplicaRequest): ReplicaRequest[] => Array.from({ length: n }, () => r);

describe("neverFitsOn: what can never run on an inventory, counting only what replicas declare", () => {
  it("names the GPUs a replica asks for against the largest node's", () => {
    assert.equal(neverFitsOn([node(4, 16_000, 65_536)], [rep({ gpus: 99 })]), "can never fit: needs 99 GPUs on one node and the largest node has 4");
  });

  it("adds up a gang's CPU and memory: four replicas of 1 CPU on a 2-CPU machine never fit", () => {
    assert.equal(neverFitsOn([node(0, 2000, 8192)], times(4, rep({ cpuMilli: 1000 }))), "can never fit: the gang needs 4000 cpuMilli in all (4 replicas) and the cluster has 2000");
    assert.equal(neverFitsOn([node(0, 2000, 8192)], times(3, rep({ memoryMb: 4096 }))), "can never fit: the gang needs 12288 MB of memory in all (3 replicas) and the cluster has 8192");
    assert.equal(neverFitsOn([node(0, 4000, 8192)], times(4, rep({ cpuMilli: 1000 }))), undefined, "exactly the machine fits");
  });

  it("counts nothing for what a replica does not declare (BestEffort)", () => {
    assert.equal(neverFitsOn([node(0, 2000, 8192)], times(16, rep({}))), undefined);
  });

  it("refuses GPUs on a machine without any, and shares beyond every GPU's", () => {
    assert.equal(neverFitsOn([node(0, 2000, 8192)], [rep({ gpus: 1 })]), "can never fit: needs GPUs and the cluster has none");
    assert.match(neverFitsOn([node(1, 8000, 8192)], times(3, rep({ gpuMilli: 500 })))!, /^can never fit: the gang needs 1500 milli-GPU in all \(3 replicas\) and the cluster's 1 GPU have 1000$/);
  });

  it("looks at the cluster's shape, spread over nodes", () => {
    const two = [node(4, 8000, 16_384, "a"), node(4, 8000, 16_384, "b")];
    assert.equal(neverFitsOn(two, times(2, rep({ gpus: 4, cpuMilli: 8000 }))), undefined);
    assert.equal(neverFitsOn(two, [rep({ cpuMilli: 9000 })]), "can never fit: needs 9000 cpuMilli on one node and the largest node has 8000");
  });
});
