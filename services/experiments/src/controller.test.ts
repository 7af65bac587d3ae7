// The controller against a fake jobs service (jobs finish when the test says, with the metrics it gives) and a real
// SQLite store: parallelism, the trial budget, the goal, the failure budget, early stopping, a revoked grant, and
// crash safety (a submission that landed but whose answer was lost is replayed with the same request id; a new
// controller on the same store carries on without a trial lost or submitted twice).
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, beforeEach, describe, it } from "node:test";
import { Code, FakeClock, SwitchyardError, noopLogger } from "@switchyard/core";
import type { CallContext, GrantInit } from "@switchyard/mesh";
import { openStore } from "@switchyard/store";
import { Controller, EXPERIMENT_LABEL } from "./controller.js";
import { ExperimentStore } from "./experiment-store.js";
import { Experiments } from "./experiments.js";
import type { GrantsPort, JobSeries, JobsPort, TrialJob } from "./ports.js";
import { migrations, type ExperimentsDatabase } from "./schema.js";

interface FakeJob extends TrialJob {
  manifest: string;
  requestId: string;
  series: JobSeries[];
}

class World {
  jobs = new Map<string, FakeJob>();
  byRequest = new Map<string, FakeJob>();
  submissions = 0;
  cancelled: string[] = [];
  loseNextAnswer = false;
  refuse: SwitchyardError | undefined;
  grants = new Map<string, GrantInit>();

  jobsPort: JobsPort = {
    submit: async (manifest, requestId) => {
      if (this.refuse) throw this.refuse;
      this.submissions++;
      let job = this.byRequest.get(requestId);
      if (!job) {
        const uid = `uid-${this.jobs.size + 1}`;
        job = { uid, name: /name: (\S+)/.exec(manifest)?.[1] ?? uid, phase: "Queued", message: "", manifest, requestId, series: [] };
        this.jobs.set(uid, job);
        this.byRequest.set(requestId, job);
      }
      if (this.loseNextAnswer) {
        this.loseNextAnswer = false;
        throw new Error("connection reset");
      }
      return job;
    },
    get: async (uid) => this.jobs.get(uid),
    cancel: async (uid) => {
      this.cancelled.push(uid);
      const j = this.jobs.get(uid);
      if (j && (j.phase === "Queued" || j.phase === "Running")) j.phase = "Cancelled";
    },
    remove: async (uid) => void this.jobs.delete(uid),
    metrics: async (uid) => this.jobs.get(uid)?.series ?? [],
    logs: async () => "",
    artifact: async () => undefined,
  };

  grantsPort: GrantsPort = {
    record: async (g) => void this.grants.set(`${g.team}/${g.label.value}/${g.user}`, g),
    revoke: async (team, _key, value) => {
      const gone = [...this.grants.keys()].filter((k) => k.startsWith(`${team}/${value}/`));
      for (const k of gone) this.grants.delete(k);
      return gone.length;
    },
  };

  /** The value a trial's job was given for `param` (from its rendered command). */
  param(job: FakeJob, param: string): number {
    return Number(new RegExp(`${param}=([-0-9.e]+)`).exec(job.manifest)?.[1]);
  }

  running(): FakeJob[] {
    return [...this.jobs.values()].filter((j) => j.phase === "Queued" || j.phase === "Running");
  }

  /** Runs every queued job and ends it with loss = f(its x), reported over `steps` steps. */
  finishAll(f: (x: number) => number, steps = 1): void {
    for (const j of this.running()) {
      const loss = f(this.param(j, "x"));
      j.series = [{ name: "loss", points: Array.from({ length: steps }, (_, i) => ({ step: i + 1, value: loss })), latest: loss, min: loss, max: loss }];
      j.phase = "Succeeded";
    }
  }
}

const member = { kind: "user", user: "ann", teams: ["vision"], role: "member", via: "gateway" } as const;
const call = { method: "/switchyard.v1.Experiments/CreateExperiment" } as CallContext;

const manifest = (extra: { max?: number; parallel?: number; goal?: number; maxFailed?: number; algorithm?: string } = {}) => `apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: exp, namespace: vision}
spec:
  objective: {type: minimize, objectiveMetricName: loss${extra.goal !== undefined ? `, goal: ${extra.goal}` : ""}}
  algorithm: {algorithmName: ${extra.algorithm ?? "random"}}
  parallelTrialCount: ${extra.parallel ?? 2}
  maxTrialCount: ${extra.max ?? 5}
${extra.maxFailed !== undefined ? `  maxFailedTrialCount: ${extra.maxFailed}\n` : ""}  parameters:
  - {name: x, parameterType: double, feasibleSpace: {min: "0", max: "1"}}
  trialTemplate:
    trialParameters: [{name: x, reference: x}]
    trialSpec:
      apiVersion: switchyard/v1
      kind: Job
      spec: {command: [/bin/echo, "x=\${trialParameters.x}"]}
`;

describe("experiments controller", () => {
  const dir = mkdtempSync(join(tmpdir(), "experiments-controller-"));
  let n = 0;
  let world: World;
  let store: ExperimentStore;
  let clock: FakeClock;
  let experiments: Experiments;
  const controller = () => new Controller({ store, jobs: world.jobsPort, grants: world.grantsPort, clock, logger: noopLogger });

  beforeEach(async () => {
    world = new World();
    clock = new FakeClock(1_000_000);
    store = new ExperimentStore(await openStore<ExperimentsDatabase>({ driver: "sqlite", location: join(dir, `e${n++}.db`), migrations }));
    experiments = new Experiments({ store, grants: world.grantsPort, clock, kick: () => undefined });
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const create = async (m: string) => (await experiments.create({ manifest: m, fileName: "exp.yaml", baseDir: "", dryRun: false }, member, call)).experiment;
  const state = async () => (await store.experiment("vision", "exp"))!;
  const trialRows = async () => store.trials((await state()).uid);

  it("records the owner's grant, runs at most parallelTrialCount trials at once, and ends at maxTrialCount", async () => {
    await create(manifest({ max: 5, parallel: 2 }));
    assert.ok(world.grants.has("vision/exp/ann"), "the grant covers the experiment's jobs");
    const c = controller();
    for (let i = 0; i < 10 && (await state()).condition !== "Succeeded"; i++) {
      await c.reconcileOnce();
      assert.ok(world.running().length <= 2, `${world.running().length} at once`);
      world.finishAll((x) => (x - 0.3) ** 2);
    }
    const e = await state();
    assert.equal(e.condition, "Succeeded");
    assert.equal(e.reason, "MaxTrialsReached");
    assert.equal((await trialRows()).length, 5);
    assert.equal(world.jobs.size, 5);
    assert.ok((await trialRows()).every((t) => t.state === "Succeeded" && t.objective !== null));
    assert.ok([...world.jobs.values()].every((j) => j.manifest.includes(EXPERIMENT_LABEL)), "every trial's job carries the experiment's label");
    assert.equal(world.grants.size, 0, "the grant is given back when the experiment ends");
  });

  it("replays a submission whose answer was lost with the same request id, and a new controller carries on without a duplicate", async () => {
    await create(manifest({ max: 4, parallel: 2 }));
    world.loseNextAnswer = true;
    await controller().reconcileOnce();
    assert.equal(world.jobs.size, 2, "both landed");
    const pending = (await trialRows()).filter((t) => !t.job_uid);
    assert.equal(pending.length, 1, "one answer lost");
    // The process dies; a new one on the same store.
    const again = controller();
    await again.reconcileOnce();
    assert.equal(world.jobs.size, 2, "the replay found the job that had landed");
    assert.ok((await trialRows()).every((t) => t.job_uid), "every trial knows its job");
    for (let i = 0; i < 6 && (await state()).condition === "Running"; i++) {
      world.finishAll((x) => x);
      await again.reconcileOnce();
    }
    assert.equal((await trialRows()).length, 4);
    assert.equal(world.jobs.size, 4);
  });

  it("suggests after a restart exactly what it would have suggested without one", async () => {
    const row = await create(manifest({ max: 6, parallel: 1, algorithm: "tpe" }));
    // The same experiment (same uid and seed) in a second store, driven by a controller that is replaced every pass.
    const world2 = new World();
    const store2 = new ExperimentStore(await openStore<ExperimentsDatabase>({ driver: "sqlite", location: join(dir, `e${n++}.db`), migrations }));
    await store2.insertExperiment(row);
    const steady = controller();
    for (let i = 0; i < 8; i++) {
      await steady.reconcileOnce();
      world.finishAll((x) => (x - 0.7) ** 2);
      await new Controller({ store: store2, jobs: world2.jobsPort, grants: world2.grantsPort, clock, logger: noopLogger }).reconcileOnce();
      world2.finishAll((x) => (x - 0.7) ** 2);
    }
    const a = (await store.trials(row.uid)).map((t) => t.assignment);
    const b = (await store2.trials(row.uid)).map((t) => t.assignment);
    assert.equal(a.length, 6);
    assert.deepEqual(b, a);
  });

  it("ends when the goal is reached and kills the trials still running", async () => {
    await create(manifest({ max: 20, parallel: 3, goal: 0.5 }));
    const c = controller();
    await c.reconcileOnce();
    const [first, ...rest] = world.running();
    first!.series = [{ name: "loss", points: [{ step: 1, value: 0.1 }], latest: 0.1, min: 0.1, max: 0.1 }];
    first!.phase = "Succeeded";
    await c.reconcileOnce();
    const e = await state();
    assert.equal(e.condition, "Succeeded");
    assert.equal(e.reason, "GoalReached");
    assert.deepEqual(world.cancelled.sort(), rest.map((j) => j.uid).sort());
    assert.deepEqual((await trialRows()).map((t) => t.state).sort(), ["Killed", "Killed", "Succeeded"]);
  });

  it("fails when more trials failed than maxFailedTrialCount, and when the owner's grant is gone", async () => {
    await create(manifest({ max: 20, parallel: 2, maxFailed: 1 }));
    const c = controller();
    await c.reconcileOnce();
    for (const j of world.running()) j.phase = "Failed";
    await c.reconcileOnce();
    assert.equal((await state()).reason, "MaxFailedTrialsReached");

    world = new World();
    store = new ExperimentStore(await openStore<ExperimentsDatabase>({ driver: "sqlite", location: join(dir, `e${n++}.db`), migrations }));
    experiments = new Experiments({ store, grants: world.grantsPort, clock, kick: () => undefined });
    await create(manifest({ max: 20, parallel: 1 }));
    const d = controller();
    await d.reconcileOnce();
    world.finishAll((x) => x);
    world.refuse = new SwitchyardError(Code.PermissionDenied, "the experiments acts for ann only under a grant ann gave it, and none is live", { details: [{ field: "grant", message: "no live grant" }] });
    await d.reconcileOnce();
    const e = await state();
    assert.equal(e.condition, "Failed");
    assert.equal(e.reason, "GrantRevoked");
    assert.equal((await trialRows()).length, 2, "nothing more was suggested in the pass that found the grant gone");
  });

  it("a cancel that lands while a pass runs keeps its word: killed trials stay killed, the experiment stays cancelled", async () => {
    await create(manifest({ max: 20, parallel: 2 }));
    const c = controller();
    await c.reconcileOnce();
    for (const j of world.running()) j.phase = "Running";
    // The jobs service answers slowly: the user cancels between the controller's read of the trials and its writes.
    const get = world.jobsPort.get;
    let cancelled = false;
    world.jobsPort.get = async (uid, team) => {
      if (!cancelled) {
        cancelled = true;
        await experiments.cancel("exp", "", member);
      }
      return get(uid, team);
    };
    await c.reconcileOnce();
    world.jobsPort.get = get;
    const e = await state();
    assert.equal(e.condition, "Cancelled");
    assert.deepEqual((await trialRows()).map((t) => t.state), ["Killed", "Killed"]);
    assert.equal((await trialRows()).length, 2, "nothing new was submitted after the cancel");
    await c.reconcileOnce();
    assert.equal(world.running().length, 0, "and their jobs were cancelled");
  });

  it("cancel kills the running trials and their jobs; delete removes the jobs, the grant and the rows", async () => {
    await create(manifest({ max: 20, parallel: 2 }));
    const c = controller();
    await c.reconcileOnce();
    await experiments.cancel("exp", "", member);
    await c.reconcileOnce();
    assert.equal((await state()).condition, "Cancelled");
    assert.equal(world.running().length, 0, "their jobs were cancelled");
    assert.equal((await state()).settled, 0, "settled once a pass sees no job running");
    await c.reconcileOnce();
    assert.equal((await state()).settled, 1);
    await experiments.delete("exp", "", member);
    await c.reconcileOnce();
    assert.equal(await store.experiment("vision", "exp"), undefined);
    assert.equal(world.jobs.size, 0);
    assert.equal(world.grants.size, 0, "the grant went with it");
  });
});
