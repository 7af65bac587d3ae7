import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { ExperimentSchema, ExperimentStatusSchema, Experiments, TrialSchema, type Experiment } from "@switchyard/api";
import { BIN, cliEnv, type CliResult } from "./test-platform.js";

// The CLI's half of the experiments contract: what `experiments …` sends and how it prints the answers, with their exit
// codes. The other half is a stand-in Experiments service on a real socket (Connect, as the gateway speaks it), because
// this test is about the CLI alone: the experiments service itself is exercised end to end through `switchyard up` by
// its own tests.

const NATIVE = "apiVersion: switchyard/v1\nkind: Experiment\nmetadata:\n  name: demo-tune\n";

/** demo-tune, running (or with another status). */
function experiment(status?: MessageInitShape<typeof ExperimentStatusSchema>): Experiment {
  return create(ExperimentSchema, {
    name: "demo-tune", team: "default", owner: "admin", uid: "e-1", createdAt: timestampNow(), manifest: NATIVE, source: "switchyard/v1/Experiment",
    objective: "minimize val_loss", algorithm: "random", parallelTrialCount: 2, maxTrialCount: 6,
    status: status ?? {
      condition: "Running", trials: 3, trialsSucceeded: 2, trialsRunning: 1,
      currentOptimalTrial: { bestTrialName: "demo-tune-aaaa1111", parameterAssignments: [{ name: "lr", value: "0.02" }, { name: "hidden", value: "48" }], observation: { metrics: [{ name: "val_loss", min: "0.0931", max: "1.1", latest: "0.0945" }] } },
    },
  });
}

const TRIALS = [
  create(TrialSchema, { name: "demo-tune-bbbb2222", job: "demo-tune-bbbb2222", state: "Succeeded", parameterAssignments: [{ name: "lr", value: "0.003" }, { name: "hidden", value: "16" }], objective: 0.35, message: "completed" }),
  create(TrialSchema, { name: "demo-tune-aaaa1111", job: "demo-tune-aaaa1111", state: "Succeeded", parameterAssignments: [{ name: "lr", value: "0.02" }, { name: "hidden", value: "48" }], objective: 0.0931, message: "completed" }),
  create(TrialSchema, { name: "demo-tune-cccc3333", job: "demo-tune-cccc3333", state: "Running", parameterAssignments: [{ name: "lr", value: "0.07" }, { name: "hidden", value: "30" }] }),
];

/** Runs the CLI binary without blocking this process (the stand-in service answers from it). */
function cli(env: NodeJS.ProcessEnv, args: string[], cwd: string): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [BIN, ...args], { env, cwd });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    p.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    p.on("close", (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

describe("switchyard experiments against the Experiments API", () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "switchyard-experiments-cli-")));
  const requests: Array<{ method: string; request: Record<string, unknown> }> = [];
  let server: Server;
  let env: NodeJS.ProcessEnv;
  const seen = (method: string) => requests.filter((r) => r.method === method).map((r) => r.request);
  const known = (name: string) => {
    if (name !== "demo-tune") throw new ConnectError(`experiment "${name}" not found in your teams`, Code.NotFound);
  };

  before(async () => {
    const routes = (router: ConnectRouter) =>
      router.service(Experiments, {
        createExperiment: (req) => {
          requests.push({ method: "create", request: { manifest: req.manifest, fileName: req.fileName, baseDir: req.baseDir, dryRun: req.dryRun } });
          if (req.manifest.includes("min: fast")) {
            const details = [{ field: "spec.parameters[0].feasibleSpace.min", message: "is not a number", expected: 'a number such as 0.01, or Katib\'s text "0.01"', got: '"fast"', file: req.fileName, line: 7, column: 30 }];
            throw new ConnectError(`${req.fileName}: the experiment is invalid`, Code.InvalidArgument, { "x-switchyard-error-details": encodeURIComponent(JSON.stringify(details)) });
          }
          return { experiment: experiment({ condition: "Created" }), warnings: ["spec.resumePolicy FromVolume is kept as LongRunning"] };
        },
        getExperiment: (req) => {
          requests.push({ method: "get", request: { name: req.name, team: req.team } });
          known(req.name);
          return experiment();
        },
        listExperiments: (req) => {
          requests.push({ method: "list", request: { team: req.team } });
          return { experiments: [experiment()] };
        },
        listTrials: (req) => {
          known(req.name);
          return { trials: TRIALS };
        },
        cancelExperiment: (req) => {
          requests.push({ method: "cancel", request: { name: req.name, team: req.team } });
          known(req.name);
          return experiment({ condition: "Cancelled", trialsKilled: 1 });
        },
        deleteExperiment: (req) => {
          requests.push({ method: "delete", request: { name: req.name, team: req.team } });
          known(req.name);
          return { deletedJobs: TRIALS.map((t) => t.job) };
        },
      });
    server = createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    env = cliEnv(join(dir, "config.yaml"), { SWITCHYARD_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, SWITCHYARD_TOKEN: "t" });
    mkdirSync(join(dir, "tune"));
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("creates from a file: sends its text, its name and its directory; prints what was made and the warnings", async () => {
    writeFileSync(join(dir, "tune", "experiment.yaml"), NATIVE);
    const r = await cli(env, ["experiments", "create", "-f", "tune/experiment.yaml"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(seen("create"), [{ manifest: NATIVE, fileName: "tune/experiment.yaml", baseDir: join(dir, "tune"), dryRun: false }]);
    assert.equal(r.stdout, "experiment/demo-tune created (team default): minimize val_loss, algorithm random, 2 trials at a time, at most 6\n  follow it: switchyard experiments describe demo-tune\n");
    assert.equal(r.stderr, "warning: spec.resumePolicy FromVolume is kept as LongRunning\n");
    const dry = await cli(env, ["experiment", "create", "-f", "tune/experiment.yaml", "--dry-run"], dir);
    assert.equal(dry.code, 0, dry.stderr);
    assert.equal(seen("create").at(-1)?.["dryRun"], true);
    assert.equal(dry.stdout, `experiment/demo-tune is valid (dry run, nothing stored): team default; minimize val_loss, algorithm random, 2 trials at a time, at most 6\n${NATIVE}`);
  });

  it("refuses an invalid manifest with the service's field errors at file:line:column, exit 2", async () => {
    writeFileSync(join(dir, "bad.yaml"), "apiVersion: kubeflow.org/v1beta1\nkind: Experiment\n...\n      feasibleSpace: {min: fast}\n");
    const r = await cli(env, ["experiments", "create", "-f", "bad.yaml"], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr, 'error: bad.yaml: the experiment is invalid\nbad.yaml:7:30: spec.parameters[0].feasibleSpace.min: is not a number (expected a number such as 0.01, or Katib\'s text "0.01", got "fast")\n');
    const missing = await cli(env, ["experiments", "create", "-f", "nope.yaml"], dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, "error: cannot read nope.yaml: ENOENT\n");
    const team = await cli(env, ["experiments", "create", "-f", "bad.yaml", "--team", "vision"], dir);
    assert.equal(team.code, 2);
    assert.match(team.stderr, /^error: --team cannot be given with create: the file says the team/);
  });

  it("lists (the default), gets, describes and lists trials, passing --team; -o json and yaml are the API's form", async () => {
    const list = await cli(env, ["experiments", "--team", "default"], dir);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+TEAM\s+STATUS\s+TRIALS\s+BEST\s+AGE\ndemo-tune\s+default\s+Running\s+2\/3 of 6\s+0\.0931\s+\d+s\n$/);
    assert.deepEqual(seen("list").at(-1), { team: "default" });
    const items = JSON.parse((await cli(env, ["experiments", "list", "-o", "json"], dir)).stdout) as { items: Array<{ name: string; status: { currentOptimalTrial: { bestTrialName: string } } }> };
    assert.equal(items.items[0]?.status.currentOptimalTrial.bestTrialName, "demo-tune-aaaa1111");
    assert.deepEqual(seen("list").at(-1), { team: "" });
    const yaml = await cli(env, ["experiments", "get", "demo-tune", "-o", "yaml", "--team", "vision"], dir);
    assert.equal(yaml.code, 0, yaml.stderr);
    assert.match(yaml.stdout, /^name: demo-tune\nteam: default\n/);
    assert.match(yaml.stdout, /^ {4}bestTrialName: demo-tune-aaaa1111$/m);
    assert.deepEqual(seen("get").at(-1), { name: "demo-tune", team: "vision" });
    const summary = await cli(env, ["experiments", "get", "demo-tune"], dir);
    assert.match(summary.stdout, /\n {2}best: demo-tune-aaaa1111 \(val_loss=0\.0931\) {2}lr=0\.02 hidden=48\n$/);
    const d = await cli(env, ["experiments", "describe", "demo-tune"], dir);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /^Condition: {3}Running\n/m);
    assert.match(d.stdout, /^Current optimal trial: demo-tune-aaaa1111 \(val_loss=0\.0931\)$/m);
    assert.match(d.stdout, /NAME\s+STATE\s+lr\s+hidden\s+OBJECTIVE\s+WHY-ENDED\ndemo-tune-aaaa1111\s+Succeeded\s+0\.02\s+48\s+0\.0931\s+completed\ndemo-tune-bbbb2222\s+Succeeded\s+0\.003\s+16\s+0\.35\s+completed\ndemo-tune-cccc3333\s+Running\s+0\.07\s+30\s+-\s+-\n/);
    const t = await cli(env, ["experiments", "trials", "demo-tune"], dir);
    assert.match(t.stdout, /^NAME\s+STATE\s+lr\s+hidden\s+OBJECTIVE\s+WHY-ENDED\ndemo-tune-aaaa1111\s/);
    const tj = JSON.parse((await cli(env, ["experiments", "trials", "demo-tune", "-o", "json"], dir)).stdout) as { items: Array<{ name: string; objective?: number; parameterAssignments: unknown[] }> };
    assert.deepEqual(tj.items.map((x) => [x.name, x.objective]), [["demo-tune-bbbb2222", 0.35], ["demo-tune-aaaa1111", 0.0931], ["demo-tune-cccc3333", undefined]]);
  });

  it("cancels and deletes; an unknown experiment is exit 2 with the service's words", async () => {
    const c = await cli(env, ["experiments", "cancel", "demo-tune", "--team", "default"], dir);
    assert.equal(c.code, 0, c.stderr);
    assert.equal(c.stdout, "experiment/demo-tune cancelled: no new trials; 1 running trial was stopped (Killed)\n");
    assert.deepEqual(seen("cancel"), [{ name: "demo-tune", team: "default" }]);
    const del = await cli(env, ["experiments", "delete", "demo-tune"], dir);
    assert.equal(del.code, 0, del.stderr);
    assert.equal(del.stdout, "experiment/demo-tune deleted with its 3 trial jobs: demo-tune-bbbb2222, demo-tune-aaaa1111, demo-tune-cccc3333\n");
    for (const args of [["describe", "nope"], ["get", "nope"], ["trials", "nope"], ["cancel", "nope"], ["delete", "nope"]]) {
      const r = await cli(env, ["experiments", ...args], dir);
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.equal(r.stderr, 'error: experiment "nope" not found in your teams\n');
    }
  });

  it("says what is wrong with the arguments before looking for a platform, exit 2", async () => {
    const none = cliEnv(join(dir, "no-config.yaml"));
    const format = await cli(none, ["experiments", "get", "demo-tune", "-o", "wide"], dir);
    assert.equal(format.code, 2);
    assert.equal(format.stderr, 'error: -o must be one of table, json, yaml (got "wide")\n');
    const noFile = await cli(none, ["experiments", "create"], dir);
    assert.equal(noFile.code, 2);
    assert.match(noFile.stderr, /required option '-f, --file <file>' not specified/);
    const ok = await cli(none, ["experiments", "list"], dir);
    assert.equal(ok.code, 3, "valid arguments, no platform configured");
  });
});
