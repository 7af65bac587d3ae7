// npm run bench -- mesh
// The governed mesh against raw grpc-js, measured in one run on this machine (servers in child processes):
// 1. Unary echo of 1 KiB, raw grpc-js vs the mesh (discovery, balancing, retry policy, outlier detection, breaker, health
//    watch and metrics all on), alternating raw and mesh rounds: throughput at concurrency 64, latency at concurrency 1,
//    CPU per call (client + server); the mesh with mutual TLS against the plaintext mesh the same way. 2. Failover: three endpoints under steady load, one SIGKILLed. 3. Overload: 200
//    closed-loop callers against a service whose bulkhead admits 20 calls of 10 ms (capacity 2,000 calls/s).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { platformRssMb, startPlatform } from "./lib-platform.js";
import * as grpc from "@grpc/grpc-js";
import { create } from "@bufbuild/protobuf";
import { Code, SwitchyardError } from "@switchyard/core";
import { LocalTable, MemoryPolicySource, MemoryRegistry, MeshEvents, createClient, createMeshRuntime, createPolicyStore, dataDirIdentity, retryAfterMs, toGrpcServiceDefinition, type MeshClient, type MeshCredentials } from "@switchyard/mesh";
import { createMeshMetrics } from "@switchyard/mesh/metrics";
import { Echo, EchoRequestSchema, registerWhileAlive, spawnEcho, startEcho, type EchoChild } from "@switchyard/mesh/testing";

// Services run from dist without --enable-source-maps; tsx turns them on, which makes every error's stack costly.
process.setSourceMapsEnabled(false);

const ROUNDS = Number(process.env.BENCH_MESH_ROUNDS ?? 8);
const THROUGHPUT_MS = Number(process.env.BENCH_MESH_THROUGHPUT_MS ?? 1200);
const LATENCY_CALLS = Number(process.env.BENCH_MESH_LATENCY_CALLS ?? 1500);
const PAYLOAD = new Uint8Array(1024).fill(7);
const REQUEST = create(EchoRequestSchema, { payload: PAYLOAD });

const POLICIES = (host: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host}}
spec:
  host: ${host}
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    outlierDetection: {consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 10s, maxEjectionPercent: 50}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${host}}
spec:
  hosts: [${host}]
  http:
  - route: [{destination: {host: ${host}}}]
    retries: {attempts: 2, retryOn: "unavailable,cancelled,connect-failure,reset"}
---
apiVersion: mesh.switchyard.io/v1
kind: ResiliencePolicy
metadata: {name: ${host}}
spec:
  host: ${host}
  circuitBreaker: {consecutiveFailures: 50, openTime: 5s}
  retryBudget: {percent: 20, minRetriesPerSecond: 10}
`;

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
};
const median = (xs: number[]) => percentile(xs, 50);
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const TICK_US = 1e6 / 100; // /proc clock ticks (USER_HZ = 100)

/** CPU time (µs) a child has used so far, from /proc/<pid>/stat. */
function childCpuUs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(f[11]) + Number(f[12])) * TICK_US;
}
function childRssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}
const selfCpuUs = () => {
  const u = process.cpuUsage();
  return u.user + u.system;
};

type Call = () => Promise<unknown>;

async function throughput(call: Call, concurrency: number, ms: number, serverPid: number): Promise<{ rps: number; cpuUsPerCall: number; clientCpuUsPerCall: number }> {
  const end = performance.now() + ms;
  let done = 0;
  const c0 = selfCpuUs();
  const s0 = childCpuUs(serverPid);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        await call();
        done++;
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  const client = selfCpuUs() - c0;
  const server = childCpuUs(serverPid) - s0;
  return { rps: done / secs, cpuUsPerCall: (client + server) / done, clientCpuUsPerCall: client / done };
}

function meshRuntime(host: string, serviceName: string, credentials?: MeshCredentials) {
  const events = new MeshEvents();
  const source = new MemoryPolicySource();
  source.apply({ bench: POLICIES(host) });
  const policies = createPolicyStore({ source, events });
  const metrics = createMeshMetrics({ events });
  return { rt: createMeshRuntime({ serviceName, events, policies, ...(credentials ? { credentials } : {}) }), events, policies, metrics };
}

/**
 * The mesh with mutual TLS against the plaintext mesh: two echo children (one serving mTLS with a certificate of a
 * fresh CA, one plaintext), the same policies, rounds alternated; throughput at c=64 (pair ratios) and latency at c=1
 * (calls interleaved one by one).
 */
async function mtlsCompare(registry: MemoryRegistry) {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-bench-mtls-"));
  const plainChild = await spawnEcho(["--id", "plain", "--name", "echo-plain"]);
  const mtlsChild = await spawnEcho(["--id", "mtls", "--name", "echo-mtls", "--mtls", dir]);
  await registerWhileAlive(registry, plainChild, "echo-plain", "plain", {}, 2000);
  await registerWhileAlive(registry, mtlsChild, "echo-mtls", "mtls", {}, 2000);
  const identity = dataDirIdentity(dir, "bench-client");
  await identity.ready;
  const plain = meshRuntime("echo-plain", "bench-client");
  const secure = meshRuntime("echo-mtls", "bench-client", identity);
  await Promise.all([plain.policies.ready(), secure.policies.ready()]);
  const plainClient = createClient(Echo, { target: "mesh:///echo-plain", registry, runtime: plain.rt });
  const mtlsClient = createClient(Echo, { target: "mesh:///echo-mtls", registry, runtime: secure.rt });
  const calls = { plain: () => plainClient.echo(REQUEST), mtls: () => mtlsClient.echo(REQUEST) };
  const pids = { plain: plainChild.proc.pid!, mtls: mtlsChild.proc.pid! };
  for (const k of ["plain", "mtls"] as const) await throughput(calls[k], 64, 500, pids[k]);
  const rps = { plain: [] as number[], mtls: [] as number[] };
  const cpu = { plain: [] as number[], mtls: [] as number[] };
  const ratios: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    for (const k of i % 2 === 0 ? (["plain", "mtls"] as const) : (["mtls", "plain"] as const)) {
      const t = await throughput(calls[k], 64, THROUGHPUT_MS, pids[k]);
      rps[k].push(t.rps);
      cpu[k].push(t.cpuUsPerCall);
    }
    ratios.push(rps.mtls.at(-1)! / rps.plain.at(-1)!);
  }
  const lat = { plain: [] as number[], mtls: [] as number[] };
  for (let i = 0; i < LATENCY_CALLS * ROUNDS; i++) {
    for (const k of i % 2 === 0 ? (["plain", "mtls"] as const) : (["mtls", "plain"] as const)) {
      const t = performance.now();
      await calls[k]();
      lat[k].push((performance.now() - t) * 1000);
    }
  }
  plainClient.close();
  mtlsClient.close();
  identity.close();
  await Promise.all([plainChild.kill("SIGTERM"), mtlsChild.kill("SIGTERM")]);
  rmSync(dir, { recursive: true, force: true });
  return { rps, cpu, lat, throughputRatio: median(ratios) };
}

async function compare(registry: MemoryRegistry) {
  const child = await spawnEcho(["--id", "bench", "--raw", "--metrics", "--name", "echo-bench"]);
  await registerWhileAlive(registry, child, "echo-bench", "bench", {}, 2000);
  const { rt, policies, metrics } = meshRuntime("echo-bench", "bench-client");
  await policies.ready();
  const mesh = createClient(Echo, { target: "mesh:///echo-bench", registry, runtime: rt });
  const def = toGrpcServiceDefinition(Echo).echo!;
  const raw = new grpc.Client(child.rawAddress!, grpc.credentials.createInsecure(), { "grpc.keepalive_time_ms": 30_000 });
  const rawCall: Call = () =>
    new Promise((resolve, reject) =>
      raw.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, REQUEST, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r))),
    );
  const meshCall: Call = () => mesh.echo(REQUEST);
  for (const c of [rawCall, meshCall]) await throughput(c, 64, 500, child.proc.pid!); // warm-up: JIT, connections
  const r = { raw: { rps: [] as number[], cpu: [] as number[], clientCpu: [] as number[], lat: [] as number[] }, mesh: { rps: [] as number[], cpu: [] as number[], clientCpu: [] as number[], lat: [] as number[] }, pairRatios: [] as number[] };
  for (let round_ = 0; round_ < ROUNDS; round_++) {
    const order = round_ % 2 === 0 ? (["raw", "mesh"] as const) : (["mesh", "raw"] as const);
    for (const which of order) {
      const call = which === "raw" ? rawCall : meshCall;
      const t = await throughput(call, 64, THROUGHPUT_MS, child.proc.pid!);
      r[which].rps.push(t.rps);
      r[which].cpu.push(t.cpuUsPerCall);
      r[which].clientCpu.push(t.clientCpuUsPerCall);
    }
    // Each round's raw and mesh ran back to back: their ratio is the least disturbed by drift on a shared machine.
    r.pairRatios.push(r.mesh.rps.at(-1)! / r.raw.rps.at(-1)!);
  }
  // Latency at concurrency 1, raw and mesh calls interleaved one by one (order swapped every pair), so that whatever
  // else runs on the machine hits both alike.
  for (let i = 0; i < LATENCY_CALLS * ROUNDS; i++) {
    const pair = i % 2 === 0 ? ([["raw", rawCall], ["mesh", meshCall]] as const) : ([["mesh", meshCall], ["raw", rawCall]] as const);
    for (const [which, call] of pair) {
      const t = performance.now();
      await call();
      r[which].lat.push((performance.now() - t) * 1000);
    }
  }
  const metricsText = await metrics.text();
  mesh.close();
  raw.close();
  await child.kill("SIGTERM");
  return { r, metricsLines: metricsText.split("\n").filter((l) => l.startsWith("grpc_client_handled_total")).length };
}

async function failover(registry: MemoryRegistry) {
  const children: EchoChild[] = [];
  for (const id of ["f1", "f2", "f3"]) {
    const c = await spawnEcho(["--id", id, "--name", "echo-failover"]);
    await registerWhileAlive(registry, c, "echo-failover", id, {}, 1000);
    children.push(c);
  }
  const { rt, events, policies } = meshRuntime("echo-failover", "bench-client");
  await policies.ready();
  const client = createClient(Echo, { target: "mesh:///echo-failover", registry, runtime: rt });
  const disturbed: number[] = [];
  let leftRotationAt: number | undefined;
  events.on("retry", () => disturbed.push(performance.now()));
  events.on("endpointState", (e) => {
    if (e.endpoint === children[1]!.address && e.state !== "serving" && leftRotationAt === undefined) leftRotationAt = performance.now();
  });
  let ok = 0;
  let failed = 0;
  const byInstance: Record<string, number> = {};
  let stop = false;
  const workers = Array.from({ length: 16 }, async () => {
    while (!stop) {
      try {
        const r = await client.echo(REQUEST);
        ok++;
        byInstance[r.instance] = (byInstance[r.instance] ?? 0) + 1;
      } catch {
        failed++;
        disturbed.push(performance.now());
      }
    }
  });
  await sleep(1500);
  const killedAt = performance.now();
  await children[1]!.kill("SIGKILL");
  await sleep(2500);
  stop = true;
  await Promise.all(workers);
  const after = disturbed.filter((t) => t >= killedAt);
  client.close();
  await Promise.all([children[0]!.kill("SIGTERM"), children[2]!.kill("SIGTERM")]);
  return {
    total: ok + failed,
    failedPct: (100 * failed) / (ok + failed),
    failed,
    retriesAfterKill: after.length,
    recoveryMs: after.length === 0 ? 0 : Math.max(...after) - killedAt,
    leftRotationMs: leftRotationAt === undefined ? NaN : leftRotationAt - killedAt,
    byInstance,
  };
}

/**
 * `bulkhead`: the mesh's BulkheadPolicy admits 20 calls and queues 20. `semaphore`, its baseline: no policy, the
 * handler itself admits 20 and queues 20 with a plain semaphore (echo-child --semaphore) — same callers, same harness.
 */
let overloadRuns = 0;
async function overload(registry: MemoryRegistry, mode: "bulkhead" | "semaphore" = "bulkhead") {
  const id = `o${++overloadRuns}`;
  // Each run its own service name: the previous run's instance may still be listed until its lease lapses.
  const host = `echo-overload-${id}`;
  const yaml = `apiVersion: mesh.switchyard.io/v1
kind: BulkheadPolicy
metadata: {name: overload}
spec:
  host: ${host}
  methods: [{method: Echo, maxConcurrent: 20, maxQueue: 20}]
`;
  const child = await spawnEcho(["--id", id, "--name", host, "--delay-ms", "10", "--metrics", ...(mode === "semaphore" ? ["--semaphore", "20:20"] : [])], mode === "bulkhead" ? { MESH_POLICY_YAML: yaml } : {}, ["--expose-gc"]);
  await registerWhileAlive(registry, child, host, id, {}, 2000);
  const events = new MeshEvents();
  const source = new MemoryPolicySource();
  // The caller's mesh: adaptive throttling refuses locally (no request sent) the share the service keeps refusing.
  source.apply({
    overload: `apiVersion: mesh.switchyard.io/v1
kind: ResiliencePolicy
metadata: {name: overload}
spec:
  host: ${host}
  adaptiveThrottling: {requestsPerAccept: 1.5, window: 2s}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: overload}
spec:
  hosts: [${host}]
  http: [{route: [{destination: {host: ${host}}}], retries: {attempts: 0}}]
`,
  });
  const policies = createPolicyStore({ source, events });
  createMeshMetrics({ events });
  const rt = createMeshRuntime({ serviceName: "bench-client", events, policies });
  await policies.ready();
  const client: MeshClient<typeof Echo> = createClient(Echo, { target: `mesh:///${host}`, registry, runtime: rt });
  const small = create(EchoRequestSchema, { payload: new Uint8Array(64) });
  await Promise.all(Array.from({ length: 20 }, () => client.echo(small)));
  const admitted: number[] = [];
  let refused = 0;
  let stop = false;
  const rss0 = childRssMb(child.proc.pid!);
  const heap0 = process.memoryUsage().heapUsed / 2 ** 20;
  const rssSamples: number[] = [];
  const sampler = setInterval(() => rssSamples.push(childRssMb(child.proc.pid!)), 500);
  const DURATION_MS = 5000;
  const t0 = performance.now();
  // Well-behaved closed-loop callers: on RESOURCE_EXHAUSTED they wait the server's retry-after hint, with full jitter,
  // doubling it on consecutive refusals (gRPC's retry pushback with exponential backoff).
  await Promise.all(
    Array.from({ length: 200 }, async () => {
      let refusals = 0;
      while (!stop && performance.now() - t0 < DURATION_MS) {
        const t = performance.now();
        try {
          await client.echo(small);
          admitted.push(performance.now() - t);
          refusals = 0;
        } catch (e) {
          if (!(e instanceof SwitchyardError) || e.code !== Code.ResourceExhausted) throw e;
          refused++;
          const hint = retryAfterMs(e) ?? 10;
          await sleep(Math.random() * Math.min(500, hint * 2 ** refusals));
          refusals = Math.min(refusals + 1, 5);
        }
      }
    }),
  );
  const secs = (performance.now() - t0) / 1000;
  clearInterval(sampler);
  const rss1 = childRssMb(child.proc.pid!);
  const heap1 = process.memoryUsage().heapUsed / 2 ** 20;
  client.close();
  await child.kill("SIGTERM");
  const server = child.stats;
  return {
    goodput: admitted.length / secs, admittedP50: percentile(admitted, 50), admittedP99: percentile(admitted, 99), refusedPerSec: refused / secs, rss0, rss1, rssSamples, heap0, heap1,
    serverP50: server?.p50Ms ?? NaN, serverP99: server?.p99Ms ?? NaN, timerLateMeanMs: server?.timerLateMeanMs ?? NaN, serverHeapBefore: child.readyHeapMb, serverHeapAfter: server?.heapMb ?? NaN,
  };
}

/** The governance chain alone: a co-hosted call (client and server chains, metrics on both, no gRPC), CPU per call. */
async function chainCost(): Promise<number> {
  const { rt, policies } = meshRuntime("echo-local", "bench-client");
  await policies.ready();
  const local = new LocalTable();
  const runtime = createMeshRuntime({ serviceName: "bench-client", events: rt.events, policies: rt.policies, local });
  const server = await startEcho({ id: "l", name: "echo-local", runtime, listen: false });
  const client = createClient(Echo, { target: "mesh:///echo-local", runtime });
  const run = async (n: number) => {
    const c0 = selfCpuUs();
    await Promise.all(Array.from({ length: 32 }, async (_, w) => {
      for (let i = w; i < n; i += 32) await client.echo(REQUEST);
    }));
    return (selfCpuUs() - c0) / n;
  };
  await run(20_000);
  const us = median([await run(50_000), await run(50_000), await run(50_000)]);
  client.close();
  await server.stop();
  return us;
}

async function main() {
  const registry = new MemoryRegistry({ sweepMs: 100 });
  const { r, metricsLines } = await compare(registry);
  const throughputRatio = median(r.pairRatios);
  const p = (xs: number[], q: number) => percentile(xs, q);
  const chainUs = await chainCost();
  const tls = await mtlsCompare(registry);
  const fo = await failover(registry);
  // The bulkhead beside its baseline, alternated (semaphore, bulkhead, bulkhead, semaphore) so drift hits both alike.
  const base1 = await overload(registry, "semaphore");
  const ov = await overload(registry, "bulkhead");
  const ov2 = await overload(registry, "bulkhead");
  const base2 = await overload(registry, "semaphore");
  const overloadGoodputVsBaseline = (ov.goodput + ov2.goodput) / (base1.goodput + base2.goodput);
  // CPU per call, mesh over raw, round by round (each round's two ran back to back).
  const cpuPerCallRatio = median(r.mesh.cpu.map((c, i) => c / r.raw.cpu[i]!));
  await registry.close();
  // `up --single-process` (every service in one process, calls in memory) beside the multi-process platform, idle.
  const rss = async (args: string[]) => {
    const pf = await startPlatform(args);
    await new Promise((res) => setTimeout(res, 2000));
    const mb = platformRssMb(pf.dataDir);
    await pf.stop();
    return mb;
  };
  const singleMb = await rss(["--single-process"]);
  const multiMb = await rss([]);

  const result = {
    throughputRatio: round(throughputRatio, 3),
    addedP50Us: round(p(r.mesh.lat, 50) - p(r.raw.lat, 50), 1),
    addedP99Us: round(p(r.mesh.lat, 99) - p(r.raw.lat, 99), 1),
    cpuUsPerCallRaw: round(median(r.raw.cpu), 1),
    cpuUsPerCallMesh: round(median(r.mesh.cpu), 1),
    failoverFailedPct: round(fo.failedPct, 3),
    failoverRecoveryMs: round(fo.recoveryMs, 1),
    overloadGoodputRatio: round(ov.goodput / 2000, 3),
    overloadAdmittedP99Ms: round(ov.admittedP99, 1),
    overloadGoodputVsBaseline: round(overloadGoodputVsBaseline, 3),
    cpuPerCallRatio: round(cpuPerCallRatio, 3),
    singleProcessRssMb: round(singleMb, 1),
    mtlsThroughputRatio: round(tls.throughputRatio, 3),
    mtlsAddedP50Us: round(p(tls.lat.mtls, 50) - p(tls.lat.plain, 50), 1),
  };
  const rounds = (xs: number[]) => xs.map((x) => Math.round(x)).join(" ");
  console.log(`mesh benchmark (${ROUNDS} alternating throughput rounds of ${THROUGHPUT_MS} ms; ${LATENCY_CALLS * ROUNDS} latency calls each, interleaved; echo server in a child process)`);
  console.log(`  throughput c=64    raw ${Math.round(median(r.raw.rps))}/s   mesh ${Math.round(median(r.mesh.rps))}/s   ratio ${result.throughputRatio}   (goal ≥ 0.90)`);
  console.log(`                     rounds raw [${rounds(r.raw.rps)}]  mesh [${rounds(r.mesh.rps)}]  ratios [${r.pairRatios.map((x) => round(x, 2)).join(" ")}]`);
  console.log(`  latency c=1        raw p50 ${round(p(r.raw.lat, 50), 0)} µs p99 ${round(p(r.raw.lat, 99), 0)} µs   mesh p50 ${round(p(r.mesh.lat, 50), 0)} µs p99 ${round(p(r.mesh.lat, 99), 0)} µs`);
  console.log(`                     added p50 ${result.addedP50Us} µs (goal ≤ 30)   p99 ${result.addedP99Us} µs (goal ≤ 100)`);
  console.log(`  CPU per call       raw ${result.cpuUsPerCallRaw} µs   mesh ${result.cpuUsPerCallMesh} µs   (client + server; client alone: raw ${round(median(r.raw.clientCpu), 1)} µs, mesh ${round(median(r.mesh.clientCpu), 1)} µs)`);
  console.log(`                     mesh ÷ raw CPU per call ${result.cpuPerCallRatio} (median of the rounds' ratios; goal ≤ 1.15)`);
  console.log(`  governance chain   ${round(chainUs, 1)} µs CPU per co-hosted call (client + server chains, routing, retry policy, outlier, breaker, metrics; no gRPC)`);
  console.log(`  metrics            ${metricsLines} client RED series exported during the run`);
  console.log(`  failover           ${fo.total} calls, ${fo.failed} failed (${result.failoverFailedPct}%, goal ≤ 0.1%); ${fo.retriesAfterKill} retried after the kill; survivors carry all traffic ${result.failoverRecoveryMs} ms after SIGKILL; endpoint out of rotation after ${round(fo.leftRotationMs, 1)} ms`);
  console.log(`                     calls by instance ${JSON.stringify(fo.byInstance)}`);
  console.log(`  overload           goodput ${Math.round(ov.goodput)}/s of 2,000 (ratio ${result.overloadGoodputRatio}, goal ≥ 0.90); admitted p50 ${round(ov.admittedP50, 1)} ms p99 ${result.overloadAdmittedP99Ms} ms (goal ≤ 30); ${Math.round(ov.refusedPerSec)} refusals/s`);
  console.log(`                     beside a plain semaphore in the handler (same 20 slots + 20 queued, same callers): goodput ${Math.round(base1.goodput)} and ${Math.round(base2.goodput)}/s against the bulkhead's ${Math.round(ov.goodput)} and ${Math.round(ov2.goodput)}/s — ratio ${result.overloadGoodputVsBaseline} (goal ≥ 0.95); baseline admitted p99 ${round(Math.max(base1.admittedP99, base2.admittedP99), 1)} ms`);
  console.log(`                     server-side (admission wait + handler) p50 ${round(ov.serverP50, 1)} ms p99 ${round(ov.serverP99, 1)} ms; a 10 ms timer fires ${round(ov.timerLateMeanMs, 2)} ms late on average there, so 20 slots hold at most ${Math.round(20_000 / (10 + ov.timerLateMeanMs))} calls/s`);
  console.log(`                     server heap after a full GC ${round(ov.serverHeapBefore, 1)} MB before → ${round(ov.serverHeapAfter, 1)} MB after; RSS ${round(ov.rss0, 0)} MB before, every 0.5 s [${ov.rssSamples.map((x) => round(x, 0)).join(" ")}]; client heap ${round(ov.heap0, 1)} → ${round(ov.heap1, 1)} MB`);
  console.log(`  mutual TLS         plaintext mesh ${Math.round(median(tls.rps.plain))}/s   mTLS mesh ${Math.round(median(tls.rps.mtls))}/s at c=64   ratio ${result.mtlsThroughputRatio} (goal ≥ 0.85)   CPU per call ${round(median(tls.cpu.plain), 1)} → ${round(median(tls.cpu.mtls), 1)} µs`);
  console.log(`                     latency c=1 p50 ${round(p(tls.lat.plain, 50), 0)} → ${round(p(tls.lat.mtls, 50), 0)} µs: added ${result.mtlsAddedP50Us} µs (goal ≤ 50); p99 ${round(p(tls.lat.plain, 99), 0)} → ${round(p(tls.lat.mtls, 99), 0)} µs`);
  console.log(`  single process     up --single-process idle RSS ${round(singleMb, 1)} MB   (multi-process: ${round(multiMb, 1)} MB summed over supervisor + control + jobs + gateway)`);
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
