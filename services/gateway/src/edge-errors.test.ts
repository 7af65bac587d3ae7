import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import * as grpc from "@grpc/grpc-js";
import { create, fromBinary, toBinary, type DescMessage } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient as createConnectClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { GetJobRequestSchema, GetLogsRequestSchema, Jobs, ListJobsRequestSchema } from "@switchyard/api";
import { Code as SyCode, SwitchyardError, type Logger } from "@switchyard/core";
import { startLoneGateway, type LoneGateway } from "./test-attack.js";

// What callers read of an error, whatever their protocol: the same message (gRPC's percent-encoding undone by every
// client, grpc-js included), and never a server path — an unexpected failure is "internal error (id …)", and the id
// finds the real text in the gateway's log. Jobs is a stub here (startLoneGateway), so the errors are exactly these.

const MESSAGE = 'job "a:b/c" at 100% — ünïcødé ✓ not found: list jobs with `switchyard list`';
const LEAK = "EACCES: permission denied, open '/var/lib/switchyard/data/jobs/jobs.db'";

function capturingLogger(lines: Record<string, unknown>[]): Logger {
  const log = (fields: Record<string, unknown>, msg: string) => void lines.push({ ...fields, msg });
  const logger: Logger = { debug: log, info: log, warn: log, error: log, child: () => logger };
  return logger;
}

/** A call with grpc-js, the client most gRPC users have: the status message as it decodes it. */
function grpcJs(url: string, token: string, path: string, schema: DescMessage, req: unknown, stream = false): Promise<{ code: number; details: string }> {
  const client = new grpc.Client(url.replace("http://", ""), grpc.credentials.createInsecure());
  const md = new grpc.Metadata();
  md.set("authorization", `Bearer ${token}`);
  const ser = (m: unknown) => Buffer.from(toBinary(schema, create(schema, m as never)));
  const de = (b: Buffer) => fromBinary(schema, b);
  return new Promise((resolve) => {
    const done = (err: grpc.ServiceError | null) => (client.close(), resolve({ code: err?.code ?? 0, details: err?.details ?? "" }));
    if (stream) {
      const call = client.makeServerStreamRequest(path, ser, de, req, md);
      call.on("error", done);
      call.on("data", () => undefined);
    } else client.makeUnaryRequest(path, ser, de, req, md, (err) => done(err));
  });
}

describe("errors at the edge", () => {
  let p: LoneGateway;
  const logged: Record<string, unknown>[] = [];
  before(async () => {
    p = await startLoneGateway({
      logger: capturingLogger(logged),
      metrics: async () => {
        throw new Error(LEAK);
      },
      jobs: {
        getJob: async () => {
          throw new SwitchyardError(SyCode.NotFound, MESSAGE);
        },
        getLogs: async function* () {
          yield* [];
          throw new SwitchyardError(SyCode.NotFound, MESSAGE);
        },
        listJobs: async () => {
          throw new Error(LEAK);
        },
        cancelJob: async () => {
          throw "a string thrown from deep inside /opt/switchyard/lib/x.js";
        },
      },
    });
  });
  after(async () => {
    await p.close();
  });
  const clients = () => {
    const auth: Interceptor = (next) => (req) => (req.header.set("authorization", `Bearer ${p.adminToken}`), next(req));
    return {
      connect: createConnectClient(Jobs, createConnectTransport({ baseUrl: p.url, httpVersion: "1.1", interceptors: [auth] })),
      grpc: createConnectClient(Jobs, createGrpcTransport({ baseUrl: p.url, interceptors: [auth] })),
      grpcWeb: createConnectClient(Jobs, createGrpcWebTransport({ baseUrl: p.url, httpVersion: "1.1", interceptors: [auth] })),
    };
  };

  it("gives gRPC clients (grpc-js and Connect's) the message REST and Connect callers get: ':' '%' and non-ASCII intact", async () => {
    const rest = await fetch(`${p.url}/v1/jobs/x`, { headers: { authorization: `Bearer ${p.adminToken}` } });
    assert.equal(((await rest.json()) as { message: string }).message, MESSAGE);
    for (const [name, jobs] of Object.entries(clients())) {
      const unary = await jobs.getJob({ name: "x" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      assert.deepEqual([unary?.code, unary?.rawMessage], [Code.NotFound, MESSAGE], name);
      const streamed = await (async () => {
        for await (const _ of jobs.getLogs({ name: "x" }));
      })().then(() => undefined, (e: unknown) => ConnectError.from(e));
      assert.deepEqual([streamed?.code, streamed?.rawMessage], [Code.NotFound, MESSAGE], `${name}, server stream`);
    }
    assert.deepEqual(await grpcJs(p.url, p.adminToken, "/switchyard.v1.Jobs/GetJob", GetJobRequestSchema, { name: "x" }), { code: 5, details: MESSAGE });
    assert.deepEqual(await grpcJs(p.url, p.adminToken, "/switchyard.v1.Jobs/GetLogs", GetLogsRequestSchema, { name: "x" }, true), { code: 5, details: MESSAGE });
    // The gateway's own refusals too.
    const refused = await grpcJs(p.url, "sy_nope", "/switchyard.v1.Jobs/ListJobs", ListJobsRequestSchema, {});
    assert.equal(refused.code, 16);
    assert.doesNotMatch(refused.details, /%[0-9A-F]{2}/);
  });

  it("answers an unexpected failure with 'internal error (id …)' on every protocol, and logs the real text under the id", async () => {
    const answers: string[] = [];
    const rest = await fetch(`${p.url}/v1/jobs`, { headers: { authorization: `Bearer ${p.adminToken}` } });
    assert.equal(rest.status, 500);
    const body = (await rest.json()) as { code: string; message: string };
    assert.equal(body.code, "internal");
    answers.push(body.message);
    for (const [name, jobs] of Object.entries(clients())) {
      const err = await jobs.listJobs({}).then(() => undefined, (e: unknown) => ConnectError.from(e));
      assert.equal(err?.code, Code.Internal, name);
      answers.push(err.rawMessage);
      const thrown = await jobs.cancelJob({ name: "x" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      assert.equal(thrown?.code, Code.Unknown, name);
      answers.push(thrown.rawMessage);
    }
    answers.push((await grpcJs(p.url, p.adminToken, "/switchyard.v1.Jobs/ListJobs", ListJobsRequestSchema, {})).details);
    const metrics = await fetch(`${p.url}/metrics`, { headers: { authorization: `Bearer ${p.adminToken}` } });
    assert.equal(metrics.status, 500);
    answers.push(((await metrics.json()) as { message: string }).message);
    for (const a of answers) {
      assert.match(a, /^internal error \(id \w+\): the gateway's log has the details under this id$/);
      const id = /\(id (\w+)\)/.exec(a)![1];
      const line = logged.find((l) => l.errorId === id);
      assert.ok(line, `no log line for ${id}`);
      assert.match(String(line.err), /\/var\/lib\/switchyard|\/opt\/switchyard/);
    }
    assert.equal(new Set(answers).size, answers.length, "every failure has its own id");
  });
});
