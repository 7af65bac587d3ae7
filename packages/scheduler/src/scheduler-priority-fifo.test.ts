import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createPriorityFifoScheduler } from "./scheduler-priority-fifo.js";
import { createSwitchyardScheduler } from "./scheduler-switchyard.js";
import { makeJob, makeNodes, makeRunning, replica } from "./testing.js";
import type { ScheduleInput } from "./types.js";

const fifo = createPriorityFifoScheduler();
const input = (over: Partial<ScheduleInput>): ScheduleInput => ({ nowMs: 0, nodes: makeNodes(1, 4), pending: [], running: [], ...over });

describe("priority FIFO scheduler", () => {
  it("starts a job that fits and names the GPUs it gets", () => {
    const d = fifo.schedule(input({ pending: [makeJob("a", [replica(2)])] }));
    assert.deepEqual(d.start, [{ uid: "a", placement: [{ node: "local", gpuIndices: [0, 1], cpuMilli: 1000, memoryMb: 1024 }] }]);
    assert.deepEqual(d.waiting, []);
    assert.deepEqual(d.preempt, []);
  });

  it("starts higher priority first, then earlier submissions", () => {
    const pending = [
      makeJob("late", [replica(2)], { submittedAtMs: 20 }),
      makeJob("early", [replica(2)], { submittedAtMs: 10 }),
      makeJob("urgent", [replica(2)], { submittedAtMs: 30, priority: 5 }),
    ];
    const d = fifo.schedule(input({ pending }));
    assert.deepEqual(d.start.map((s) => s.uid), ["urgent", "early"]);
    assert.equal(d.waiting[0]?.uid, "late");
    assert.equal(d.waiting[0]?.position, 1);
  });

  it("breaks ties in submission time by seq", () => {
    const pending = [makeJob("b", [replica(4)], { submittedAtMs: 5, seq: 2 }), makeJob("a", [replica(4)], { submittedAtMs: 5, seq: 1 })];
    assert.deepEqual(fifo.schedule(input({ pending })).start.map((s) => s.uid), ["a"]);
  });

  it("rejects a gang that cannot be placed whole, and says why", () => {
    const busy = makeRunning(makeJob("busy", [replica(3)]), [{ node: "local", gpuIndices: [0, 1, 2], cpuMilli: 1000, memoryMb: 1024 }]);
    const d = fifo.schedule(input({ running: [busy], pending: [makeJob("gang", [replica(2), replica(2)])] }));
    assert.deepEqual(d.start, []);
    assert.equal(d.waiting[0]?.reason, "needs 2 GPUs per replica × 2 replicas (gang); 1 of 4 GPUs free on node local");
  });

  it("never places part of a gang, even when some replicas would fit", () => {
    const d = fifo.schedule(input({ nodes: makeNodes(2, 8), pending: [makeJob("g", [replica(8), replica(8), replica(8)])] }));
    assert.deepEqual(d.start, []);
    assert.match(d.waiting[0]!.reason, /can never fit: the gang needs 24 GPUs in all and the cluster has 16/);
  });

  it("does not let a job that can never fit hold the queue up", () => {
    const d = fifo.schedule(input({ pending: [makeJob("huge", [replica(16)], { priority: 9 }), makeJob("small", [replica(1)])] }));
    assert.deepEqual(d.start.map((s) => s.uid), ["small"]);
    assert.equal(d.waiting[0]?.reason, "can never fit: needs 16 GPUs on one node and the largest node has 4");
  });

  it("lets a job that does not fit block the jobs behind it (strict FIFO)", () => {
    const busy = makeRunning(makeJob("busy", [replica(2)]), [{ node: "local", gpuIndices: [0, 1], cpuMilli: 1000, memoryMb: 1024 }]);
    const d = fifo.schedule(input({ running: [busy], pending: [makeJob("big", [replica(4)], { priority: 5 }), makeJob("small", [replica(1)])] }));
    assert.deepEqual(d.start, []);
    assert.equal(d.waiting[1]?.reason, "behind job big (priority 5) at position 1, which does not fit yet (strict FIFO)");
    assert.equal(d.waiting[1]?.position, 2);
  });

  it("passes over a job that does not fit when not blocking (best-effort FIFO)", () => {
    const be = createPriorityFifoScheduler({ blocking: false });
    assert.equal(be.name, "best-effort-fifo");
    const busy = makeRunning(makeJob("busy", [replica(2)]), [{ node: "local", gpuIndices: [0, 1], cpuMilli: 1000, memoryMb: 1024 }]);
    const d = be.schedule(input({ running: [busy], pending: [makeJob("big", [replica(4)]), makeJob("small", [replica(1)])] }));
    assert.deepEqual(d.start.map((s) => s.uid), ["small"]);
    assert.deepEqual(d.start[0]?.placement[0]?.gpuIndices, [2]);
  });

  it("shares one GPU between fractional jobs and packs them", () => {
    const pending = [makeJob("a", [replica(0, { gpuMilli: 500 })]), makeJob("b", [replica(0, { gpuMilli: 400 })]), makeJob("c", [replica(0, { gpuMilli: 600 })])];
    const d = fifo.schedule(input({ pending }));
    const gpu = Object.fromEntries(d.start.map((s) => [s.uid, s.placement[0]!]));
    assert.equal(gpu.a?.gpuMilli, 500);
    assert.deepEqual(gpu.a?.gpuIndices, gpu.b?.gpuIndices);
    assert.notDeepEqual(gpu.c?.gpuIndices, gpu.a?.gpuIndices);
  });

  it("honours GPU types, including alternatives", () => {
    const nodes = [...makeNodes(1, 2, { prefix: "t4", type: "T4" }), ...makeNodes(1, 2, { prefix: "a100", type: "A100" })];
    const pending = [makeJob("a", [replica(2, { gpuType: "A100" })]), makeJob("b", [replica(1, { gpuType: "H100|T4" })]), makeJob("c", [replica(1, { gpuType: "H100" })])];
    const d = createPriorityFifoScheduler({ blocking: false }).schedule(input({ nodes, pending }));
    assert.deepEqual(d.start.map((s) => [s.uid, s.placement[0]!.node]), [["a", "a100-0"], ["b", "t4-0"]]);
    assert.match(d.waiting[0]!.reason, /can never fit: needs GPUs of type H100 and the cluster has none \(GPU types: T4, A100\)/);
  });

  it("puts multi-GPU replicas of a gang on as few nodes as possible", () => {
    const nodes = makeNodes(4, 8);
    const busy = makeRunning(makeJob("busy", [replica(4)]), [{ node: "node-0", gpuIndices: [0, 1, 2, 3], cpuMilli: 1000, memoryMb: 1024 }]);
    const d = fifo.schedule(input({ nodes, running: [busy], pending: [makeJob("g", [replica(4), replica(4)])] }));
    const used = new Set(d.start[0]!.placement.map((p) => p.node));
    assert.equal(used.size, 1);
    assert.notEqual([...used][0], "node-0");
  });

  it("packs a small job onto the fullest node that fits (best fit)", () => {
    const nodes = makeNodes(2, 8);
    const busy = makeRunning(makeJob("busy", [replica(6)]), [{ node: "node-1", gpuIndices: [0, 1, 2, 3, 4, 5], cpuMilli: 1000, memoryMb: 1024 }]);
    const d = fifo.schedule(input({ nodes, running: [busy], pending: [makeJob("s", [replica(2)])] }));
    assert.deepEqual(d.start[0]!.placement[0], { node: "node-1", gpuIndices: [6, 7], cpuMilli: 1000, memoryMb: 1024 });
  });

  it("places on the first node that fits with first-fit", () => {
    const ff = createPriorityFifoScheduler({ placement: "first-fit" });
    assert.equal(ff.name, "first-fit");
    const nodes = makeNodes(2, 8);
    const busy = makeRunning(makeJob("busy", [replica(6)]), [{ node: "node-1", gpuIndices: [0, 1, 2, 3, 4, 5], cpuMilli: 1000, memoryMb: 1024 }]);
    const d = ff.schedule(input({ nodes, running: [busy], pending: [makeJob("s", [replica(2)])] }));
    assert.equal(d.start[0]!.placement[0]!.node, "node-0");
  });

  it("counts CPU and memory, not only GPUs", () => {
    const nodes = makeNodes(1, 4, { cpuMilli: 8000 });
    const pending = [makeJob("a", [replica(1, { cpuMilli: 6000 })]), makeJob("b", [replica(1, { cpuMilli: 6000 })])];
    const d = fifo.schedule(input({ nodes, pending }));
    assert.deepEqual(d.start.map((s) => s.uid), ["a"]);
    assert.match(d.waiting[0]!.reason, /needs 1 GPU; 3 of 4 GPUs free on node local, but not with enough CPU or memory beside them: 4000 cpuMilli short \(needs 6000, at most 2000 free on one node\)/);
  });

  it("says how much CPU or memory a CPU job lacks, and never holds back a replica that declares none (BestEffort)", () => {
    const nodes = makeNodes(1, 0, { cpuMilli: 2000, memoryMb: 1024 });
    const busy = makeRunning(makeJob("busy", [replica(0, { cpuMilli: 1500, memoryMb: 1024 })]), [{ node: "local", gpuIndices: [], cpuMilli: 1500, memoryMb: 1024 }]);
    const cpuJob = makeJob("cpu", [replica(0, { cpuMilli: 1000, memoryMb: 0 })]);
    const bestEffort = makeJob("be", [0, 1, 2, 3].map(() => replica(0, { cpuMilli: 0, memoryMb: 0 })));
    for (const s of [fifo, createSwitchyardScheduler()]) {
      const d = s.schedule(input({ nodes, running: [busy], pending: [cpuJob, bestEffort] }));
      assert.equal(d.waiting[0]!.reason, "needs 1000 cpuMilli; 500 cpuMilli short (needs 1000, at most 500 free on one node)", s.name);
      if (s.name === "switchyard") assert.deepEqual(d.start.map((x) => x.uid), ["be"], "four replicas that declare nothing start on a full node");
    }
  });

  it("does not give out GPUs that running jobs hold", () => {
    const busy = makeRunning(makeJob("busy", [replica(0, { gpuMilli: 700 })]), [{ node: "local", gpuIndices: [0], gpuMilli: 700, cpuMilli: 1000, memoryMb: 1024 }]);
    const d = fifo.schedule(input({ running: [busy], pending: [makeJob("w", [replica(4)]), makeJob("s", [replica(0, { gpuMilli: 300 })])] }));
    assert.deepEqual(d.start, []);
    const be = createPriorityFifoScheduler({ blocking: false }).schedule(input({ running: [busy], pending: [makeJob("w", [replica(4)]), makeJob("s", [replica(0, { gpuMilli: 300 })])] }));
    assert.deepEqual(be.start.map((s) => [s.uid, s.placement[0]!.gpuIndices]), [["s", [0]]]);
  });
});
