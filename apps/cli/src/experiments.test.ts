import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliEnv, ROOT, runCli, spawnUp, type CliResult, type UpProcess } from "./test-platform.js";

// Hyperparameter experiments as a user meets them: `switchyard up` (supervisor, control, jobs, serving, experiments,
// gateway) as real processes; every trial is a real job on the local executor, its metrics the `name=value` lines its
// command prints (no sidecar); the CLI creates, describes and lists; REST reads the state.

interface Platform extends UpProcess {
  env: NodeJS.ProcessEnv;
  token: string;
}

interface TrialView {
  name: string;
  job: string;
  state: string;
  objective?: number;
  message: string;
  parameterAssignments: { name: string; value: string }[];
}

interface ExperimentView {
  name: string;
  status: { condition: string; reason: string; message: string; trials: number; trialsSucceeded: number; trialsEarlyStopped: number; trialsFailed: number; currentOptimalTrial?: { bestTrialName: string; parameterAssignments: { name: string; value: string }[] } };
}

describe("experiments: trials are jobs", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-experiments-"));
  let p: Platform;
  const cli = (args: string[]): CliResult => runCli(p.env, args);

  async function rest(method: string, path: string, body?: unknown, token: string | undefined = p.token): Promise<{ status: number; json: Record<string, unknown> }> {
    const res = await fetch(new URL(path, p.url), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 120_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  const experiment = async (name: string) => (await rest("GET", `/v1/experiments/${name}`)).json as unknown as ExperimentView;
  const trials = async (name: string) => ((await rest("GET", `/v1/experiments/${name}/trials`)).json as { trials: TrialView[] }).trials;
  const ended = (name: string, ms?: number) =>
    until(`experiment ${name} to end`, async () => {
      const e = await experiment(name);
      return e.status.condition !== "Running" && e.status.condition !== "Created" ? e : undefined;
    }, ms);
  const create = (name: string, text: string): CliResult => {
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, text);
    return cli(["experiments", "create", "-f", file]);
  };

  before(async () => {
    const env = cliEnv(join(dir, "config.yaml"), { SWITCHYARD_EXPERIMENTS_INTERVAL_MS: "250" });
    const up = await spawnUp(env, ["--data-dir", join(dir, "data"), "--port", "0", "--grace-ms", "1000"]);
    const token = /token: (sy_\S+)/.exec(readFileSync(join(dir, "config.yaml"), "utf8"))![1]!;
    p = Object.assign(up, { env, token });
  });
  after(async () => {
    if (p) {
      const list = (await rest("GET", "/v1/experiments")).json as { experiments?: { name: string; team: string }[] };
      for (const e of list.experiments ?? []) await rest("DELETE", `/v1/experiments/${e.name}?team=${e.team}`);
      await until("every experiment gone", async () => (((await rest("GET", "/v1/experiments")).json as { experiments?: unknown[] }).experiments?.length ? undefined : true), 60_000).catch(() => undefined);
    }
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("searches the demo trainer's learning rate and width to maxTrialCount, 3 at a time, and reports a best trial better than the first", async () => {
    const text = readFileSync(join(ROOT, "examples/demo-train/experiment.yaml"), "utf8").replace("workingDir: .", `workingDir: ${join(ROOT, "examples/demo-train")}`);
    const made = create("demo-tune", text);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    let peak = 0;
    const done = await until("demo-tune to end", async () => {
      const e = await experiment("demo-tune");
      const running = (await trials("demo-tune")).filter((t) => t.state === "Running" || t.state === "Pending").length;
      peak = Math.max(peak, running);
      assert.ok(running <= 3, `${running} trials at once`);
      return e.status.condition === "Succeeded" || e.status.condition === "Failed" ? e : undefined;
    }, 240_000);
    assert.equal(done.status.condition, "Succeeded", done.status.message);
    assert.equal(done.status.reason, "MaxTrialsReached");
    const all = await trials("demo-tune");
    assert.equal(all.length, 6);
    assert.equal(peak, 3, "three trials ran at once");
    assert.ok(all.every((t) => t.state === "Succeeded" && typeof t.objective === "number"), JSON.stringify(all.map((t) => [t.state, t.message])));
    // The first trial suggested (the grid's first point, the smallest learning rate) against the best found.
    const first = all.find((t) => t.parameterAssignments.find((a) => a.name === "lr")?.value === "0.0003" && t.parameterAssignments.find((a) => a.name === "hidden")?.value === "8")!;
    const best = all[0]!;
    assert.equal(done.status.currentOptimalTrial?.bestTrialName, best.name);
    assert.ok(best.objective! < first.objective!, `best ${best.objective} vs first ${first.objective}`);
    const described = cli(["experiments", "describe", "demo-tune"]);
    assert.equal(described.code, 0, described.stderr);
    assert.match(described.stdout, new RegExp(best.name));
  });

  it("takes a Katib Experiment with a PyTorchJob trial template as is, on /usr/bin/python3", async () => {
    const katib = `apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata:
  name: katib-pytorch
  namespace: default
spec:
  objective:
    type: maximize
    goal: 0.99
    objectiveMetricName: accuracy
    additionalMetricNames: [loss]
  algorithm:
    algorithmName: random
  parallelTrialCount: 2
  maxTrialCount: 4
  maxFailedTrialCount: 1
  parameters:
    - name: lr
      parameterType: double
      feasibleSpace: {min: "0.01", max: "0.05"}
    - name: momentum
      parameterType: categorical
      feasibleSpace: {list: ["0.5", "0.9"]}
  trialTemplate:
    primaryContainerName: pytorch
    trialParameters:
      - name: learningRate
        description: Learning rate for the training model
        reference: lr
      - name: momentum
        reference: momentum
    trialSpec:
      apiVersion: kubeflow.org/v1
      kind: PyTorchJob
      spec:
        pytorchReplicaSpecs:
          Master:
            replicas: 1
            restartPolicy: OnFailure
            template:
              spec:
                containers:
                  - name: pytorch
                    image: docker.io/kubeflowkatib/pytorch-mnist-cpu:latest
                    command:
                      - /usr/bin/python3
                      - -c
                      - "import os; lr=float('\${trialParameters.learningRate}'); m=float('\${trialParameters.momentum}'); print(f'epoch=1 loss={1-lr-m/10:.4f} accuracy={lr+m/2:.4f}', flush=True); print('rank', os.environ['RANK'])"
`;
    const made = create("katib-pytorch", katib);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    const done = await ended("katib-pytorch");
    assert.equal(done.status.condition, "Succeeded", done.status.message);
    const all = await trials("katib-pytorch");
    assert.equal(all.length, 4);
    assert.ok(all.every((t) => t.state === "Succeeded"), JSON.stringify(all.map((t) => [t.state, t.message])));
    const lrs = all.map((t) => Number(t.parameterAssignments.find((a) => a.name === "lr")!.value));
    assert.ok(lrs.every((x) => x >= 0.01 && x <= 0.05), String(lrs));
    // Sorted by objective, maximizing: best first.
    for (let i = 1; i < all.length; i++) assert.ok(all[i - 1]!.objective! >= all[i]!.objective!);
    const logs = cli(["logs", all[0]!.job]);
    assert.match(logs.stdout, /rank 0/, "the trial ran with the Kubeflow environment (RANK) as a PyTorchJob does");
  });

  it("stops a clearly worse trial early (medianstop) and records why", async () => {
    const made = create("median", `apiVersion: switchyard/v1
kind: Experiment
metadata: {name: median}
spec:
  objective: {type: minimize, metric: loss}
  algorithm: {name: grid}
  earlyStopping: {name: medianstop, settings: {min_trials_required: "2", start_step: "2"}}
  trials: {parallel: 1, max: 3}
  parameters:
    slope: {type: discrete, list: ["0.1", "0.2", "5"]}
  trial:
    command: [/bin/sh, -c, 'for i in 1 2 3 4 5 6 7 8 9 10; do awk -v s=\${slope} -v i=$i "BEGIN { print \\"loss=\\" s * i }"; sleep 0.3; done']
    resources: {cpu: 0.1, memory: 64Mi}
`);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    const done = await ended("median");
    const all = await trials("median");
    const worst = all.find((t) => t.parameterAssignments[0]!.value === "5")!;
    assert.equal(worst.state, "EarlyStopped", `${worst.state}: ${worst.message}`);
    assert.match(worst.message, /medianstop/);
    assert.equal(all.filter((t) => t.state === "Succeeded").length, 2);
    assert.equal(done.status.trialsEarlyStopped, 1);
  });

  it("refuses bad experiments with exit 2 naming the field and its line, and stores nothing", async () => {
    const base = (over: string) => `apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: bad, namespace: default}
spec:
  objective: {type: minimize, objectiveMetricName: loss${over.startsWith("goal") ? `, ${over}` : ""}}
  algorithm: {algorithmName: random}
  parameters:
  - {name: lr, parameterType: double, feasibleSpace: {min: "${over === "empty" ? "0.1" : "0.01"}", max: "0.1"}}
  trialTemplate:
    trialParameters: [{name: lr, reference: ${over === "reference" ? "learning_rate" : "lr"}}]
    trialSpec:
      apiVersion: switchyard/v1
      kind: Job
      spec: {command: [/bin/echo, "loss=\${trialParameters.lr}"]}
`;
    const cases: [string, RegExp][] = [
      ["reference", /learning_rate/],
      ["empty", /feasibleSpace|min/],
      ["goal: high", /goal/],
    ];
    for (const [over, field] of cases) {
      const r = create(`bad-${over.replace(/\W/g, "")}`, base(over));
      assert.equal(r.code, 2, `${over}: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, field, over);
      assert.match(r.stderr, /:\d+:\d+/, `${over}: a line and column`);
    }
    assert.equal((await rest("GET", "/v1/experiments/bad")).status, 404);
  });

  it("resumes after kill -9 of the experiments service: no trial lost or started twice", async () => {
    const made = create("crash", `apiVersion: switchyard/v1
kind: Experiment
metadata: {name: crash}
spec:
  objective: {type: minimize, metric: loss}
  algorithm: {name: random}
  trials: {parallel: 3, max: 9}
  parameters:
    x: {type: double, min: 0, max: 1}
  trial:
    command: [/bin/sh, -c, 'sleep 1; echo "loss=\${x}"']
    resources: {cpu: 0.1, memory: 64Mi}
`);
    assert.equal(made.code, 0, made.stderr + made.stdout);
    await until("a trial running", async () => ((await trials("crash")).some((t) => t.state === "Running") ? true : undefined));
    const pidOf = () => (JSON.parse(readFileSync(join(dir, "data", "up.json"), "utf8")) as { services: Record<string, number> }).services.experiments;
    const pid = pidOf()!;
    process.kill(pid, "SIGKILL");
    await until("experiments restarted", async () => (pidOf() !== pid && (await rest("GET", "/v1/experiments/crash")).status === 200 ? true : undefined));
    const done = await ended("crash");
    assert.equal(done.status.condition, "Succeeded", done.status.message);
    const all = await trials("crash");
    assert.equal(all.length, 9);
    assert.equal(new Set(all.map((t) => t.job)).size, 9, "each trial its own job");
    const jobs = (await rest("GET", "/v1/jobs?team=default")).json as { jobs: { metadata: { name: string; labels: Record<string, string> } }[] };
    const ofCrash = jobs.jobs.filter((j) => j.metadata.labels["experiments.switchyard.io/experiment"] === "crash");
    assert.equal(ofCrash.length, 9, `jobs of the experiment: ${ofCrash.map((j) => j.metadata.name).join(", ")}`);
  });

  it("keeps submitting a member's trials under their grant after their token stops working, and stops when they are deleted", async () => {
    const made = cli(["token", "create", "--user", "erin", "--team", "default", "--role", "member"]);
    assert.equal(made.code, 0, made.stderr);
    const erin = made.stdout.trim().split("\n").pop()!;
    const manifest = `apiVersion: switchyard/v1
kind: Experiment
metadata: {name: erins}
spec:
  objective: {type: minimize, metric: loss}
  algorithm: {name: random}
  trials: {parallel: 1, max: 50}
  parameters:
    x: {type: double, min: 0, max: 1}
  trial:
    command: [/bin/sh, -c, 'sleep 0.5; echo "loss=\${x}"']
    resources: {cpu: 0.1, memory: 64Mi}
`;
    const r = await rest("POST", "/v1/experiments", { manifest }, erin);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await until("a first trial", async () => ((await trials("erins")).length >= 1 ? true : undefined));
    // Erin's token stops working: her experiment goes on submitting trials as erin, under her grant.
    assert.equal(cli(["token", "revoke", "--user", "erin"]).code, 0);
    assert.equal((await rest("GET", "/v1/experiments/erins", undefined, erin)).status, 401);
    const before = (await trials("erins")).length;
    await until("more trials after the revocation", async () => ((await trials("erins")).filter((t) => t.state === "Succeeded").length >= before + 2 ? true : undefined));
    // Erin is deleted: her grant goes with her; the next submission is refused and the experiment ends.
    assert.equal(cli(["users", "delete", "erin"]).code, 0);
    const done = await ended("erins", 60_000);
    assert.equal(done.status.condition, "Failed");
    assert.equal(done.status.reason, "GrantRevoked", done.status.message);
    assert.ok((await trials("erins")).length < 50);
  });
});
