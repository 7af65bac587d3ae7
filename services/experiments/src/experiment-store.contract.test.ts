import { it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { describeEachStoreBackend, describeUpgradeFixtures, type TestStoreBackend } from "@switchyard/store/testing";
import { ExperimentStore, type ExperimentRow, type TrialRow } from "./experiment-store.js";
import { migrations, type ExperimentsDatabase } from "./schema.js";

/** Milliseconds past 2^31. */
const T = 1_733_000_000_000;
const experiment = (uid: string, name: string, o: Partial<ExperimentRow> = {}): ExperimentRow => ({
  uid, name, team: "vision", owner: "ann", owner_teams: JSON.stringify(["vision"]), owner_role: "member", source: "switchyard/v1/Experiment", spec: "{}", manifest: "kind: Experiment",
  base_dir: "", seed: 2 ** 31 - 1, condition: "Created", reason: "", message: "", created_at: T, completed_at: null, deleting: 0, settled: 0, ...o,
});
const trial = (idx: number, o: Partial<TrialRow> = {}): TrialRow => ({
  experiment_uid: "e1", name: `lr-${idx}`, idx, assignment: JSON.stringify({ lr: 0.001 * idx }), budget: null, request_id: `req-${idx}`, job_uid: "", state: "Pending", objective: null,
  metrics: "{}", curve: "[]", message: "", created_at: T + idx, completed_at: null, ...o,
});

async function open(backend: TestStoreBackend, t: TestContext): Promise<ExperimentStore> {
  const database = await backend.fresh();
  t.after(() => database.dispose());
  return new ExperimentStore(await database.open(migrations));
}

describeEachStoreBackend("experiments store contract", (backend) => {
  it("round-trips experiments and trials (reals exact, times past 2^31; more trials than one statement binds), and refuses a name taken in the team", async (t) => {
    const store = await open(backend, t);
    await store.insertExperiment(experiment("e1", "search"));
    await store.insertExperiment(experiment("e2", "search", { team: "nlp" }));
    await assert.rejects(store.insertExperiment(experiment("e3", "search")), (e: unknown) => e instanceof SwitchyardError && e.code === Code.AlreadyExists);
    const trials = Array.from({ length: 2_100 }, (_, i) => trial(i + 1, i === 0 ? { budget: 2.5, objective: 0.1 + 0.2, state: "Succeeded", completed_at: T + 2 ** 33 } : {}));
    await store.insertTrials(trials);
    assert.deepEqual(await store.trials("e1"), trials);
    assert.deepEqual(await store.byUid("e1"), experiment("e1", "search"));
    assert.deepEqual((await store.experiments()).map((e) => `${e.team}/${e.name}`), ["nlp/search", "vision/search"]);
  });

  it("ends an experiment and a trial once, and lists the experiments still to drive in creation order", async (t) => {
    const store = await open(backend, t);
    await store.insertExperiment(experiment("e-late", "b", { created_at: T + 1 }));
    await store.insertExperiment(experiment("e1", "a"));
    await store.insertTrials([trial(1)]);
    await store.updateExperiment("e1", { condition: "Running" });
    await store.updateExperiment("e-late", { condition: "Running" });
    assert.deepEqual((await store.active()).map((e) => e.uid), ["e1", "e-late"]);
    assert.equal(await store.endExperiment("e1", { condition: "Succeeded", completed_at: T + 9 }), true);
    assert.equal(await store.endExperiment("e1", { condition: "Failed" }), false, "it had ended already");
    assert.equal(await store.updateActiveTrial("e1", 1, { state: "Killed" }), true);
    assert.equal(await store.updateActiveTrial("e1", 1, { state: "Running" }), false);
    await store.updateExperiment("e1", { settled: 1 });
    assert.deepEqual((await store.active()).map((e) => e.uid), ["e-late"]);
    await store.removeExperiment("e1");
    assert.deepEqual([await store.byUid("e1"), await store.trials("e1")], [undefined, []]);
  });
});

describeUpgradeFixtures<ExperimentsDatabase>("experiments", migrations, new URL("../fixtures/upgrade/", import.meta.url), async (opened) => {
  const store = new ExperimentStore(opened);
  const e = (await store.experiment("vision", "lr-search"))!;
  assert.deepEqual([e.uid, e.seed, e.condition, e.created_at, e.completed_at], ["fx-exp-1", 1_234_567, "Running", T, null]);
  assert.deepEqual((await store.trials("fx-exp-1")).map((r) => [r.idx, r.state, r.budget, r.objective, r.completed_at, JSON.parse(r.assignment)]), [
    [1, "Succeeded", 3.5, 0.875, T + 101, { lr: 0.01 }],
    [2, "Running", null, null, null, { lr: 0.02 }],
  ]);
  assert.deepEqual((await store.active()).map((x) => x.uid), ["fx-exp-1"]);
});
