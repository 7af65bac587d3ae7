import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { FakeClock, noopLogger } from "@switchyard/core";
import type { ScheduleDecision, ScheduleInput, Scheduler } from "@switchyard/scheduler";
import { parseJobManifest } from "@switchyard/specs";
import type { NewJob } from "./job-rows.js";
import type { JobStore } from "./job-store.js";
import { replicaRequests, SchedulingLoop } from "./scheduling-loop.js";
import { openTestStore } from "./test-harness.js";

// What the loop tells the scheduler besides the store's rows: reservations (the job running jobs were preempted
// for, until it starts), the job each stopping victim was stopped for, preemption counts, and decayed past usage.
// The scheduler here is scripted: what is under test is the loop's bookkeeping, the real scheduler has its own tests.

let store: JobStore;
let close: () => Promise<void>;
before(async () => {
  ({ store, close } = await openTestStore("loop"));
});
after(() => close());

const spec = parseJobManifest("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec:\n  resources: {gpus: 1}\n  command: [x]\n").spec;
const newJob = (uid: string, team: string, at: number): NewJob => ({
  uid, name: uid, team, queue: team, priority: 0, reason: "Submitted", message: "", spec, manifest: "m", source: "switchyard/v1",
  requestId: null, user: "ann", at, event: { type: "Queued", message: "submitted", attempt: 0 },
});

describe("replica requests rounded to what the engine allocates", () => {
  const spec = (resources: string) => parseJobManifest(`apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec:\n  replicas: 2\n  resources: ${resources}\n  command: [x]\n`).spec;
  it("keeps requests as they are for an engine of any amounts (local)", () => {
    assert.deepEqual(replicaRequests(spec("{cpu: 10m, memory: 16Mi, gpus: 0.5}")), [0, 1].map(() => ({ gpus: 0, gpuMilli: 500, cpuMilli: 10, memoryMb: 16 })));
  });
  it("rounds CPUs up to whole ones and a shared GPU up to a whole one for Slurm, so that what is placed is what Slurm holds", () => {
    const slurm = { cpuUnitMilli: 1000, wholeGpus: true };
    assert.deepEqual(replicaRequests(spec("{cpu: 10m, memory: 16Mi, gpus: 0.5}"), slurm), [0, 1].map(() => ({ gpus: 1, cpuMilli: 1000, memoryMb: 16 })));
    assert.deepEqual(replicaRequests(spec("{cpu: 1500m, gpus: 2}"), slurm).map((r) => [r.cpuMilli, r.gpus]), [[2000, 2], [2000, 2]]);
    assert.deepEqual(replicaRequests(spec("{memory: 1Gi}"), slurm).map((r) => r.cpuMilli), [1000, 1000], "a task with no CPU request holds one");
  });
});

describe("scheduling loop: what it passes to the scheduler", () => {
  it("marks the job preemptions were made for as reserved until it starts, and passes preemption counts and past usage", async () => {
    const clock = new FakeClock(10_000_000);
    // A job of team "old" that ran 2 GPU-hours and ended an hour ago: fair share's memory of it.
    await store.insertJob(newJob("done", "old", 1000));
    await store.commit("done", {
      job: { phase: "Succeeded", completion_time: clock.now() - 3600_000 },
      newReplicas: [{ run_id: "done-r0", job_uid: "done", attempt: 1, idx: 0, role: "Worker", node: "n", gpus: [0, 1], gpu_milli: 0, cpu_milli: 0, memory_mb: 0 }],
      replicas: [{ runId: "done-r0", patch: { state: "Succeeded", start_time: clock.now() - 2 * 3600_000, end_time: clock.now() - 3600_000 } }],
    }, clock.now());
    await store.insertJob(newJob("wants", "new", clock.now()));
    await store.commit("wants", { job: { preemptions: 2 } }, clock.now());

    const inputs: ScheduleInput[] = [];
    const script: ScheduleDecision[] = [
      { start: [], preempt: [{ uid: "victim", reason: "preempted", kind: "priority", forUid: "wants" }], waiting: [{ uid: "wants", reason: "preempting", position: 1, cause: { kind: "preempting" } }] },
      { start: [{ uid: "wants", placement: [{ node: "n", gpuIndices: [0], cpuMilli: 0, memoryMb: 0 }] }], preempt: [], waiting: [] },
      { start: [], preempt: [], waiting: [{ uid: "wants", reason: "waiting", position: 1, cause: { kind: "resources" } }] },
    ];
    const scheduler: Scheduler = {
      name: "scripted",
      schedule(input) {
        inputs.push(structuredClone(input));
        return script[inputs.length - 1] ?? { start: [], preempt: [], waiting: [] };
      },
    };
    const preempted: string[] = [];
    const placed: string[] = [];
    const nodes = [{ name: "n", gpus: [{ index: 0, type: "A100" }, { index: 1, type: "A100" }], cpuMilli: 2000, memoryMb: 1024 }];
    const loop = new SchedulingLoop({
      store,
      scheduler,
      nodes: () => nodes,
      queues: () => undefined,
      clock,
      logger: noopLogger,
      preempt: async (uid) => void preempted.push(uid),
      place: async (uid) => void placed.push(uid),
    });
    const cycle = async (): Promise<void> => {
      const n = inputs.length;
      loop.kick();
      for (let i = 0; i < 200 && inputs.length === n; i++) await new Promise((r) => setTimeout(r, 5));
      await new Promise((r) => setTimeout(r, 20));
    };
    await cycle();
    assert.equal(inputs[0]!.pending[0]!.reserved, undefined, "nothing was preempted for it yet");
    assert.equal(inputs[0]!.pending[0]!.preemptions, 2);
    const past = inputs[0]!.usageHistory!;
    assert.ok(Math.abs(past["old"]! - 2 * 3600_000 * 2 ** (-3600_000 / (7 * 24 * 3600_000))) < 1, `decayed GPU-ms of team old: ${past["old"]}`);
    assert.deepEqual(preempted, ["victim"]);
    await cycle();
    assert.equal(inputs[1]!.pending[0]!.reserved, true, "a preemption was made for it: it goes first");
    assert.deepEqual(placed, ["wants"]);
    await cycle();
    assert.equal(inputs[2]!.pending[0]!.reserved, undefined, "started (here the scripted placement did not launch it): no longer reserved");
    loop.close();
  });
});
