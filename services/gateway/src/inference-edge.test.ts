import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { request } from "node:http";
import { ConnectError } from "@connectrpc/connect";
import { Validator } from "@seriousme/openapi-schema-validator";
import { IDENTITY_METADATA, USER_TOKEN_HEADER } from "@switchyard/mesh";
import { GATEWAY_VERSION } from "./gateway.js";
import { InferencePlatform, type TestDeployment } from "./test-inference.js";

// Inference at the edge as callers meet it: the Open Inference Protocol over REST (/v2) and gRPC on the gateway's one
// port, a stand-in for the serving service (deployments, activation) and model-server stand-ins on Unix sockets
// reached in plaintext through the mesh, routed by the serving service's policies on the gateway's headers.

const DEPLOYMENTS: TestDeployment[] = [
  // Two revisions: all traffic to 2, revision 1 reachable by name.
  { name: "alpha", team: "vision", revisions: [{ number: 1, ready: 1, traffic: 0 }, { number: 2, ready: 1, traffic: 100 }] },
  { name: "beta", team: "vision", revisions: [{ number: 1, ready: 1, traffic: 100 }] },
  { name: "other", team: "nlp", revisions: [{ number: 1, ready: 1, traffic: 100 }] },
  // Scaled to zero: started by the first request.
  { name: "gamma", team: "vision", revisions: [{ number: 1, ready: 0, traffic: 100 }] },
  // Scaled to zero and never ready while the test runs: for the bound on held requests.
  { name: "delta", team: "vision", revisions: [{ number: 1, ready: 0, traffic: 100 }] },
  { name: "epsilon", team: "vision", revisions: [{ number: 1, ready: 0, traffic: 100 }] },
  { name: "sealed", team: "vision", revisions: [{ number: 1, ready: 1, traffic: 100 }] },
  // Served by the real model server (ONNX Runtime) on the demo model.
  { name: "mlp", team: "vision", revisions: [{ number: 1, ready: 1, traffic: 100 }] },
];

const INPUT = { inputs: [{ name: "x", shape: [1, 2], datatype: "FP32", data: [1.5, -2] }] };
const grpcInput = (modelName: string, modelVersion = "") => ({ modelName, modelVersion, inputs: [{ name: "x", datatype: "FP32", shape: [1n, 2n], contents: { fp32Contents: [1.5, -2] } }] });
const codeOf = (e: unknown) => ConnectError.from(e).code;

describe("inference at the edge: the Open Inference Protocol over REST and gRPC", () => {
  let p: InferencePlatform;
  let vision: string;
  let nlp: string;
  before(async () => {
    p = await InferencePlatform.start(DEPLOYMENTS, { limits: { maxBodyBytes: 64 * 1024 }, inference: { maxHeldPerModel: 3 } });
    await p.startReplica("alpha", 1, "vision");
    await p.startReplica("alpha", 2, "vision");
    await p.startReplica("beta", 1, "vision");
    await p.startReplica("other", 1, "nlp");
    await p.startReplica("sealed", 1, "vision");
    await p.startModelServer("mlp", 1, "vision", p.demoModel());
    vision = await p.token("vic", ["vision"], "member");
    nlp = await p.token("nora", ["nlp"], "member");
  });
  after(async () => {
    await p.stop();
  });

  it("answers REST infer and gRPC ModelInfer with the model server's answer, routed by the model and version headers", async () => {
    const rest = await p.rest("POST", "/v2/models/alpha/infer", { token: vision, body: INPUT });
    assert.equal(rest.status, 200, rest.text);
    assert.deepEqual(rest.json, { model_name: "alpha", model_version: "2", outputs: [{ name: "y", shape: [1, 2], datatype: "FP32", data: [3, -4] }] });
    const pinned = await p.rest("POST", "/v2/models/alpha/versions/1/infer", { token: vision, body: { ...INPUT, id: "req-7" } });
    assert.equal(pinned.status, 200, pinned.text);
    assert.deepEqual([(pinned.json as { model_version: string }).model_version, (pinned.json as { id: string }).id], ["1", "req-7"]);

    const grpc = p.clientsFor(vision).inference;
    const a = await grpc.modelInfer(grpcInput("beta"));
    assert.deepEqual([a.modelName, a.modelVersion, a.outputs[0]!.name], ["beta", "1", "y"]);
    const pinnedGrpc = await grpc.modelInfer(grpcInput("alpha", "1"));
    assert.equal(pinnedGrpc.modelVersion, "1");
    const viaConnect = await p.clientsFor(vision, "connect").inference.modelInfer(grpcInput("alpha"));
    assert.equal(viaConnect.modelVersion, "2");

    const seen = p.received.slice(-5).map((r) => [r.model, r.revision, r.metadata["x-switchyard-model"], r.metadata["x-switchyard-revision"]]);
    assert.deepEqual(seen, [
      ["alpha", "2", "alpha", undefined],
      ["alpha", "1", "alpha", "1"],
      ["beta", "1", "beta", undefined],
      ["alpha", "1", "alpha", "1"],
      ["alpha", "2", "alpha", undefined],
    ]);
  });

  it("answers with the real model server: the demo model's probabilities over REST and gRPC, its metadata", async () => {
    const rest = await p.rest("POST", "/v2/models/mlp/infer", { token: vision, body: { inputs: [{ name: "input", shape: [2, 2], datatype: "FP32", data: [[0.1, 0.2], [-0.5, 0.9]] }] } });
    assert.equal(rest.status, 200, rest.text);
    const out = rest.json as { model_name: string; outputs: { name: string; shape: number[]; datatype: string; data: number[] }[] };
    assert.deepEqual([out.model_name, out.outputs[0]!.name, out.outputs[0]!.shape, out.outputs[0]!.datatype], ["mlp", "probabilities", [2, 3], "FP32"]);
    const rows = [out.outputs[0]!.data.slice(0, 3), out.outputs[0]!.data.slice(3)];
    for (const row of rows) assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-4, `a row of probabilities sums to 1: ${row.join(", ")}`);
    const grpc = await p.clientsFor(vision).inference.modelInfer({ modelName: "mlp", modelVersion: "1", inputs: [{ name: "input", datatype: "FP32", shape: [2n, 2n], contents: { fp32Contents: [0.1, 0.2, -0.5, 0.9] } }] });
    const viaGrpc = grpc.rawOutputContents.length > 0 ? [...new Float32Array(new Uint8Array(grpc.rawOutputContents[0]!).buffer)] : grpc.outputs[0]!.contents!.fp32Contents;
    viaGrpc.forEach((v, i) => assert.ok(Math.abs(v - out.outputs[0]!.data[i]!) < 1e-6, `gRPC and REST callers get the same answer (${i})`));
    const meta = await p.rest("GET", "/v2/models/mlp", { token: vision });
    assert.deepEqual((meta.json as { inputs: unknown }).inputs, [{ name: "input", datatype: "FP32", shape: [-1, 2] }]);
    const wrong = await p.rest("POST", "/v2/models/mlp/infer", { token: vision, body: { inputs: [{ name: "input", shape: [1, 3], datatype: "FP32", data: [1, 2, 3] }] } });
    assert.equal(wrong.status, 400, wrong.text);
    assert.match((wrong.json as { error: string }).error, /input/);
  });

  it("never passes the caller's token or identity headers to the model server", async () => {
    const forged = { "x-switchyard-user": "admin", "x-switchyard-teams": "nlp", "x-switchyard-role": "admin", [USER_TOKEN_HEADER]: "forged" };
    const before = p.received.length;
    assert.equal((await p.rest("POST", "/v2/models/beta/infer", { token: vision, body: INPUT, headers: forged })).status, 200);
    await p.clientsFor(vision, "grpc", forged).inference.modelInfer(grpcInput("beta"));
    const got = p.received.slice(before);
    assert.equal(got.length, 2);
    for (const r of got) {
      for (const h of ["authorization", USER_TOKEN_HEADER, ...IDENTITY_METADATA]) assert.equal(r.metadata[h], undefined, `${h} reached the model server`);
    }
  });

  it("refuses a caller without a token with 401 / UNAUTHENTICATED before reading the body", async () => {
    // Headers that announce a body, and no body: the answer comes without it.
    const status = await new Promise<{ status: number; body: string; auth: string | undefined }>((resolve, reject) => {
      const req = request(`${p.url}/v2/models/alpha/infer`, { method: "POST", headers: { "content-type": "application/json", "content-length": "60000" } }, (res) => {
        let body = "";
        res.on("data", (c: Buffer) => (body += c.toString()));
        res.on("end", () => resolve({ status: res.statusCode!, body, auth: res.headers["www-authenticate"] }));
      });
      req.on("error", reject);
      req.flushHeaders();
    });
    assert.equal(status.status, 401);
    assert.match((JSON.parse(status.body) as { error: string }).error, /missing credentials/);
    assert.equal(status.auth, 'Bearer realm="switchyard"');
    assert.equal(await p.clientsFor(undefined).inference.modelInfer(grpcInput("alpha")).then(() => 0, codeOf), 16);
    assert.equal(await p.clientsFor(undefined).inference.serverLive({}).then(() => 0, codeOf), 16);
    const bad = await p.rest("GET", "/v2/models/alpha", { token: "sy_not-a-token" });
    assert.equal(bad.status, 401);
    assert.deepEqual(Object.keys(bad.json as object), ["error"]);
  });

  it("answers another team's model exactly as a missing one: 404 / NOT_FOUND with the same message", async () => {
    const theirs = await p.rest("POST", "/v2/models/other/infer", { token: vision, body: INPUT });
    const missing = await p.rest("POST", "/v2/models/nope0/infer", { token: vision, body: INPUT });
    assert.deepEqual([theirs.status, missing.status], [404, 404]);
    const message = (r: { json: unknown }, name: string) => (r.json as { error: string }).error.replace(name, "NAME");
    assert.equal(message(theirs, "other"), message(missing, "nope0"));
    assert.deepEqual(Object.keys(theirs.json as object), ["error"]);
    for (const path of ["/v2/models/other", "/v2/models/other/ready"]) assert.equal((await p.rest("GET", path, { token: vision })).status, 404, path);
    const grpc = p.clientsFor(vision).inference;
    const errs = await Promise.all([grpc.modelInfer(grpcInput("other")), grpc.modelInfer(grpcInput("nope0")), grpc.modelMetadata({ name: "other" })].map((c) => c.then(() => undefined, (e: unknown) => ConnectError.from(e))));
    assert.deepEqual(errs.map((e) => e?.code), [5, 5, 5]);
    assert.equal(errs[0]!.rawMessage.replace("other", "NAME"), errs[1]!.rawMessage.replace("nope0", "NAME"));
    assert.equal(errs[0]!.rawMessage, (theirs.json as { error: string }).error, "gRPC and REST callers read the same message");
    // The owner's team gets it.
    assert.equal((await p.rest("POST", "/v2/models/other/infer", { token: nlp, body: INPUT })).status, 200);
    assert.equal((await p.rest("POST", "/v2/models/alpha/versions/9/infer", { token: vision, body: INPUT })).status, 404);
  });

  it("rejects bad JSON and wrong shapes with 400 and the protocol's {error} naming the input", async () => {
    const notJson = await p.rest("POST", "/v2/models/beta/infer", { token: vision, rawBody: "{", headers: { "content-type": "application/json" } });
    assert.equal(notJson.status, 400);
    assert.match((notJson.json as { error: string }).error, /body: is not valid JSON/);
    const shape = await p.rest("POST", "/v2/models/beta/infer", { token: vision, body: { inputs: [{ name: "x", shape: [1, 3], datatype: "FP32", data: [1, 2] }] } });
    assert.equal(shape.status, 400);
    assert.deepEqual(Object.keys(shape.json as object), ["error"]);
    assert.match((shape.json as { error: string }).error, /inputs\[0\]/);
    const datatype = await p.rest("POST", "/v2/models/beta/infer", { token: vision, body: { inputs: [{ name: "x", shape: [1], datatype: "FP99", data: [1] }] } });
    assert.equal(datatype.status, 400);
    assert.match((datatype.json as { error: string }).error, /inputs\[0\]\.datatype/);
    const binary = await p.rest("POST", "/v2/models/beta/infer", { token: vision, body: INPUT, headers: { "inference-header-content-length": "10" } });
    assert.equal(binary.status, 400);
    assert.match((binary.json as { error: string }).error, /binary tensor data extension/);
  });

  it("refuses a body over the limit with 413", async () => {
    const data = Array.from({ length: 20_000 }, () => 1.25);
    const big = await p.rest("POST", "/v2/models/beta/infer", { token: vision, body: { inputs: [{ name: "x", shape: [1, data.length], datatype: "FP32", data }] } });
    assert.equal(big.status, 413);
    assert.match((big.json as { error: string }).error, /message too large/);
  });

  it("holds requests to a model scaled to zero, asks serving once to start it, and answers them when a replica registers", async () => {
    const held = Promise.all([
      p.rest("POST", "/v2/models/gamma/infer", { token: vision, body: INPUT }),
      p.rest("POST", "/v2/models/gamma/infer", { token: vision, body: INPUT }),
      p.clientsFor(vision).inference.modelInfer(grpcInput("gamma"), { timeoutMs: 20_000 }),
    ]);
    while (p.serving.activations("gamma").length === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    // Serving answers ready before the replica's registration reaches the gateway's routing table: the held requests
    // find no endpoint for a moment and try again, and are answered, not failed.
    p.serving.markReady("gamma");
    await new Promise((r) => setTimeout(r, 150));
    await p.startReplica("gamma", 1, "vision");
    const [a, b, c] = await held;
    assert.equal(a.status, 200, a.text);
    assert.equal(b.status, 200, b.text);
    assert.deepEqual((a.json as { outputs: { data: number[] }[] }).outputs[0]!.data, [3, -4]);
    assert.equal(c.modelName, "gamma");
    const activations = p.serving.activations("gamma");
    assert.equal(activations.length, 1, "one activation for the caller's held requests");
    assert.equal(activations[0]!.user, "vic");
    assert.ok(activations[0]!.waitMs! > 10_000 && activations[0]!.waitMs! <= 60_000, `waitMs ${activations[0]!.waitMs}`);
  });

  it("holds at most maxHeldPerModel requests per model (3 here): the next gets 429 with Retry-After (RESOURCE_EXHAUSTED over gRPC)", async () => {
    const grpc = p.clientsFor(vision).inference;
    const held = [1, 2, 3].map(() => grpc.modelInfer(grpcInput("delta"), { timeoutMs: 1500 }).then(() => 0, codeOf));
    while (p.serving.activations("delta").length === 0) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 100));
    const third = await p.rest("POST", "/v2/models/delta/infer", { token: vision, body: INPUT });
    assert.equal(third.status, 429, third.text);
    assert.equal(third.headers.get("retry-after"), "1");
    assert.match((third.json as { error: string }).error, /model "delta" is starting and already holds 3 requests/);
    const fourth = await grpc.modelInfer(grpcInput("delta")).then(() => undefined, (e: unknown) => ConnectError.from(e));
    assert.equal(fourth?.code, 8);
    assert.equal(fourth?.metadata.get("grpc-retry-pushback-ms"), "1000");
    // The held ones end at their deadline, not before, and another model is not held up meanwhile.
    assert.equal((await p.rest("POST", "/v2/models/beta/infer", { token: vision, body: INPUT })).status, 200);
    assert.deepEqual(await Promise.all(held), [4, 4, 4]);
    p.serving.release("delta");
  });

  it("answers model readiness without starting the model: 200 when a replica is ready, 503 when none", async () => {
    const ready = await p.rest("GET", "/v2/models/beta/ready", { token: vision });
    assert.deepEqual([ready.status, ready.json], [200, { name: "beta", ready: true }]);
    const zero = await p.rest("GET", "/v2/models/epsilon/ready", { token: vision });
    assert.deepEqual([zero.status, zero.json], [503, { name: "epsilon", ready: false }]);
    assert.equal((await p.rest("GET", "/v2/models/alpha/versions/1/ready", { token: vision })).status, 200);
    assert.equal((await p.clientsFor(vision).inference.modelReady({ name: "epsilon" })).ready, false);
    assert.equal(p.serving.activations("epsilon").length, 0);
  });

  it("serves model metadata in the protocol's JSON, and server metadata to callers with a token", async () => {
    const meta = await p.rest("GET", "/v2/models/alpha/versions/1", { token: vision });
    assert.equal(meta.status, 200, meta.text);
    assert.deepEqual(meta.json, { name: "alpha", versions: ["1"], platform: "onnxruntime_onnx", inputs: [{ name: "x", datatype: "FP32", shape: [-1, 2] }], outputs: [{ name: "y", datatype: "FP32", shape: [-1, 2] }] });
    const server = await p.rest("GET", "/v2", { token: vision });
    assert.deepEqual(server.json, { name: "switchyard", version: GATEWAY_VERSION, extensions: [] });
    assert.equal((await p.rest("GET", "/v2")).status, 401);
    const grpc = p.clientsFor(vision).inference;
    assert.deepEqual([(await grpc.serverLive({})).live, (await grpc.serverReady({})).ready, (await grpc.serverMetadata({})).name], [true, true, "switchyard"]);
  });

  it("serves the health endpoints without a token, and says where the routes are for an unknown /v2 path", async () => {
    assert.deepEqual([(await p.rest("GET", "/v2/health/live")).json, (await p.rest("GET", "/v2/health/ready")).json], [{ live: true }, { ready: true }]);
    const wrongMethod = await p.rest("GET", "/v2/models/beta/infer", { token: vision });
    assert.deepEqual([wrongMethod.status, wrongMethod.headers.get("allow")], [404, "POST"]);
    const unknown = await p.rest("GET", "/v2/models/beta/explain", { token: vision });
    assert.equal(unknown.status, 404);
    assert.match((unknown.json as { error: string }).error, /inference routes/);
  });

  it("looks a model up once for a caller's burst of calls, not once per call", async () => {
    const before = p.serving.calls.filter((c) => c.method === "GetDeployment" && c.name === "beta" && c.user === "nora").length;
    const admin = await p.token("ada", ["nlp"], "admin");
    await Promise.all(Array.from({ length: 20 }, () => p.rest("POST", "/v2/models/beta/infer", { token: admin, body: INPUT })));
    const lookups = p.serving.calls.filter((c) => c.method === "GetDeployment" && c.name === "beta" && c.user === "ada").length;
    assert.equal(before, 0);
    assert.equal(lookups, 1);
  });

  it("records no audit event per inference call, but records refusals", async () => {
    await p.rest("POST", "/v2/models/beta/infer", { token: vision, body: INPUT });
    p.serving.refused.add("sealed");
    assert.equal((await p.rest("POST", "/v2/models/sealed/infer", { token: vision, body: INPUT })).status, 403);
    const events = (await p.clientsFor(p.adminToken, "connect").platform.listAuditEvents({})).events.filter((e) => e.method.startsWith("inference."));
    assert.deepEqual(events.map((e) => [e.method, e.user, e.code, e.target]), [["inference.GRPCInferenceService/ModelInfer", "vic", "PERMISSION_DENIED", "modelName=sealed"]]);
  });

  it("lists the /v2 routes in /openapi.json, a valid OpenAPI 3.1 document with them", async () => {
    const doc = (await p.rest("GET", "/openapi.json")).json as { paths: Record<string, Record<string, { security?: unknown[] }>> };
    const valid = await new Validator().validate(structuredClone(doc) as never);
    assert.equal(valid.valid, true, JSON.stringify(valid.errors, null, 2)?.slice(0, 2000));
    assert.ok(doc.paths["/v2/models/{model}/infer"]?.["post"]);
    assert.ok(doc.paths["/v2/models/{model}/versions/{version}/ready"]?.["get"]);
    assert.deepEqual(doc.paths["/v2/health/live"]?.["get"]?.security, []);
  });
});
