// Shared by bench/serving.ts: Open Inference Protocol callers through the gateway (REST over a keep-alive node:http
// agent, gRPC over h2c with connect-node), closed-loop load, and CPU time per process from /proc.
import { Agent, request } from "node:http";
import { readFileSync } from "node:fs";
import { connect } from "node:net";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import { GRPCInferenceService } from "@switchyard/api";

/** One inference: resolves with the revision that answered (model_version), rejects with what went wrong. */
export type InferCall = () => Promise<string>;

export interface InferTarget {
  url: string;
  token: string;
  model: string;
  /** A revision by number (`/versions/N`, `model_version`); "" for the deployment's traffic split. */
  version?: string;
  /** Input tensor name, row width (FP32) and the row's values. */
  input: string;
  row: Float32Array;
}

/** REST `POST /v2/models/{m}[/versions/N]/infer` with one row of JSON data, over HTTP/1.1 keep-alive sockets. */
export function restCaller(t: InferTarget, agent: Agent): InferCall {
  const url = new URL(t.url);
  const path = `/v2/models/${t.model}${t.version ? `/versions/${t.version}` : ""}/infer`;
  const body = JSON.stringify({ inputs: [{ name: t.input, shape: [1, t.row.length], datatype: "FP32", data: Array.from(t.row) }] });
  const headers = { authorization: `Bearer ${t.token}`, "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) };
  return () =>
    new Promise((resolve, reject) => {
      const req = request({ host: url.hostname, port: url.port, method: "POST", path, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (d: Buffer) => chunks.push(d));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          if (res.statusCode !== 200) return reject(new Error(`REST ${res.statusCode}: ${text.slice(0, 300)}`));
          // The revision without parsing the whole answer (the load generator shares the 2 cores with the platform).
          const v = /"model_version":"([^"]*)"/.exec(text);
          resolve(v?.[1] ?? "");
        });
        res.on("error", reject);
      });
      req.on("error", reject);
      req.end(body);
    });
}

/** A GET answered 200 (its body read and dropped). */
export function restGet(baseUrl: string, path: string, agent: Agent): Promise<void> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = request({ host: url.hostname, port: url.port, path, agent }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve() : reject(new Error(`GET ${path}: ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end();
  });
}

export type InferenceClient = Client<typeof GRPCInferenceService>;

/** A connect-node gRPC client of the gateway (one HTTP/2 connection, h2c), sending the bearer token. */
export function grpcClient(baseUrl: string, token: string): InferenceClient {
  const bearer = `Bearer ${token}`;
  const withToken: Interceptor = (next) => (req) => {
    req.header.set("authorization", bearer);
    return next(req);
  };
  return createClient(GRPCInferenceService, createGrpcTransport({ baseUrl, interceptors: [withToken] }));
}

/**
 * A connect-node gRPC client of one model server's Unix socket, past the gateway and the mesh (the same client
 * library as grpcClient, so the difference between the two is the gateway's path). Needs the rights to enter the
 * replica's job directory (root).
 */
export function socketClient(socketPath: string): InferenceClient {
  return createClient(GRPCInferenceService, createGrpcTransport({ baseUrl: "http://localhost", nodeOptions: { createConnection: () => connect(socketPath) } }));
}

/** gRPC `ModelInfer` with the row as raw_input_contents (little-endian FP32), answered with raw outputs. */
export function grpcCaller(t: InferTarget, client: InferenceClient): InferCall {
  const raw = new Uint8Array(t.row.buffer, t.row.byteOffset, t.row.byteLength);
  const req = { modelName: t.model, modelVersion: t.version ?? "", inputs: [{ name: t.input, datatype: "FP32", shape: [1n, BigInt(t.row.length)] }], rawInputContents: [raw] };
  return async () => {
    const res = await client.modelInfer(req);
    if (res.rawOutputContents.length === 0) throw new Error("gRPC answer without raw outputs");
    return res.modelVersion;
  };
}

export interface LoadResult {
  ok: number;
  failed: number;
  seconds: number;
  /** Sorted, ms. */
  latencies: number[];
  /** The first few failures' messages, and the count of each. */
  failures: Map<string, number>;
  versions: Map<string, number>;
}

function record(r: LoadResult, err: unknown): void {
  const m = String((err as Error)?.message ?? err).slice(0, 160);
  r.failures.set(m, (r.failures.get(m) ?? 0) + 1);
  r.failed++;
}

/**
 * `concurrency` closed-loop callers, each sending its next request when the last is answered, until `stop` says so
 * (checked before each request): a duration, a count, or a signal from outside.
 */
export async function closedLoop(call: InferCall, concurrency: number, stop: (sent: number) => boolean): Promise<LoadResult> {
  const r: LoadResult = { ok: 0, failed: 0, seconds: 0, latencies: [], failures: new Map(), versions: new Map() };
  let sent = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (!stop(sent)) {
        sent++;
        const s = performance.now();
        try {
          const v = await call();
          r.latencies.push(performance.now() - s);
          r.versions.set(v, (r.versions.get(v) ?? 0) + 1);
          r.ok++;
        } catch (err) {
          record(r, err);
        }
      }
    }),
  );
  r.seconds = (performance.now() - t0) / 1000;
  r.latencies.sort((a, b) => a - b);
  return r;
}

export const forMs = (ms: number) => {
  const end = performance.now() + ms;
  return () => performance.now() >= end;
};

const TICK_MS = 1000 / 100; // USER_HZ: /proc's clock ticks are 10 ms on Linux.

/**
 * CPU time (ms, user + system) of a process so far, from /proc/PID/stat — or of one of its threads (`tid`; the pid
 * itself is the main thread: a Node process's event loop); NaN when it is gone.
 */
export function cpuMsOf(pid: number, tid?: number): number {
  try {
    const stat = readFileSync(tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) * TICK_MS;
  } catch {
    return NaN;
  }
}

/** Busy CPU time (ms) of the whole machine so far, all cores: /proc/stat's first line less idle and iowait. */
export function machineBusyMs(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n", 1)[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
  return (total - f[3]! - f[4]!) * TICK_MS;
}

/**
 * CPU ms each of `pids` (and this process, as `bench`) spends while `fn` runs, and `others`: the rest of the
 * machine's busy time (other processes of the platform and whatever else shares the machine); `mainThreadMs`: the
 * same for each one's main thread alone (a Node process's event loop; the rest is GC, the libuv pool, native pools).
 */
export async function cpuDuring<T>(pids: Record<string, number>, fn: () => Promise<T>): Promise<{ value: T; cpuMs: Record<string, number>; mainThreadMs: Record<string, number>; wallMs: number }> {
  const before = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuMsOf(p)]));
  const threads = { bench: process.pid, ...pids };
  const mainBefore = Object.fromEntries(Object.entries(threads).map(([k, p]) => [k, cpuMsOf(p, p)]));
  const machine = machineBusyMs();
  const self = process.cpuUsage();
  const t0 = performance.now();
  const value = await fn();
  const wallMs = performance.now() - t0;
  const used = process.cpuUsage(self);
  const cpuMs: Record<string, number> = { bench: (used.user + used.system) / 1000 };
  for (const [k, p] of Object.entries(pids)) cpuMs[k] = cpuMsOf(p) - before[k]!;
  cpuMs.others = machineBusyMs() - machine - Object.values(cpuMs).reduce((a, b) => a + b, 0);
  const mainThreadMs = Object.fromEntries(Object.entries(threads).map(([k, p]) => [k, cpuMsOf(p, p) - mainBefore[k]!]));
  return { value, cpuMs, mainThreadMs, wallMs };
}

export { Agent };
