import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, ConnectError, createClient as createConnectClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { Jobs } from "@switchyard/api";
import { Code as SyCode, SwitchyardError } from "@switchyard/core";
import { h1Upload, h2Upload, rssAfterGc, startLoneGateway, type LoneGateway } from "./test-attack.js";

// Uploads that never end, against a real gateway on a real port: without a valid token nothing of the body is read on
// any protocol; with one, the body is cut at the limit as it arrives. What the server read is its own count
// (EdgeStats.bytesRead); memory is this process's RSS (the gateway runs here) after full collections. Jobs is a stub
// here (startLoneGateway): these tests are about the edge, not about what stands behind it.

const MiB = 1024 * 1024;
const LIMIT = MiB;
/** What the server may read of a refused upload: headers, socket buffers, an HTTP/2 window — not the body. */
const SMALL = 4 * MiB;

describe("request bodies at the edge", () => {
  let p: LoneGateway;
  let token: string;
  before(async () => {
    p = await startLoneGateway({
      limits: { maxBodyBytes: LIMIT, closeLingerMs: 300 },
      jobs: {
        submitJob: async () => ({}),
        validateJob: async () => {
          throw new SwitchyardError(SyCode.InvalidArgument, "the stub read the manifest and did not like it");
        },
      },
    });
    token = await p.token("uma", "viewer");
  });
  after(async () => {
    await p.close();
  });
  const post = async (path: string, token: string | undefined, body: unknown) => {
    const res = await fetch(p.url + path, { method: "POST", headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) }, body: JSON.stringify(body) });
    return { status: res.status, json: (await res.json()) as { code: string; message: string } };
  };
  /** Runs `attack` and returns what it answered and how many bytes the gateway read meanwhile. */
  const measured = async <T>(attack: () => Promise<T>): Promise<{ answer: T; readBytes: number }> => {
    const before = p.gateway.edgeStats().bytesRead;
    const answer = await attack();
    return { answer, readBytes: p.gateway.edgeStats().bytesRead - before };
  };
  const SUBMIT = "/switchyard.v1.Jobs/SubmitJob";
  const LOGS = "/switchyard.v1.Jobs/GetLogs";

  it("refuses an unauthenticated 400 MB upload on every HTTP/1.1 protocol with 401 / UNAUTHENTICATED, reading none of it", async () => {
    const cases = [
      { what: "Connect JSON", path: SUBMIT, type: "application/json", chunked: false },
      { what: "Connect proto, no length", path: SUBMIT, type: "application/proto", chunked: true },
      { what: "Connect streaming", path: LOGS, type: "application/connect+json", chunked: false },
      { what: "gRPC-Web", path: SUBMIT, type: "application/grpc-web+proto", chunked: true },
      { what: "REST", path: "/v1/jobs", type: "application/json", chunked: false },
      { what: "REST, no length", path: "/v1/jobs", type: "application/json", chunked: true },
    ];
    for (const c of cases) {
      const { answer, readBytes } = await measured(() => h1Upload(p.url, { path: c.path, headers: { "content-type": c.type }, totalBytes: 400 * MiB, chunked: c.chunked }));
      assert.ok(readBytes < SMALL, `${c.what}: the gateway read ${readBytes} bytes of a refused upload`);
      assert.equal(answer.headers["connection"], "close", c.what);
      if (c.type.startsWith("application/grpc-web")) {
        assert.deepEqual([answer.status, answer.headers["grpc-status"]], [200, "16"], c.what);
      } else if (c.type === "application/connect+json") {
        // One end-of-stream frame (flags 0b10) carrying the error.
        assert.equal(answer.body[0], 0b10, c.what);
        assert.equal(JSON.parse(answer.body.subarray(5).toString()).error.code, "unauthenticated", c.what);
      } else {
        assert.equal(answer.status, 401, c.what);
        assert.equal(JSON.parse(answer.body.toString()).code, "unauthenticated", c.what);
        assert.match(answer.headers["www-authenticate"] ?? "", /Bearer/, c.what);
      }
    }
  });

  it("refuses an unauthenticated 400 MB upload over HTTP/2 (gRPC, Connect, REST) and resets the stream, reading none of it", async () => {
    for (const [path, type] of [[SUBMIT, "application/grpc"], [SUBMIT, "application/json"], ["/v1/jobs", "application/json"]] as const) {
      const { answer, readBytes } = await measured(() => h2Upload(p.url, { path, headers: { "content-type": type }, totalBytes: 400 * MiB }));
      assert.ok(readBytes < SMALL, `${type} ${path}: read ${readBytes} bytes`);
      if (type === "application/grpc") assert.deepEqual([answer.headers[":status"], answer.headers["grpc-status"]], [200, "16"]);
      else assert.equal(answer.headers[":status"], 401);
      assert.equal(answer.rstCode, 0, "reset with NO_ERROR after the answer");
    }
  });

  it("cuts an authenticated upload at the limit as it arrives: 413 or RESOURCE_EXHAUSTED naming the limit", async () => {
    const auth = { authorization: `Bearer ${token}` };
    const rest = await measured(() => h1Upload(p.url, { path: "/v1/jobs", headers: { ...auth, "content-type": "application/json" }, totalBytes: 400 * MiB, chunked: true }));
    assert.equal(rest.answer.status, 413);
    const body = JSON.parse(rest.answer.body.toString()) as { code: string; message: string; details: { field: string; hint: string }[] };
    assert.equal(body.code, "resource_exhausted");
    assert.match(body.message, /message too large.*1 MiB.*SWITCHYARD_MAX_BODY_BYTES/);
    assert.equal(body.details[0]!.field, "body");
    assert.ok(rest.readBytes < LIMIT + SMALL, `REST read ${rest.readBytes} bytes`);
    const connect = await measured(() => h1Upload(p.url, { path: SUBMIT, headers: { ...auth, "content-type": "application/json" }, totalBytes: 400 * MiB, chunked: true }));
    assert.deepEqual([connect.answer.status, JSON.parse(connect.answer.body.toString()).code], [413, "resource_exhausted"]);
    assert.ok(connect.readBytes < LIMIT + SMALL, `Connect read ${connect.readBytes} bytes`);
    // A gRPC message that says it is 400 MB long is refused at its 5-byte prefix.
    const prefix = Buffer.from([0, 0, 0, 0, 0]);
    prefix.writeUInt32BE(400 * MiB, 1);
    const grpc = await measured(() => h2Upload(p.url, { path: SUBMIT, headers: { ...auth, "content-type": "application/grpc" }, totalBytes: 400 * MiB, prefix }));
    assert.equal(grpc.answer.headers["grpc-status"], "8");
    assert.match(decodeURIComponent(String(grpc.answer.headers["grpc-message"])), /message too large/);
    assert.ok(grpc.readBytes < LIMIT + SMALL, `gRPC read ${grpc.readBytes} bytes`);
    // A declared length over the limit is refused before a byte of the body is read.
    const declared = await measured(() => h1Upload(p.url, { path: "/v1/jobs", headers: { ...auth, "content-type": "application/json" }, totalBytes: 50 * MiB }));
    assert.equal(declared.answer.status, 413);
    assert.ok(declared.readBytes < SMALL);
  });

  it("gives real clients of every protocol the same 'message too large' error, and still takes bodies under the limit", async () => {
    const auth: Interceptor = (next) => (req) => (req.header.set("authorization", `Bearer ${p.adminToken}`), next(req));
    const big = { manifest: "x".repeat(2 * MiB) };
    const transports = {
      connect: createConnectTransport({ baseUrl: p.url, httpVersion: "1.1", interceptors: [auth] }),
      grpc: createGrpcTransport({ baseUrl: p.url, interceptors: [auth] }),
      grpcWeb: createGrpcWebTransport({ baseUrl: p.url, httpVersion: "1.1", interceptors: [auth] }),
    };
    for (const [name, transport] of Object.entries(transports)) {
      const jobs = createConnectClient(Jobs, transport);
      const err = await jobs.submitJob(big).then(() => undefined, (e: unknown) => ConnectError.from(e));
      assert.equal(err?.code, Code.ResourceExhausted, `${name}: ${String(err)}`);
      assert.match(err.rawMessage, /^message too large: .*1 MiB/, name);
      const small = await jobs.validateJob({ manifest: "x".repeat(LIMIT / 2) }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      assert.equal(small?.code, Code.InvalidArgument, `${name}: a body under the limit reaches the service`);
    }
    const rest = await post("/v1/jobs", p.adminToken, big);
    assert.deepEqual([rest.status, rest.json.code], [413, "resource_exhausted"]);
  });

  it("returns to its idle memory after four unauthenticated 400 MB uploads at once", async () => {
    const idle = rssAfterGc();
    const read = p.gateway.edgeStats().bytesRead;
    await Promise.all([
      h1Upload(p.url, { path: SUBMIT, headers: { "content-type": "application/json" }, totalBytes: 400 * MiB }),
      h1Upload(p.url, { path: "/v1/jobs", headers: { "content-type": "application/json" }, totalBytes: 400 * MiB, chunked: true }),
      h1Upload(p.url, { path: SUBMIT, headers: { "content-type": "application/grpc-web+proto" }, totalBytes: 400 * MiB }),
      h2Upload(p.url, { path: SUBMIT, headers: { "content-type": "application/grpc" }, totalBytes: 400 * MiB }),
    ]);
    const after = rssAfterGc();
    const readBytes = p.gateway.edgeStats().bytesRead - read;
    console.log(`RSS idle ${(idle / MiB).toFixed(1)} MiB, after four refused 400 MB uploads ${(after / MiB).toFixed(1)} MiB; the gateway read ${readBytes} bytes of them`);
    assert.ok(readBytes < 4 * SMALL, `read ${readBytes} bytes`);
    assert.ok(after - idle < 64 * MiB, `RSS grew by ${((after - idle) / MiB).toFixed(1)} MiB`);
  });

  it("keeps /healthz, /openapi.json public and everything else behind a token", async () => {
    assert.equal((await fetch(`${p.url}/healthz`)).status, 200);
    assert.equal((await fetch(`${p.url}/openapi.json`)).status, 200);
    assert.equal((await post("/v1/jobs", undefined, {})).status, 401);
    assert.equal((await post("/switchyard.v1.Platform/WhoAmI", undefined, {})).status, 401);
    assert.equal((await post("/switchyard.v1.Platform/WhoAmI", token, {})).status, 200);
  });
});
