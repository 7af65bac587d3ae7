import { it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { Code, type SwitchyardError } from "@switchyard/core";
import { parseJobManifest } from "@switchyard/specs";
import { describeEachStoreBackend, describeUpgradeFixtures, type TestStoreBackend } from "@switchyard/store/testing";
import type { OpenedStore } from "@switchyard/store";
import type { NewJob, NewReplica } from "./job-rows.js";
import { JobStore } from "./job-store.js";
import { MetricsStore } from "./metrics-store.js";
import { QueueConfigStore } from "./queue-config-store.js";
import { migrations, type JobsDatabase } from "./schema.js";
import { SecretStore } from "./secret-store.js";
import type { SecretBox } from "./secret-box.js";

/** Milliseconds past 2^31: every time column is a 64-bit integer on every database. */
const T = 1_733_000_000_000;
const spec = parseJobManifest("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec:\n  resources: {gpus: 2}\n  command: [x]\n").spec;
const newJob = (uid: string, name: string, o: Partial<NewJob> = {}): NewJob => ({
  uid, name, team: "vision", queue: "default", priority: 3, reason: "Submitted", message: "", spec, manifest: "kind: Job", source: "switchyard/v1",
  requestId: null, user: "ann", at: T, event: { type: "Queued", message: "submitted", attempt: 0 }, ...o,
});
const replica = (jobUid: string, idx: number, o: Partial<NewReplica> = {}): NewReplica => ({
  run_id: `${jobUid}.a1.r${idx}`, job_uid: jobUid, attempt: 1, idx, role: "Worker", node: "n1", gpus: [idx], gpu_milli: 0, cpu_milli: 1000, memory_mb: 2048, ...o,
});

async function open(backend: TestStoreBackend, t: TestContext): Promise<OpenedStore<JobsDatabase>> {
  const database = await backend.fresh();
  t.after(() => database.dispose());
  return database.open<JobsDatabase>(migrations);
}

describeEachStoreBackend("jobs store contract", (backend) => {
  it("reads back what it stored with the same JS types on every database, times past 2^31 included", async (t) => {
    const store = new JobStore(await open(backend, t));
    await store.insertJob(newJob("u1", "train", { requestId: "r1" }));
    await store.commit("u1", { job: { phase: "Running", attempt: 1, start_time: T + 10, attained_gpu_ms: 1234.6, master_port: 29500 }, newReplicas: [replica("u1", 0, { gpu_milli: 500 })], events: [{ type: "Started", message: "on n1", attempt: 1, replica: 0 }] }, T + 10);
    await store.commit("u1", { replicas: [{ runId: "u1.a1.r0", patch: { state: "Running", pid: 4242, start_time: T + 11 } }] }, T + 11);
    await store.setDiskUsage("u1", 5 * 2 ** 32, T + 20);
    const { spec: storedSpec, ...job } = (await store.byUid("u1"))!;
    assert.deepEqual(storedSpec, spec);
    assert.deepEqual(job, {
      uid: "u1", name: "train", team: "vision", queue: "default", priority: 3, phase: "Running", reason: "Submitted", message: "", waiting: null, source: "switchyard/v1",
      request_id: "r1", seq: 1, created_at: T, start_time: T + 10, completion_time: null, attempt: 1, cancel_requested: 0, deadline_exceeded: 0, master_port: 29500,
      // A shared GPU's fractional GPU-ms, stored to the millisecond on every database.
      attained_gpu_ms: 1235, user: "ann", retries: 0, preemptions: 0, preemptible: 0, queued_at: T, queued_ms: 0, collected_at: null, disk_bytes: 5 * 2 ** 32,
      disk_measured_at: T + 20, deleted_at: null, workload_class: "training", manifest: "kind: Job",
    });
    assert.deepEqual(await store.replicas("u1", 1), [
      { run_id: "u1.a1.r0", job_uid: "u1", attempt: 1, idx: 0, role: "Worker", state: "Running", node: "n1", gpus: [0], gpu_milli: 500, cpu_milli: 1000, memory_mb: 2048, exit_code: null, pid: 4242, start_time: T + 11, end_time: null, metrics_offset: 0 },
    ]);
    assert.deepEqual(await store.events("u1"), [
      { id: 1, job_uid: "u1", time: T, type: "Queued", message: "submitted", attempt: 0, replica: -1 },
      { id: 2, job_uid: "u1", time: T + 10, type: "Started", message: "on n1", attempt: 1, replica: 0 },
    ]);
    assert.deepEqual(await store.diskUsageByTeam(), new Map([["vision", 5 * 2 ** 32]]), "a sum is a number too");
  });

  it("stores a burst of submissions together: a taken name or request id, in the batch or before it, is ALREADY_EXISTS alone", async (t) => {
    const store = new JobStore(await open(backend, t));
    await store.insertJob(newJob("u0", "taken", { requestId: "r0" }));
    const results = await Promise.allSettled([
      store.insertJob(newJob("u1", "a", { requestId: "r1" })),
      store.insertJob(newJob("u2", "taken")),
      store.insertJob(newJob("u3", "b", { requestId: "r0" })),
      store.insertJob(newJob("u4", "a")),
      store.insertJob(newJob("u5", "c", { requestId: "r5" })),
    ]);
    assert.deepEqual(
      results.map((r) => (r.status === "fulfilled" ? r.value.uid : (r.reason as SwitchyardError).code)),
      ["u1", Code.AlreadyExists, Code.AlreadyExists, Code.AlreadyExists, "u5"],
    );
    assert.deepEqual((await store.active()).map((j) => j.uid), ["u0", "u1", "u5"]);
    assert.deepEqual((await store.events("u5")).map((e) => e.type), ["Queued"], "each stored job has its first event, and only its own");
  });

  it("lists in submission order, finished jobs with no end time first, replicas by job, attempt and index", async (t) => {
    const store = new JobStore(await open(backend, t));
    await store.insertJob(newJob("b1", "same", { team: "b" }));
    await store.insertJob(newJob("a1", "same", { team: "a" }));
    for (const uid of ["c", "d", "e", "f"]) await store.insertJob(newJob(uid, `job-${uid}`));
    assert.deepEqual((await store.find("same", undefined)).map((j) => j.uid), ["b1", "a1"]);
    assert.deepEqual((await store.list({})).map((j) => j.uid), ["b1", "a1", "c", "d", "e", "f"]);
    await store.commit("c", { job: { phase: "Succeeded", completion_time: T + 5 } }, T + 5);
    await store.commit("d", { job: { phase: "Cancelled" } }, T + 6);
    await store.commit("e", { job: { phase: "Failed", completion_time: T + 1 } }, T + 7);
    assert.deepEqual((await store.collectable()).map((j) => j.uid), ["d", "e", "c"], "no completion time sorts first, as on SQLite");
    assert.deepEqual((await store.active()).map((j) => j.uid), ["b1", "a1", "f"]);
    await store.commit("f", { job: { phase: "Starting", attempt: 1 }, newReplicas: [replica("f", 1), replica("f", 0)] }, T + 8);
    await store.commit("b1", { job: { phase: "Starting", attempt: 1 }, newReplicas: [replica("b1", 0)] }, T + 9);
    assert.deepEqual((await store.liveReplicas()).map((r) => r.run_id), ["b1.a1.r0", "f.a1.r0", "f.a1.r1"]);
    assert.deepEqual((await store.allReplicas("f")).map((r) => r.idx), [0, 1]);
  });

  it("looks up more keys than one statement may bind, in slices", async (t) => {
    const store = new JobStore(await open(backend, t));
    await store.insertJob(newJob("k1", "k1"));
    await store.insertJob(newJob("k2", "k2"));
    const many = [...Array.from({ length: 70_000 }, (_, i) => `missing-${i}`), "k2", "k1"];
    assert.deepEqual([...(await store.summaries(many)).keys()].sort(), ["k1", "k2"]);
    assert.equal((await store.specs(many)).size, 2);
    assert.deepEqual((await store.queuedJobs(many)).map((j) => j.uid).sort(), ["k1", "k2"]);
  });

  it("keeps nothing of a write that breaks a foreign key, and says which constraint it was", async (t) => {
    const opened = await open(backend, t);
    const store = new JobStore(opened);
    await store.insertJob(newJob("u1", "one"));
    const err = await store.commit("u1", { job: { phase: "Starting", attempt: 1 }, newReplicas: [replica("ghost", 0)] }, T + 1).then(() => assert.fail("committed"), (e: unknown) => e);
    assert.equal(opened.constraintOf(err), "foreignKey");
    assert.equal((await store.byUid("u1"))?.phase, "Queued");
  });

  it("replaces a job of the same name in one transaction: the old one deleted, its name and request id free", async (t) => {
    const store = new JobStore(await open(backend, t));
    await store.insertJob(newJob("old", "daily", { requestId: "req" }));
    const replaced = await store.insertJob(newJob("new", "daily", { requestId: "req" }), (old, live) => ({ type: "Replaced", message: `replaces ${old.uid} (${live} live)`, attempt: 0 }));
    assert.equal(replaced.uid, "new");
    assert.deepEqual((await store.find("daily", "vision")).map((j) => j.uid), ["new"]);
    assert.equal((await store.byRequestId("req"))?.uid, "new");
    assert.deepEqual((await store.events("new")).map((e) => e.type), ["Queued", "Replaced"]);
    assert.match((await store.byUid("old"))!.name, /^daily \(deleted old\)$/);
  });

  it("numbers queue configurations in order, and keeps metric values as exact doubles", async (t) => {
    const opened = await open(backend, t);
    const configs = new QueueConfigStore(opened.db);
    assert.equal(await configs.latest(), undefined);
    assert.deepEqual([await configs.append("a: 1\n", "ann", T), await configs.append("a: 2\n", "bob", T + 1)], [1, 2]);
    assert.deepEqual(await configs.latest(), { version: 2, yaml: "a: 2\n", appliedAt: T + 1, appliedBy: "bob" });
    const store = new JobStore(opened);
    await store.insertJob(newJob("m", "metrics"));
    await store.commit("m", { job: { attempt: 1 }, newReplicas: [replica("m", 0)] }, T);
    const values = [0.1, 1e300, -2.5e-300, 3];
    await new MetricsStore(opened.db).appendAndAdvance({ runId: "m.a1.r0", jobUid: "m", points: values.map((value) => ({ name: "loss", value })), time: T + 2, maxPoints: 100, offset: 2 ** 33 });
    const [loss] = await new MetricsStore(opened.db).read("m", { maxPoints: 100 });
    assert.deepEqual(loss!.points.map((p) => [p.step, p.value, p.time]), values.map((v, i) => [i, v, T + 2]));
    assert.equal((await store.replica("m.a1.r0"))?.metrics_offset, 2 ** 33);
  });
});

describeUpgradeFixtures<JobsDatabase>("jobs", migrations, new URL("../fixtures/upgrade/", import.meta.url), async (opened) => {
  // A stand-in box: the fixture's sealed values are not opened, only names and times listed.
  const box = { seal: () => assert.fail("not sealed here"), open: () => assert.fail("not opened here") } as unknown as SecretBox;
  const store = new JobStore(opened);
  const job = (await store.byUid("fx-job-1"))!;
  assert.deepEqual([job.name, job.team, job.phase, job.attempt, job.created_at, job.start_time, job.attained_gpu_ms, job.disk_bytes, job.request_id], ["train", "vision", "Running", 1, T, T + 10, 2_000, 5 * 2 ** 32, "fx-req-1"]);
  assert.deepEqual([job.spec.command, job.spec.resources.gpus], [["python", "train.py"], 2]);
  assert.deepEqual((await store.byUid("fx-job-2"))?.waiting, { kind: "resources", position: 1, text: "waiting for 2 GPUs" });
  assert.deepEqual((await store.replicas("fx-job-1", 1)).map((r) => [r.run_id, r.gpus, r.memory_mb, r.metrics_offset]), [["fx-job-1.a1.r0", [0, 1], 16384, 123]]);
  assert.deepEqual((await store.events("fx-job-1")).map((e) => e.type), ["Queued", "Started"]);
  const [loss] = await new MetricsStore(opened.db).read("fx-job-1", { maxPoints: 10 });
  assert.deepEqual([loss?.name, loss?.points.map((p) => p.value)], ["loss", [0.5, 0.25]]);
  assert.deepEqual(await new SecretStore(opened.db, box).list(), [{ team: "vision", name: "wandb", keys: ["api-key"], createdAt: T + 40, updatedAt: T + 40, updatedBy: "ann" }]);
  assert.deepEqual(await new QueueConfigStore(opened.db).latest(), { version: 1, yaml: "queues: []\n", appliedAt: T + 50, appliedBy: "admin" });
  // And it takes new writes after the upgrade.
  await store.insertJob(newJob("after-upgrade", "later"));
  assert.equal((await store.byUid("after-upgrade"))?.seq, 3);
});
