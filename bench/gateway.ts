// npm run bench -- gateway
// 1. GetJob through REST (GET /v1/jobs/{name}) vs through Connect's JSON protocol (POST /switchyard.v1.Jobs/GetJob),
//    both sent by the same node:http client so that the ratio compares what the gateway does, plus the Connect client
//    library (what the CLI uses) and gRPC over HTTP/2 — at the same gateway port, same platform, same run: calls per
//    second at a fixed concurrency, rounds interleaved so drift hits every path alike; latency at concurrency 1.
// 2. Token verification per call: the gateway's authenticate() on a token verified before (the cache: every call
//    after a client's first), beside a first-time verification (jose HS256) for scale.
import { Agent, request } from "node:http";
import { randomUUID } from "node:crypto";
import { createClient, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Jobs } from "@switchyard/api";
import { authenticate, TokenAuthority, TokenStore, gatewayMigrations, type GatewayDatabase } from "@switchyard/gateway";
import { openSqlite } from "@switchyard/store";
import { percentile, round, startPlatform } from "./lib-platform.js";

const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const CALLS = Number(process.env.BENCH_CALLS ?? 3000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LATENCY_CALLS = 500;
const VERIFY_CALLS = 200_000;

type Call = () => Promise<void>;

async function throughput(call: Call, n: number, concurrency: number): Promise<number> {
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < n) await call();
    }),
  );
  return n / ((performance.now() - t0) / 1000);
}

async function latencies(call: Call, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    out.push(performance.now() - t0);
  }
  return out.sort((a, b) => a - b);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function authCost(): Promise<{ cachedUs: number; firstUs: number }> {
  const { db, close } = await openSqlite<GatewayDatabase>({ path: ":memory:", migrations: gatewayMigrations });
  const authority = await TokenAuthority.open({ store: new TokenStore(db) });
  const tokens: string[] = [];
  for (let i = 0; i < 2000; i++) tokens.push((await authority.issue({ user: `u${i}`, teams: ["default", "vision"], role: "member", issuedBy: "bench" })).token);
  // First verification of each token: signature, claims, then cached.
  let t0 = performance.now();
  for (const t of tokens) await authority.verify(t);
  const firstUs = ((performance.now() - t0) * 1000) / tokens.length;
  // Every later call: what the gateway does per request (parse the header, look up the cache, check expiry and
  // revocation), awaited as the interceptor awaits it.
  const headers = tokens.slice(0, 100).map((t) => `Bearer ${t}`);
  for (let i = 0; i < 10_000; i++) await authenticate(authority, headers[i % headers.length]);
  t0 = performance.now();
  for (let i = 0; i < VERIFY_CALLS; i++) await authenticate(authority, headers[i % headers.length]);
  const cachedUs = ((performance.now() - t0) * 1000) / VERIFY_CALLS;
  await close();
  return { cachedUs, firstUs };
}

async function main(): Promise<void> {
  const p = await startPlatform();
  const name = "bench-get";
  const bearer = `Bearer ${p.token}`;
  const withToken: Interceptor = (next) => (req) => {
    req.header.set("authorization", bearer);
    return next(req);
  };
  const auth = { interceptors: [withToken] };
  const connect = createClient(Jobs, createConnectTransport({ baseUrl: p.url, httpVersion: "1.1", ...auth }));
  const grpc = createClient(Jobs, createGrpcTransport({ baseUrl: p.url, ...auth }));
  await connect.submitJob({ requestId: randomUUID(), manifest: JSON.stringify({ apiVersion: "switchyard/v1", kind: "Job", metadata: { name }, spec: { command: ["/bin/true"], resources: { cpu: "1m", memory: "1Mi" }, suspend: true } }) });

  const url = new URL(p.url);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  /** One HTTP/1.1 call with node:http on a keep-alive agent: the same client code for REST and for Connect JSON. */
  const http1 = (method: string, path: string, body?: string): Call => () =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { authorization: bearer, ...(body ? { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) } : {}) };
      const req = request({ host: url.hostname, port: url.port, method, path, agent, headers }, (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (text += d));
        res.on("end", () => (res.statusCode === 200 && text.includes(name) ? resolve() : reject(new Error(`${path} ${res.statusCode}: ${text}`))));
      });
      req.on("error", reject);
      req.end(body);
    });
  const rest = http1("GET", `/v1/jobs/${name}`);
  const connectJson = http1("POST", "/switchyard.v1.Jobs/GetJob", JSON.stringify({ name }));
  const viaConnect: Call = async () => void (await connect.getJob({ name }));
  const viaGrpc: Call = async () => void (await grpc.getJob({ name }));

  // Warm up every path (JIT, connections, the token cache, the mesh channel).
  const paths = { rest, connectJson, connect: viaConnect, grpc: viaGrpc };
  type PathName = keyof typeof paths;
  const names = Object.keys(paths) as PathName[];
  for (const n of names) await throughput(paths[n], 300, CONCURRENCY);
  const rps = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<PathName, number[]>;
  for (let r = 0; r < ROUNDS; r++) for (const n of names) rps[n].push(await throughput(paths[n], CALLS, CONCURRENCY));
  const lat = {} as Record<PathName, number[]>;
  for (const n of names) lat[n] = await latencies(paths[n], LATENCY_CALLS);
  agent.destroy();
  await p.stop();
  const cost = await authCost();

  const per = Object.fromEntries(names.map((n) => [n, median(rps[n])])) as Record<PathName, number>;
  const result = {
    restVsConnectRatio: round(per.rest / per.connectJson, 2),
    authOverheadUs: round(cost.cachedUs, 2),
    restVsConnectClientRatio: round(per.rest / per.connect, 2),
    restVsGrpcRatio: round(per.rest / per.grpc, 2),
    restGetJobPerSec: round(per.rest, 0),
    connectJsonGetJobPerSec: round(per.connectJson, 0),
    connectClientGetJobPerSec: round(per.connect, 0),
    grpcGetJobPerSec: round(per.grpc, 0),
    restP50Ms: round(percentile(lat.rest, 50), 2),
    connectJsonP50Ms: round(percentile(lat.connectJson, 50), 2),
    grpcP50Ms: round(percentile(lat.grpc, 50), 2),
    firstVerificationUs: round(cost.firstUs, 1),
    concurrency: CONCURRENCY,
  };
  const line = (label: string, n: PathName) => console.log(`  ${label.padEnd(44)} ${round(per[n], 0)}/s   p50 ${round(percentile(lat[n], 50), 2)} ms   p99 ${round(percentile(lat[n], 99), 2)} ms`);
  console.log(`gateway benchmark: GetJob, ${ROUNDS} interleaved rounds of ${CALLS} calls at concurrency ${CONCURRENCY} (medians)`);
  line("REST GET /v1/jobs/{name} (node:http)", "rest");
  line("Connect JSON POST …/Jobs/GetJob (node:http)", "connectJson");
  line("Connect client, JSON over HTTP/1.1", "connect");
  line("gRPC client over HTTP/2", "grpc");
  console.log(`  REST / Connect (same client)                 ${result.restVsConnectRatio}   (goal ≥ 0.8)   REST / Connect client ${result.restVsConnectClientRatio}   REST / gRPC ${result.restVsGrpcRatio}`);
  console.log(`  token verification, cached                  ${result.authOverheadUs} µs per call   (goal ≤ 50 µs)`);
  console.log(`  token verification, first time              ${result.firstVerificationUs} µs (jose HS256 + claims), once per token`);
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
