import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { cliEnv, ROOT, runCli, spawnUp, type CliResult, type UpProcess } from "./test-platform.js";

// Train → register → serve → infer, as a user meets it: `switchyard up` (supervisor, control, jobs, serving, gateway)
// as real processes; replicas are real model-server processes run as jobs; requests go through the gateway's one
// port (REST with fetch, gRPC with a /usr/bin/python3 grpcio client generated from the OIP proto at test time).
const PYTHON = "/usr/bin/python3";
const hasGrpcTools = spawnSync(PYTHON, ["-c", "import grpc, grpc_tools"]).status === 0;

interface Platform extends UpProcess {
  env: NodeJS.ProcessEnv;
  token: string;
}

interface InferOutput {
  name: string;
  datatype: string;
  shape: number[];
  data: number[];
}

describe("serving: a trained model behind the gateway", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-serving-"));
  let p: Platform;
  let reference: ort.InferenceSession;
  let job = "";
  const cli = (args: string[]): CliResult => runCli(p.env, args);

  async function rest(method: string, path: string, body?: unknown, token: string | undefined = p.token): Promise<{ status: number; json: Record<string, unknown>; headers: Headers }> {
    const res = await fetch(new URL(path, p.url), {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {}, headers: res.headers };
  }

  async function infer(model: string, rows: number[][], version?: string) {
    const path = `/v2/models/${model}${version ? `/versions/${version}` : ""}/infer`;
    return rest("POST", path, { inputs: [{ name: "input", shape: [rows.length, 2], datatype: "FP32", data: rows.flat() }] });
  }

  async function expected(rows: number[][]): Promise<number[]> {
    const r = await reference.run({ input: new ort.Tensor("float32", new Float32Array(rows.flat()), [rows.length, 2]) });
    return Array.from(r.probabilities!.data as Float32Array);
  }

  async function until<T>(what: string, probe: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
    const end = Date.now() + ms;
    for (;;) {
      const v = await probe();
      if (v !== undefined) return v;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const deployment = async (name: string) => (await rest("GET", `/v1/deployments/${name}`)).json as { state: string; readyReplicas: number; revisions: { number: number; state: string; readyReplicas: number; replicas: { job: string }[] }[]; traffic: { revision: number; percent: number }[] };

  async function trainAndRegister(model: string, seed: number): Promise<{ version: number; checksum: string }> {
    const manifest = readFileSync(join(ROOT, "examples/demo-train/job.yaml"), "utf8").replace('args: [--epochs, "30"]', `args: [--epochs, "3", --seed, "${seed}"]`);
    const file = join(dir, `train-${seed}.yaml`);
    writeFileSync(file, manifest.replace("workingDir: .", `workingDir: ${join(ROOT, "examples/demo-train")}`));
    const s = cli(["submit", file, "--generate-name", "--wait"]);
    assert.equal(s.code, 0, s.stderr + s.stdout);
    const name = /job\/(\S+) submitted/.exec(s.stdout)![1]!;
    const r = await rest("POST", "/v1/models", { name: model, from: `job://${name}/model.onnx` });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    job = name;
    return { version: r.json.version as number, checksum: r.json.checksum as string };
  }

  before(async () => {
    const env = cliEnv(join(dir, "config.yaml"), {
      SWITCHYARD_SERVING_SCALE_TO_ZERO_GRACE_MS: "2000",
      SWITCHYARD_SERVING_STABLE_WINDOW_MS: "4000",
      SWITCHYARD_SERVING_PANIC_WINDOW_MS: "1000",
      SWITCHYARD_SERVING_SCALE_DOWN_DELAY_MS: "2000",
      SWITCHYARD_SERVING_DRAIN_MS: "1000",
      SWITCHYARD_SERVING_POLICY_SETTLE_MS: "500",
    });
    const up = await spawnUp(env, ["--data-dir", join(dir, "data"), "--port", "0", "--grace-ms", "1000"]);
    const token = /token: (sy_\S+)/.exec(readFileSync(join(dir, "config.yaml"), "utf8"))![1]!;
    p = Object.assign(up, { env, token });
  });
  after(async () => {
    // Replicas are jobs, and jobs outlive the platform that started them (the next `up` adopts them): delete the
    // deployments and wait for their replicas to stop before stopping this platform.
    if (p) {
      const list = (await rest("GET", "/v1/deployments")).json as { deployments?: { name: string }[] };
      for (const d of list.deployments ?? []) await rest("DELETE", `/v1/deployments/${d.name}`);
      await until("every deployment gone", async () => (((await rest("GET", "/v1/deployments")).json as { deployments?: unknown[] }).deployments?.length ? undefined : true), 60_000).catch(() => undefined);
    }
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("registers the demo job's model as a version and serves it: REST answers match ONNX Runtime", async () => {
    const { version, checksum } = await trainAndRegister("demo", 42);
    assert.equal(version, 1);
    const out = join(dir, "download");
    assert.equal(cli(["artifacts", job, "--download", out]).code, 0);
    const bytes = readFileSync(join(out, "model.onnx"));
    assert.equal(checksum, `sha256:${createHash("sha256").update(bytes).digest("hex")}`);
    reference = await ort.InferenceSession.create(join(out, "model.onnx"));
    // A quarter of a core each: three replicas and more fit on a 2-core machine beside the training jobs.
    const s = cli(["serve", "demo", "--model", "models://demo@1", "--cpu", "0.25", "--wait"]);
    assert.equal(s.code, 0, s.stderr + s.stdout);
    const rows = [[0.1, 0.2], [-0.5, 0.7], [1, -1]];
    const r = await infer("demo", rows);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    const o = (r.json.outputs as InferOutput[])[0]!;
    assert.equal(o.name, "probabilities");
    assert.deepEqual(o.shape, [3, 3]);
    const want = await expected(rows);
    o.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-6, `element ${i}: ${v} vs ${want[i]}`));
    const meta = await rest("GET", "/v2/models/demo");
    assert.equal(meta.status, 200);
    assert.deepEqual((meta.json.inputs as { name: string; datatype: string; shape: number[] }[])[0], { name: "input", datatype: "FP32", shape: [-1, 2] });
    assert.equal((await rest("GET", "/v2/models/demo/ready")).status, 200);
    // The replicas' and the serving service's series reach the platform's one /metrics.
    const metrics = await (await fetch(new URL("/metrics", p.url), { headers: { authorization: `Bearer ${p.token}` } })).text();
    assert.match(metrics, /switchyard_inference_requests_total\{[^}]*model="demo"[^}]*outcome="ok"[^}]*\} [1-9]/);
    assert.match(metrics, /switchyard_inference_request_duration_seconds_bucket\{[^}]*model="demo"/);
    assert.match(metrics, /switchyard_serving_replicas\{[^}]*deployment="demo"[^}]*state="ready"[^}]*\} 1/);
  });

  it("answers gRPC ModelInfer (raw_input_contents) from a grpcio client generated at test time", { skip: !hasGrpcTools && "python3-grpc-tools is not installed" }, async () => {
    const gen = join(dir, "pygen");
    mkdirSync(gen);
    execFileSync(PYTHON, ["-m", "grpc_tools.protoc", `-I${join(ROOT, "packages/api/proto")}`, `--python_out=${gen}`, `--grpc_python_out=${gen}`, "inference/grpc_predict_v2.proto"], { stdio: "pipe" }).toString();
    const script = `
import json, struct, sys
sys.path.insert(0, ${JSON.stringify(gen)})
import grpc
from inference import grpc_predict_v2_pb2 as pb, grpc_predict_v2_pb2_grpc as rpc
channel = grpc.insecure_channel(${JSON.stringify(new URL(p.url).host)})
stub = rpc.GRPCInferenceServiceStub(channel)
md = [("authorization", "Bearer ${p.token}")]
req = pb.ModelInferRequest(model_name="demo", inputs=[pb.ModelInferRequest.InferInputTensor(name="input", datatype="FP32", shape=[2, 2])])
req.raw_input_contents.append(struct.pack("<4f", 0.1, 0.2, -0.5, 0.7))
res = stub.ModelInfer(req, metadata=md, timeout=30)
out = res.outputs[0]
vals = struct.unpack("<%df" % (len(res.raw_output_contents[0]) // 4), res.raw_output_contents[0])
ready = stub.ModelReady(pb.ModelReadyRequest(name="demo"), metadata=md, timeout=10).ready
try:
    stub.ModelInfer(pb.ModelInferRequest(model_name="nope"), metadata=md, timeout=10)
    missing = "answered"
except grpc.RpcError as e:
    missing = e.code().name
print(json.dumps({"name": out.name, "shape": list(out.shape), "data": vals, "ready": ready, "missing": missing}))
`;
    const r = spawnSync(PYTHON, ["-c", script], { encoding: "utf8", timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const got = JSON.parse(r.stdout) as { name: string; shape: number[]; data: number[]; ready: boolean; missing: string };
    assert.equal(got.name, "probabilities");
    assert.deepEqual(got.shape, [2, 3]);
    const want = await expected([[0.1, 0.2], [-0.5, 0.7]]);
    got.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-6, `element ${i}`));
    assert.equal(got.ready, true);
    assert.equal(got.missing, "NOT_FOUND");
  });

  it("refuses bad requests with the right code and a message naming the input; nothing crashes", async () => {
    const shape = await rest("POST", "/v2/models/demo/infer", { inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] });
    assert.equal(shape.status, 400);
    assert.match(String(shape.json.error), /input/);
    const type = await rest("POST", "/v2/models/demo/infer", { inputs: [{ name: "input", shape: [1, 2], datatype: "INT32", data: [1, 2] }] });
    assert.equal(type.status, 400);
    assert.match(String(type.json.error), /input[\s\S]*FP32|FP32[\s\S]*input/);
    const count = await rest("POST", "/v2/models/demo/infer", { inputs: [{ name: "input", shape: [2, 2], datatype: "FP32", data: [1, 2, 3] }] });
    assert.equal(count.status, 400);
    const unknown = await infer("no-such-model", [[0, 0]]);
    assert.equal(unknown.status, 404);
    assert.ok(unknown.json.error);
    const anon = await rest("POST", "/v2/models/demo/infer", { inputs: [] }, "");
    assert.equal(anon.status, 401);
    const big = await rest("POST", "/v2/models/demo/infer", `{"inputs":[{"name":"input","shape":[1,2],"datatype":"FP32","data":[${"0,".repeat(3_000_000)}0]}]}`);
    assert.equal(big.status, 413);
    // Another team's member sees the same answer as for a model that does not exist.
    const t = cli(["token", "create", "--user", "eve", "--team", "other", "--role", "member"]);
    assert.equal(t.code, 0, t.stderr);
    const eve = t.stdout.trim().split("\n").pop()!;
    const theirs = await rest("POST", "/v2/models/demo/infer", { inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [0, 0] }] }, eve);
    const none = await rest("POST", "/v2/models/no-such-model/infer", { inputs: [{ name: "input", shape: [1, 2], datatype: "FP32", data: [0, 0] }] }, eve);
    assert.equal(theirs.status, 404);
    assert.equal(String(theirs.json.error).replace("demo", "X"), String(none.json.error).replace("no-such-model", "X"));
    // Still serving after all of that.
    assert.equal((await infer("demo", [[0.3, 0.3]])).status, 200);
  });

  it("a job of another team cannot reach a replica's socket: the sandbox shows it no other job's directory", { skip: process.getuid?.() !== 0 && "needs root (jobs run as another account in the sandbox)" }, async () => {
    const replicaJob = (await deployment("demo")).revisions.flatMap((r) => r.replicas).find((r) => r.job)!.job;
    const uid = ((await rest("GET", `/v1/jobs/${replicaJob}`)).json as { metadata: { uid: string } }).metadata.uid;
    const socket = `/var/lib/switchyard/jobs/${uid}/serve.sock`;
    const t = cli(["token", "create", "--user", "mallory", "--team", "other", "--role", "member"]);
    assert.equal(t.code, 0, t.stderr);
    const mallory = t.stdout.trim().split("\n").pop()!;
    const probe = `require("net").connect(${JSON.stringify(socket)}).on("connect", () => { console.log("PROBE connected"); process.exit(0); }).on("error", (e) => { console.log("PROBE " + e.code); process.exit(0); })`;
    const file = join(dir, "probe.yaml");
    writeFileSync(file, `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: probe, team: other}\nspec:\n  command: [node, -e, ${JSON.stringify(probe)}]\n  workingDir: /tmp\n`);
    const r = runCli({ ...p.env, SWITCHYARD_TOKEN: mallory }, ["submit", file, "--follow"]);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /PROBE (ENOENT|EACCES)/);
    // The replica itself is fine: it answers through the gateway.
    assert.equal((await infer("demo", [[0.1, 0.1]])).status, 200);
  });

  it("splits traffic to a canary within ±3% over 2,000 requests, and rolls back and promotes under traffic with no failed request", async () => {
    await trainAndRegister("demo", 7);
    const c = await rest("POST", "/v1/deployments", { manifest: "apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: demo}\nspec:\n  model: models://demo@2\n  resources: {cpu: 0.25}\n", canaryTrafficPercent: 10 });
    assert.equal(c.status, 200, JSON.stringify(c.json));
    assert.equal(c.json.outcome, "new-revision");
    await until("the canary ready", async () => ((await deployment("demo")).revisions.find((r) => r.number === 2)?.readyReplicas ?? 0) > 0 ? true : undefined);
    // The split is written once both revisions are ready; wait until the canary answers.
    await until("the canary answering", async () => ((await infer("demo", [[0, 0]], "2")).status === 200 ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500));
    const by = new Map<string, number>();
    for (let i = 0; i < 2000; i += 20) {
      const batch = await Promise.all(Array.from({ length: 20 }, () => infer("demo", [[0.1, 0.1]])));
      for (const r of batch) {
        assert.equal(r.status, 200, JSON.stringify(r.json));
        const v = String(r.json.model_version);
        by.set(v, (by.get(v) ?? 0) + 1);
      }
    }
    const canaryPct = ((by.get("2") ?? 0) / 2000) * 100;
    assert.ok(Math.abs(canaryPct - 10) <= 3, `canary got ${canaryPct}% (${JSON.stringify([...by])})`);
    // Rollback under traffic: every request answered.
    const load = steadyLoad(() => infer("demo", [[0.2, 0.2]]));
    assert.equal((await rest("POST", "/v1/deployments/demo:rollback", {})).status, 200);
    await until("the canary retired", async () => ((await deployment("demo")).revisions.find((r) => r.number === 2)?.state === "Retired" ? true : undefined));
    let failures = await load.stop();
    assert.deepEqual(failures, [], "rollback");
    // A new canary, promoted under traffic.
    const again = await rest("POST", "/v1/deployments", { manifest: "apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: demo}\nspec:\n  model: models://demo@2\n  resources: {cpu: 0.25}\n", canaryTrafficPercent: 20 });
    assert.equal(again.status, 200, JSON.stringify(again.json));
    const rev = (await deployment("demo")).revisions.at(-1)!.number;
    await until("the new canary ready", async () => ((await deployment("demo")).revisions.find((r) => r.number === rev)?.readyReplicas ?? 0) > 0 ? true : undefined);
    const load2 = steadyLoad(() => infer("demo", [[0.2, 0.2]]));
    assert.equal((await rest("POST", "/v1/deployments/demo:promote", {})).status, 200);
    await until("the old revision retired", async () => ((await deployment("demo")).revisions.filter((r) => r.state !== "Retired").length === 1 ? true : undefined));
    failures = await load2.stop();
    assert.deepEqual(failures, [], "promote");
    const d = await deployment("demo");
    assert.deepEqual(d.traffic.map((t) => [t.revision, t.percent]), [[rev, 100]]);
  });

  it("serves a custom predictor (a Python OIP server on $PORT) behind the model server, through the same gateway", async () => {
    const manifest = `apiVersion: serving.kserve.io/v1beta1
kind: InferenceService
metadata: {name: rowsum, namespace: default}
spec:
  predictor:
    containers:
    - name: kserve-container
      image: ignored/by-this-platform
      command: [/usr/bin/python3, ${join(ROOT, "examples/custom-predictor/predictor.py")}]
      env: [{name: MODEL_NAME, value: rowsum}]
      resources: {requests: {cpu: 250m}}
`;
    const r = await rest("POST", "/v1/deployments", { manifest });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.ok((r.json.warnings as string[]).some((w) => /image/.test(w)), "the image is listed as ignored");
    await until("the predictor ready", async () => ((await deployment("rowsum")).readyReplicas > 0 ? true : undefined));
    const res = await rest("POST", "/v2/models/rowsum/infer", { inputs: [{ name: "x", shape: [2, 3], datatype: "FP32", data: [1, 2, 3, 4, 5, 6] }] });
    assert.equal(res.status, 200, JSON.stringify(res.json));
    assert.deepEqual((res.json.outputs as InferOutput[])[0]!.data, [6, 15]);
    const bad = await rest("POST", "/v2/models/rowsum/infer", { inputs: [{ name: "y", shape: [1, 1], datatype: "FP32", data: [1] }] });
    assert.equal(bad.status, 400);
    assert.equal((await rest("DELETE", "/v1/deployments/rowsum")).status, 200);
  });

  it("survives kill -9 of one of three replicas under load: the others answer, the lost one is replaced", async () => {
    const scaled = await rest("POST", "/v1/deployments", { manifest: (await deployment("demo") as unknown as { manifest: string }).manifest.replace(/minReplicas: \d+\n  maxReplicas: \d+/, "minReplicas: 3\n  maxReplicas: 3") });
    assert.equal(scaled.status, 200, JSON.stringify(scaled.json));
    assert.equal(scaled.json.outcome, "scaled");
    await until("three ready replicas", async () => ((await deployment("demo")).readyReplicas === 3 ? true : undefined));
    const load = steadyLoad(() => infer("demo", [[0.5, 0.5]]));
    await new Promise((r) => setTimeout(r, 1000));
    // One replica of this platform's deployment: its job's model-server process (other platforms may run on the machine).
    const replicaJob = (await deployment("demo")).revisions.flatMap((r) => r.replicas).find((r) => r.job)!.job;
    const uid = ((await rest("GET", `/v1/jobs/${replicaJob}`)).json as { metadata: { uid: string } }).metadata.uid;
    const victim = modelServerOfJob(uid);
    assert.ok(victim, `the model server of job ${replicaJob}`);
    process.kill(victim, "SIGKILL");
    await new Promise((r) => setTimeout(r, 1000));
    await until("three ready replicas again", async () => ((await deployment("demo")).readyReplicas === 3 ? true : undefined));
    const failures = await load.stop();
    // Requests in flight on the killed replica are sent again to another one (ModelInfer is IDEMPOTENT): none fails.
    assert.deepEqual(failures, [], `${failures.length} failed of ${load.total}`);
    assert.ok(load.total > 100, `${load.total} requests`);
  });

  it("runs a member's deployment under the grant they gave serving: replaced after their token stops working, no more once they are deleted", async () => {
    const made = cli(["token", "create", "--user", "dora", "--team", "default", "--role", "member"]);
    assert.equal(made.code, 0, made.stderr);
    const dora = made.stdout.trim().split("\n").pop()!;
    const name = `dora-${Date.now().toString(36)}`;
    const r = await rest("POST", "/v1/deployments", { manifest: `apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: ${name}, team: default}\nspec:\n  model: models://demo@1\n  resources: {cpu: 0.25}\n  minReplicas: 1\n  maxReplicas: 1\n` }, dora);
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await until("dora's replica ready", async () => ((await deployment(name)).readyReplicas === 1 ? true : undefined));
    // Dora's token stops working (revoked: the shortest token lives a minute): her deployment goes on, and a lost
    // replica is replaced — as dora, under her grant, with no token of hers.
    assert.equal(cli(["token", "revoke", "--user", "dora"]).code, 0);
    assert.equal((await rest("GET", `/v1/deployments/${name}`, undefined, dora)).status, 401);
    const jobOf = async () => (await deployment(name)).revisions.flatMap((x) => x.replicas).find((x) => x.job)?.job;
    const first = (await jobOf())!;
    const kill = async (job: string) => {
      const uid = ((await rest("GET", `/v1/jobs/${job}?team=default`)).json as { metadata: { uid: string } }).metadata.uid;
      const pid = modelServerOfJob(uid);
      assert.ok(pid, `the model server of ${job}`);
      process.kill(pid, "SIGKILL");
    };
    await kill(first);
    await until("a new replica ready", async () => {
      const d = await deployment(name);
      return d.readyReplicas === 1 && (await jobOf()) !== first ? true : undefined;
    });
    const second = (await jobOf())!;
    // Dora is deleted: her grant goes with her, and serving cannot submit for her any more.
    const del = cli(["users", "delete", "dora"]);
    assert.equal(del.code, 0, del.stderr);
    await kill(second);
    const refused = await until("the replacement refused", async () => {
      const d = (await rest("GET", `/v1/deployments/${name}`)).json as { message: string };
      return /none is live/.test(d.message) ? d.message : undefined;
    });
    assert.match(refused, /serving acts for dora only under a grant dora gave it/);
  });

  it("scales from zero: no replica while idle, and the first request is held until one answers", async () => {
    // A name of this run's own: a model server of that name is this platform's.
    const sleepy = `sleepy-${Date.now().toString(36)}`;
    const r = await rest("POST", "/v1/deployments", { manifest: `apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: ${sleepy}}\nspec:\n  model: models://demo@1\n  resources: {cpu: 0.25}\n  minReplicas: 0\n  maxReplicas: 2\n` });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    await until("a first replica", async () => ((await deployment(sleepy)).readyReplicas > 0 ? true : undefined));
    await until("scaled to zero", async () => ((await deployment(sleepy)).state === "ScaledToZero" && !modelServerRunning(sleepy) ? true : undefined), 60_000).catch(async (err: unknown) => {
      throw new Error(`${(err as Error).message}: ${JSON.stringify(await deployment(sleepy))}; processes: ${spawnSync("pgrep", ["-af", sleepy], { encoding: "utf8" }).stdout}`);
    });
    const first = await infer(sleepy, [[0.1, 0.2]]);
    assert.equal(first.status, 200, JSON.stringify(first.json));
    const want = await expected([[0.1, 0.2]]);
    (first.json.outputs as InferOutput[])[0]!.data.forEach((v, i) => assert.ok(Math.abs(v - want[i]!) < 1e-6));
  });

  it("keeps every deployment and revision across a restart of the serving service (kill -9), and serves on", async () => {
    const before = await deployment("demo");
    // This platform's serving process, from the supervisor's state file (other platforms may run on the machine).
    const servingPid = () => (JSON.parse(readFileSync(join(dir, "data", "up.json"), "utf8")) as { services: Record<string, number> }).services.serving;
    const pid = servingPid();
    assert.ok(pid, "the serving process");
    process.kill(pid, "SIGKILL");
    await until("serving restarted", async () => {
      const now = servingPid();
      return now !== undefined && now !== pid && (await rest("GET", "/v1/deployments/demo")).status === 200 ? true : undefined;
    });
    const after = await deployment("demo");
    assert.deepEqual(after.revisions.map((r) => [r.number, r.state]), before.revisions.map((r) => [r.number, r.state]));
    assert.equal((await infer("demo", [[0.4, 0.1]])).status, 200);
  });
});

/** The model-server process of a replica job: a descendant of the processes started in its job directory. */
function modelServerOfJob(uid: string): number | undefined {
  const rows = spawnSync("ps", ["-eo", "pid=,ppid=,args="], { encoding: "utf8" }).stdout.split("\n").map((l) => /^\s*(\d+)\s+(\d+)\s+(.*)$/.exec(l)).filter((m) => m !== null).map((m) => ({ pid: Number(m[1]), ppid: Number(m[2]), args: m[3]! }));
  const mine = new Set(rows.filter((r) => r.args.includes(`/${uid}`)).map((r) => r.pid));
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of rows) if (!mine.has(r.pid) && mine.has(r.ppid)) (mine.add(r.pid), (grew = true));
  }
  return rows.find((r) => mine.has(r.pid) && r.args.includes("model-server/dist/bundle/main.js") && !r.args.startsWith("/usr/bin/bwrap"))?.pid;
}

/** Is a model-server process of this deployment running? */
function modelServerRunning(name: string): boolean {
  return spawnSync("pgrep", ["-f", `model-server/dist/bundle/main.js --name ${name} `]).status === 0;
}

/** Requests one after another until stopped; the failures (status and body) it saw. */
function steadyLoad(send: () => Promise<{ status: number; json: unknown }>): { stop(): Promise<string[]>; readonly total: number } {
  let running = true;
  let total = 0;
  const failures: string[] = [];
  const loops = Array.from({ length: 4 }, async () => {
    while (running) {
      const r = await send().catch((err: unknown) => ({ status: 0, json: String(err) }));
      total++;
      if (r.status !== 200) failures.push(`${r.status} ${JSON.stringify(r.json)}`);
    }
  });
  return {
    get total() {
      return total;
    },
    async stop() {
      running = false;
      await Promise.all(loops);
      return failures;
    },
  };
}
