import { it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { describeEachStoreBackend, describeUpgradeFixtures, type TestStoreBackend } from "@switchyard/store/testing";
import { migrations, type ServingDatabase } from "./schema.js";
import { ServingStore, type DeploymentRow, type ModelRow, type ReplicaRow, type RevisionRow } from "./serving-store.js";

/** Milliseconds past 2^31. */
const T = 1_733_000_000_000;
const deployment = (uid: string, name: string, o: Partial<DeploymentRow> = {}): DeploymentRow => ({
  uid, name, team: "vision", owner: "ann", owner_teams: JSON.stringify(["vision"]), owner_role: "member", source: "switchyard/v1", created_at: T, deleting: 0, last_active_at: T, ...o,
});
const revision = (uid: string, number: number, o: Partial<RevisionRow> = {}): RevisionRow => ({
  deployment_uid: uid, number, spec: "{}", manifest: "kind: Deployment", model_uri: "file:///m.onnx", model_file: "", model_checksum: "sha256:00", state: "Active", traffic: 100, desired: 1, created_at: T, draining_since: null, ...o,
});
const replica = (id: string, createdAt: number): ReplicaRow => ({ id, deployment_uid: "d1", revision: 1, team: "vision", job_name: `job-${id}`, job_uid: "", state: "Pending", socket: "", created_at: createdAt, stop_requested_at: null });
const model = (version: number, o: Partial<ModelRow> = {}): ModelRow => ({
  team: "vision", name: "resnet", version, source: "job://train", source_job_uid: "j1", checksum: "sha256:00", size_bytes: 3 * 2 ** 31, metrics: "{}", file: `m-${version}.onnx`, created_at: T, registered_by: "ann", description: "", ...o,
});

async function open(backend: TestStoreBackend, t: TestContext): Promise<ServingStore> {
  const database = await backend.fresh();
  t.after(() => database.dispose());
  return new ServingStore(await database.open(migrations));
}

describeEachStoreBackend("serving store contract", (backend) => {
  it("round-trips deployments, revisions and replicas, and refuses a taken name by its constraint", async (t) => {
    const store = await open(backend, t);
    await store.insertDeployment(deployment("d1", "resnet"));
    await assert.rejects(store.insertDeployment(deployment("d2", "resnet", { team: "nlp" })), (e: unknown) => e instanceof SwitchyardError && e.code === Code.AlreadyExists && /a deployment named "resnet" already exists/.test(e.message));
    await store.insertRevision(revision("d1", 1));
    await store.insertRevision(revision("d1", 2, { traffic: 0, state: "Draining", draining_since: T + 2 ** 33 }));
    await store.touch("d1", T + 10);
    await store.touch("d1", T + 5);
    assert.deepEqual(await store.deploymentByUid("d1"), deployment("d1", "resnet", { last_active_at: T + 10 }), "touch only moves forward");
    assert.deepEqual(await store.revisions("d1"), [revision("d1", 1), revision("d1", 2, { traffic: 0, state: "Draining", draining_since: T + 2 ** 33 })]);
    // Replicas in creation order, ties by id: the same order on every database.
    for (const [id, at] of [["r-b", T + 1], ["r-c", T], ["r-a", T + 1]] as const) await store.insertReplica(replica(id, at));
    assert.deepEqual((await store.replicas("d1")).map((r) => r.id), ["r-c", "r-a", "r-b"]);
    await store.updateReplica("r-a", { state: "Ready", job_uid: "j-a", socket: "/s.sock" });
    assert.deepEqual((await store.replicas()).find((r) => r.id === "r-a"), { ...replica("r-a", T + 1), state: "Ready", job_uid: "j-a", socket: "/s.sock" });
  });

  it("keeps nothing of a transaction that throws", async (t) => {
    const store = await open(backend, t);
    await store.insertDeployment(deployment("d1", "resnet"));
    await assert.rejects(store.transaction(async (tx) => {
      await tx.insertRevision(revision("d1", 1));
      await tx.setDeleting("d1");
      throw new Error("refused");
    }), /refused/);
    assert.deepEqual([await store.revisions("d1"), (await store.deployment("resnet"))?.deleting], [[], 0]);
  });

  it("numbers a model's versions from its largest, and a race for one is lost by its primary key", async (t) => {
    const store = await open(backend, t);
    assert.equal(await store.nextModelVersion("vision", "resnet"), 1);
    await store.insertModel(model(1));
    await store.insertModel(model(2, { description: "ünïcode ✓" }));
    assert.equal(await store.nextModelVersion("vision", "resnet"), 3);
    await assert.rejects(store.insertModel(model(2)), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Aborted && /registered meanwhile/.test(e.message));
    assert.deepEqual(await store.model("vision", "resnet", undefined), model(2, { description: "ünïcode ✓" }));
    assert.deepEqual((await store.models("all", "")).map((m) => m.version), [1, 2]);
    assert.deepEqual(await store.models([], ""), []);
  });
});

describeUpgradeFixtures<ServingDatabase>("serving", migrations, new URL("../fixtures/upgrade/", import.meta.url), async (opened) => {
  const store = new ServingStore(opened);
  const d = (await store.deployment("resnet"))!;
  assert.deepEqual([d.uid, d.team, d.created_at, d.last_active_at, d.deleting], ["fx-dep-1", "vision", T, T + 5, 0]);
  assert.deepEqual((await store.revisions("fx-dep-1")).map((r) => [r.number, r.state, r.traffic, r.desired, r.model_uri]), [[1, "Active", 100, 2, "models://vision/resnet/1"]]);
  assert.deepEqual((await store.replicas("fx-dep-1")).map((r) => [r.id, r.state, r.job_uid, r.created_at]), [["fx-rep-1", "Ready", "fx-job-9", T + 1]]);
  const m = (await store.model("vision", "resnet", 1))!;
  assert.deepEqual([m.size_bytes, JSON.parse(m.metrics), m.description], [3 * 2 ** 31, { loss: 0.25 }, "first"]);
  assert.equal(await store.nextModelVersion("vision", "resnet"), 2);
});
