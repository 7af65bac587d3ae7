import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { DeploymentSchema, ModelVersionSchema, Serving, type Deployment } from "@switchyard/api";
import { BIN, cliEnv, type CliResult } from "./test-platform.js";

// The CLI's half of the serving contract: what `serve`, `deployments` and `models` send and how they print the
// answers, with their exit codes. The other half is a stand-in Serving service on a real socket (Connect, as the
// gateway speaks it), because this test is about the CLI alone: the platform's own serving service is exercised end
// to end through `switchyard up` by the platform tests.

const MANIFEST = "apiVersion: switchyard/v1\nkind: Deployment\nmetadata:\n  name: demo\n  team: default\nspec:\n  model: models://demo@1\n";

function deployment(init: MessageInitShape<typeof DeploymentSchema> = {}): Deployment {
  return create(DeploymentSchema, {
    name: "demo", team: "default", owner: "admin", uid: "u-1", createdAt: timestampNow(), manifest: MANIFEST, url: "/v2/models/demo", source: "switchyard/v1/Deployment",
    state: "Ready", readyReplicas: 1, desiredReplicas: 1, traffic: [{ revision: 1, percent: 100, tag: "latest" }],
    revisions: [{ number: 1, modelUri: "models://demo@1", modelChecksum: "sha256:0123456789abcdef", state: "Active", format: "onnx", desiredReplicas: 1, readyReplicas: 1, replicas: [{ job: "demo-r1-0", phase: "Running", ready: true }] }],
    ...init,
  });
}

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

describe("switchyard serve, deployments and models against the Serving API", () => {
  const dir = realpathSync(mkdtempSync(join(tmpdir(), "switchyard-serving-cli-")));
  const requests: Array<{ method: string; request: Record<string, unknown> }> = [];
  let gets = 0;
  let server: Server;
  let env: NodeJS.ProcessEnv;
  const seen = (method: string) => requests.filter((r) => r.method === method).map((r) => r.request);

  before(async () => {
    const routes = (router: ConnectRouter) =>
      router.service(Serving, {
        applyDeployment: (req) => {
          requests.push({ method: "apply", request: { manifest: req.manifest, baseDir: req.baseDir, dryRun: req.dryRun, canary: req.canaryTrafficPercent } });
          if (!req.dryRun) gets = 0;
          return { deployment: deployment({ state: "Progressing", readyReplicas: 0, revisions: [{ number: 1, state: "Active", desiredReplicas: 1, replicas: [{ job: "demo-r1-0", phase: "Queued" }] }] }), outcome: "created", warnings: ["spec.predictor.logger means nothing here"] };
        },
        // Ready at the third look after a change.
        getDeployment: (req) => {
          if (req.name !== "demo") throw new ConnectError(`deployment "${req.name}" not found in your teams`, Code.NotFound);
          return ++gets >= 3 ? deployment() : deployment({ state: "Progressing", readyReplicas: 0, revisions: [{ number: 1, state: "Active", desiredReplicas: 1, replicas: [{ job: "demo-r1-0", phase: "Running" }] }] });
        },
        listDeployments: (req) => {
          requests.push({ method: "list", request: { team: req.team } });
          return { deployments: [deployment()] };
        },
        promoteDeployment: (req) => deployment({ name: req.name }),
        rollbackDeployment: (req) => deployment({ name: req.name }),
        deleteDeployment: (req) => deployment({ name: req.name, state: "Deleting" }),
        registerModel: (req) => {
          requests.push({ method: "register", request: { name: req.name, from: req.from, team: req.team, description: req.description } });
          return create(ModelVersionSchema, { name: req.name, version: 2, team: req.team || "default", source: req.from, checksum: "sha256:feed", sizeBytes: 2048n, metrics: { accuracy: 0.95 }, uri: `models://${req.name}@2`, createdAt: timestampNow() });
        },
        deleteModel: (req) => {
          requests.push({ method: "delete-model", request: { name: req.name, version: req.version, team: req.team } });
          return create(ModelVersionSchema, { name: req.name, version: req.version, team: "default", checksum: "sha256:feed" });
        },
        listModels: (req) => {
          requests.push({ method: "models", request: { name: req.name, team: req.team } });
          return { versions: [create(ModelVersionSchema, { name: "demo", version: 1, team: "default", source: "job://demo-train/model.onnx", sizeBytes: 100n, metrics: { loss: 0.1 }, createdAt: timestampNow() })] };
        },
      });
    server = createServer(connectNodeAdapter({ routes }));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    env = cliEnv(join(dir, "config.yaml"), { SWITCHYARD_URL: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, SWITCHYARD_TOKEN: "t" });
    writeFileSync(join(dir, "model.onnx"), "onnx");
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves a local file by flags: sends the manifest, its directory and the canary; prints what happened and where to send requests", async () => {
    const r = await cli(env, ["serve", "demo", "--model", "./model.onnx", "--replicas", "2", "--canary", "10"], dir);
    assert.equal(r.code, 0, r.stderr);
    const [sent] = seen("apply");
    assert.equal(sent?.["baseDir"], dir);
    assert.equal(sent?.["canary"], 10);
    assert.equal(sent?.["dryRun"], false);
    assert.match(String(sent?.["manifest"]), new RegExp(`^  model: file://${dir}/model\\.onnx\\n  replicas: 2\\n$`, "m"));
    assert.match(r.stdout, /^deployment\/demo created \(revision r1, team default\)\n  traffic: {3}r1 100% \(latest\)\n  inference: POST http:\/\/127\.0\.0\.1:\d+\/v2\/models\/demo\/infer\n$/);
    assert.equal(r.stderr, "warning: spec.predictor.logger means nothing here\n");
  });

  it("takes a custom server's command after `--`, options included", async () => {
    requests.length = 0;
    const r = await cli(env, ["serve", "echo", "--team", "vision", "--custom", "--", "python3", "serve.py", "--port", "9000"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(String(seen("apply")[0]?.["manifest"]), "apiVersion: switchyard/v1\nkind: Deployment\nmetadata:\n  name: echo\n  team: vision\nspec:\n  model:\n    format: custom\n    command:\n      - python3\n    args:\n      - serve.py\n      - --port\n      - \"9000\"\n");
  });

  it("applies a file as it is and waits for a ready replica", async () => {
    requests.length = 0;
    const file = join(dir, "isvc.yaml");
    const text = "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: demo\nspec:\n  predictor:\n    model:\n      modelFormat: {name: onnx}\n      storageUri: models://demo@1\n";
    writeFileSync(file, text);
    const r = await cli(env, ["serve", "-f", "isvc.yaml", "--wait", "--timeout", "30s"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(seen("apply"), [{ manifest: text, baseDir: dir, dryRun: false, canary: undefined }]);
    assert.match(r.stderr, /deployment\/demo ready: revision r1 has 1\/1 replica ready\n$/);
    const again = await cli(env, ["deployments", "apply", "-f", file, "--dry-run"], dir);
    assert.equal(again.code, 0, again.stderr);
    assert.equal(again.stdout, `deployment/demo is valid (dry run, nothing stored): it would be created (revision r1, team default)\n${MANIFEST}`);
  });

  it("refuses an invalid manifest file with its file:line:column, before sending it, exit 2", async () => {
    requests.length = 0;
    writeFileSync(join(dir, "bad.yaml"), "apiVersion: switchyard/v1\nkind: Deployment\nmetadata:\n  name: demo\nspec:\n  model: s3://bucket/model.onnx\n");
    const r = await cli(env, ["serve", "-f", "bad.yaml"], dir);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /bad\.yaml:6:10/);
    assert.match(r.stderr, /s3:\/\//);
    assert.deepEqual(seen("apply"), []);
  });

  it("lists, gets (yaml: the manifest; json: the API's form), describes, promotes, rolls back and deletes", async () => {
    const list = await cli(env, ["deployments", "--team", "default"], dir);
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^NAME\s+TEAM\s+STATE\s+READY\s+REVISIONS\s+AGE\ndemo\s+default\s+Ready\s+1\/1\s+r1 100%\s+\d+s\n$/);
    assert.deepEqual(seen("list").at(-1), { team: "default" });
    assert.equal((await cli(env, ["deployments", "get", "demo", "-o", "yaml"], dir)).stdout, MANIFEST);
    const json = JSON.parse((await cli(env, ["deployments", "get", "demo", "-o", "json"], dir)).stdout) as { name: string; revisions: Array<{ modelChecksum: string }> };
    assert.equal(json.name, "demo");
    assert.equal(json.revisions[0]?.modelChecksum, "sha256:0123456789abcdef");
    const d = await cli(env, ["deployments", "describe", "demo"], dir);
    assert.match(d.stdout, /^r1\s+models:\/\/demo@1\s+onnx\s+sha256:0123456789ab\s+Active\s+1\/1\s+100%/m);
    assert.match(d.stdout, /^r1\s+demo-r1-0\s+Running\s+yes\s+0$/m);
    assert.match((await cli(env, ["deployments", "promote", "demo"], dir)).stdout, /^deployment\/demo promoted: traffic r1 100% \(latest\)\n$/);
    assert.match((await cli(env, ["deployments", "rollback", "demo"], dir)).stdout, /^deployment\/demo rolled back: traffic r1 100% \(latest\)\n$/);
    assert.match((await cli(env, ["deployments", "delete", "demo"], dir)).stdout, /^deployment\/demo deleted: new requests are refused/);
    const missing = await cli(env, ["deployments", "describe", "nope"], dir);
    assert.equal(missing.code, 2);
    assert.equal(missing.stderr, 'error: deployment "nope" not found in your teams\n');
  });

  it("registers a model from a job's artifact and lists a model's versions", async () => {
    const r = await cli(env, ["models", "register", "demo", "--from", "job://demo-train/model.onnx", "--team", "vision", "--description", "first"], dir);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(seen("register"), [{ name: "demo", from: "job://demo-train/model.onnx", team: "vision", description: "first" }]);
    assert.match(r.stdout, /^models:\/\/demo@2 registered \(team vision, from job:\/\/demo-train\/model\.onnx\)\n  checksum: sha256:feed\n  size: {5}2\.0 KiB\n  metrics: {2}accuracy=0\.95\n/);
    const list = await cli(env, ["models", "demo"], dir);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(seen("models"), [{ name: "demo", team: "" }]);
    assert.match(list.stdout, /^demo\s+1\s+default\s+job:\/\/demo-train\/model\.onnx\s+loss=0\.1\s+100 B\s+\d+s$/m);
    const del = await cli(env, ["models", "delete", "demo@1"], dir);
    assert.equal(del.code, 0, del.stderr);
    assert.deepEqual(seen("delete-model"), [{ name: "demo", version: 1, team: "" }]);
    assert.equal(del.stdout, "deleted models://demo@1 (sha256:feed)\n");
    const bad = await cli(env, ["models", "delete", "demo"], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /NAME@VERSION/);
  });

  it("says what is wrong with the arguments before looking for a platform, exit 2", async () => {
    const none = cliEnv(join(dir, "no-config.yaml"));
    const bad = await cli(none, ["serve", "demo", "--model", "s3://bucket/model.onnx"], dir);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /^error: --model s3:\/\/bucket\/model\.onnx: this platform does not read models from s3:\/\//);
    const both = await cli(none, ["serve", "demo", "--model", "./model.onnx", "--replicas", "2", "--max", "3"], dir);
    assert.equal(both.code, 2);
    assert.match(both.stderr, /^error: --replicas is a fixed count; --min and --max autoscale between two counts/);
    const from = await cli(none, ["models", "register", "demo", "--from", "./model.onnx"], dir);
    assert.equal(from.code, 2);
    assert.match(from.stderr, /^error: --from \.\/model\.onnx: a model is registered from a job's artifact, job:\/\/JOB\/PATH/);
    const ok = await cli(none, ["serve", "demo", "--model", "./model.onnx"], dir);
    assert.equal(ok.code, 3, "valid arguments, no platform configured");
  });
});
