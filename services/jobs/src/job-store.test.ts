import { after, before, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseJobManifest } from "@switchyard/specs";
import { describeEachStoreBackend, type TestDatabase } from "@switchyard/store/testing";
import type { NewJob } from "./job-rows.js";
import { JobStore } from "./job-store.js";
import { migrations, type JobsDatabase } from "./schema.js";

const spec = parseJobManifest("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec:\n  resources: {gpus: 2}\n  command: [x]\n").spec;
const newJob = (uid: string, name: string, requestId: string | null = null): NewJob => ({
  uid, name, team: "vision", queue: "default", priority: 0, reason: "Submitted", message: "", spec, manifest: "m", source: "switchyard/v1",
  requestId, user: "ann", at: 1000, event: { type: "Queued", message: "submitted", attempt: 0 },
});

describeEachStoreBackend("JobStore", (backend) => {
  let store: JobStore;
  let database: TestDatabase;
  before(async () => {
    database = await backend.fresh();
    store = new JobStore(await database.open<JobsDatabase>(migrations));
  });
  after(() => database?.dispose());

  it("stores a submission with its first event and reads it back typed", async () => {
    const inserted = await store.insertJob(newJob("u1", "a", "r1"));
    const job = (await store.byUid("u1"))!;
    assert.deepEqual(inserted, job, "the insert returns the row as stored");
    assert.equal(job.phase, "Queued");
    assert.deepEqual(job.spec, spec, "the spec comes back parsed");
    assert.equal(job.waiting, null);
    assert.deepEqual((await store.events("u1")).map((e) => [e.type, e.time, e.replica]), [["Queued", 1000, -1]]);
    assert.equal((await store.byRequestId("r1"))?.uid, "u1");
    assert.deepEqual(await store.queuedKeys(), [{ uid: "u1", seq: job.seq, queued_at: 1000 }]);
    assert.deepEqual(await store.queuedJobs(["u1"]), [{ uid: "u1", name: "a", team: job.team, queue: job.queue, priority: job.priority, created_at: 1000, seq: job.seq, attained_gpu_ms: 0, queued_at: 1000, user: job.user, preemptions: 0, workload_class: "training" }]);
    assert.deepEqual([...(await store.specs(["u1"])).values()], [spec]);
  });

  it("answers ALREADY_EXISTS for a second job of the same name in the team, or the same request id (by constraint code)", async () => {
    for (const dup of [newJob("u2", "a"), newJob("u3", "b", "r1")]) {
      await assert.rejects(store.insertJob(dup), (e: unknown) => e instanceof SwitchyardError && e.code === Code.AlreadyExists && e.message.includes(`job "${dup.name}" already exists in team "vision"`));
    }
    assert.equal(await store.byUid("u2"), undefined);
  });

  it("commits a transition's write in one transaction: job columns, new and changed replicas, events", async () => {
    await store.commit("u1", {
      job: { phase: "Starting", attempt: 1, waiting: null },
      newReplicas: [{ run_id: "u1.a1.r0", job_uid: "u1", attempt: 1, idx: 0, role: "Worker", node: "n", gpus: [0, 1], gpu_milli: 0, cpu_milli: 10, memory_mb: 16 }],
      events: [{ type: "Placed", message: "p", attempt: 1 }],
    }, 2000);
    await store.commit("u1", { replicas: [{ runId: "u1.a1.r0", patch: { state: "Running", pid: 7, start_time: 2100 } }] }, 2100);
    const [r] = await store.replicas("u1", 1);
    assert.deepEqual([r?.state, r?.gpus, r?.pid], ["Running", [0, 1], 7]);
    assert.deepEqual((await store.liveReplicas()).map((x) => x.run_id), ["u1.a1.r0"]);
    assert.equal((await store.byUid("u1"))?.phase, "Starting");
    // A write that fails leaves nothing of itself behind.
    await assert.rejects(store.commit("u1", { job: { phase: "Running" }, newReplicas: [{ run_id: "u1.a1.r0", job_uid: "u1", attempt: 1, idx: 0, role: "Worker", node: "n", gpus: [], gpu_milli: 0, cpu_milli: 0, memory_mb: 0 }] }, 2200));
    assert.equal((await store.byUid("u1"))?.phase, "Starting");
  });

  it("keeps a waiting reason as data, for jobs still queued only", async () => {
    await store.insertJob(newJob("w1", "waits"));
    await store.setWaiting("w1", { kind: "quota", position: 2, text: "queue a is at its gpus quota", queue: "a", resource: "gpus" });
    const job = (await store.byUid("w1"))!;
    assert.equal(job.reason, "Waiting");
    assert.deepEqual(job.waiting, { kind: "quota", position: 2, text: "queue a is at its gpus quota", queue: "a", resource: "gpus" });
    // u1 left the queue (Starting) while a cycle was deciding: its reason is not overwritten.
    const before = (await store.byUid("u1"))!;
    await store.setWaiting("u1", { kind: "resources", position: 1, text: "late" });
    const after = (await store.byUid("u1"))!;
    assert.deepEqual([after.reason, after.waiting], [before.reason, before.waiting]);
    await store.commit("w1", { job: { phase: "Cancelled" } }, 1500);
  });

  it("bumps the queue generation on every write but a submission and waiting reasons, and reads later submissions alone", async () => {
    const g0 = store.queueGeneration;
    const seq1 = (await store.byUid("u1"))!.seq;
    const a = await store.insertJob(newJob("g1", "g1"));
    const b = await store.insertJob(newJob("g2", "g2"));
    await store.setWaitingMany([["g1", { kind: "resources", position: 1, text: "t" }]]);
    assert.equal(store.queueGeneration, g0, "submissions and waiting reasons leave it");
    assert.deepEqual((await store.queuedSince(seq1)).map((j) => j.uid), ["g1", "g2"]);
    assert.deepEqual((await store.queuedSince(a.seq)).map((j) => j.uid), ["g2"]);
    await store.commit("g2", { job: { phase: "Cancelled" } }, 3000);
    assert.ok(store.queueGeneration > g0, "a transition bumps it");
    assert.deepEqual((await store.queuedSince(a.seq)).map((j) => j.uid), [], `${b.uid} is no longer queued`);
  });
});
