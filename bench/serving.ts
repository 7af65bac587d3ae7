// npm run bench -- serving (bench/README.md, "serving")
// Two models behind `switchyard up` (a real process tree): the demo model, trained as a job of the platform and
// registered (models://demo@N), and the large MLP of examples/serving/make-large-model.mjs (file://, a 0755 dir, as the
// replica runs as nobody). ONNX Runtime on one intra-op thread everywhere (the model server's default).
// 1. Throughput, large model: items/s in process at batch 1 and 32 (the ceiling batching can reach), beside items/s
//    from 32 closed-loop callers of one row each — REST and gRPC through the gateway, gRPC to the replica's own
//    socket — to replicas with dynamic batching (at each queue delay) and without; interleaved rounds, medians; CPU
//    per request and event-loop load of every process.
// 2. Latency, demo model, concurrency 1: ONNX Runtime in process, REST and gRPC through the gateway, gRPC to the
//    replica's socket, and the same stacks without a model; interleaved; then each path's CPU per call.
// 3. Canary: a second revision at 10%, 2,000 requests, the share the canary answered.
// 4. Failover: 3 replicas under 16 callers, the busiest model server SIGKILLed 3 times, each once the last was replaced.
// 5. Cold start: a deployment with minReplicas 0, scaled to zero (no model-server process), one request timed.
// One flow from setup to clean-up (deployments deleted before `up` stops: replica jobs outlive it), hence its length.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { ROOT } from "../apps/cli/src/test-platform.js";
import { Agent, closedLoop, cpuDuring, cpuMsOf, forMs, grpcCaller, grpcClient, restCaller, restGet, socketClient, type LoadResult } from "./lib-inference.js";
import { measureThroughput, type ArmResult, type ThroughputArm } from "./lib-throughput.js";
import { percentile, round, startPlatform, type BenchPlatform } from "./lib-platform.js";
import { api, applyDeployment, deleteAllDeployments, deployment, modelServerPids, modelServerRunning, registerModel, replicaSocket, servicePids, trainDemo, until, waitReady, type Api } from "./lib-serving.js";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 6);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 32);
/** The first is the batching deployment of the figures; the others are measured beside it (BENCH_QUEUE_DELAY_US=2000,1000,3000). */
const QUEUE_DELAYS_US = (process.env.BENCH_QUEUE_DELAY_US ?? "2000,1000,3000").split(",").map(Number);
const LATENCY_CALLS = Number(process.env.BENCH_LATENCY_CALLS ?? 1000);
const CANARY_REQUESTS = 2000;
const FAILOVER_CALLERS = 16;
const FAILOVER_KILLS = Number(process.env.BENCH_FAILOVER_KILLS ?? 3);
const COLD_TRIALS = Number(process.env.BENCH_COLD_TRIALS ?? 3);
const PARTS = new Set((process.env.BENCH_PARTS ?? "throughput,latency,canary,failover,cold").split(","));
const CPU = 0.25;

/** Scale to zero and drains in seconds, not minutes (services/serving/src/config.ts). */
const SERVING_ENV = {
  SWITCHYARD_SERVING_SCALE_TO_ZERO_GRACE_MS: "2000",
  SWITCHYARD_SERVING_STABLE_WINDOW_MS: "4000",
  SWITCHYARD_SERVING_PANIC_WINDOW_MS: "1000",
  SWITCHYARD_SERVING_SCALE_DOWN_DELAY_MS: "2000",
  SWITCHYARD_SERVING_DRAIN_MS: "1000",
  SWITCHYARD_SERVING_POLICY_SETTLE_MS: "500",
};

const SESSION_OPTIONS: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all", executionProviders: ["cpu"] };

const manifest = (name: string, model: string, extra = "") =>
  `apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: ${name}}\nspec:\n  model: ${model}\n  resources: {cpu: ${CPU}, memory: 512Mi}\n${extra}`;

const row = (width: number, seed: number) => Float32Array.from({ length: width }, (_, i) => Math.sin(i + seed));
const pct = (r: LoadResult, p: number) => round(percentile(r.latencies, p), 2);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

/** Items per second of `session` at batch `batch` for `ms`, each run fed a fresh tensor (as a batcher builds one). */
async function inProcessRate(session: ort.InferenceSession, width: number, batch: number, ms: number): Promise<{ itemsPerSec: number; msPerRun: number }> {
  const rows = Array.from({ length: batch }, (_, i) => row(width, i));
  let runs = 0;
  const done = forMs(ms);
  const t0 = performance.now();
  while (!done()) {
    const data = new Float32Array(batch * width);
    rows.forEach((r, i) => data.set(r, i * width));
    await session.run({ input: new ort.Tensor("float32", data, [batch, width]) });
    runs++;
  }
  const msPerRun = (performance.now() - t0) / runs;
  return { itemsPerSec: (batch * 1000) / msPerRun, msPerRun };
}

/** Average rows per model run of deployment `model`, from the gateway's merged /metrics (the model server's series). */
async function batchRows(a: Api, model: string): Promise<{ sum: number; count: number }> {
  const text = (await a.rest("GET", "/metrics")).bytes.toString("utf8");
  let sum = 0;
  let count = 0;
  for (const line of text.split("\n")) {
    if (!line.includes(`model="${model}"`)) continue;
    const v = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (line.startsWith("switchyard_inference_batch_size_sum")) sum += v;
    if (line.startsWith("switchyard_inference_batch_size_count")) count += v;
  }
  return { sum, count };
}

let platform: BenchPlatform | undefined;
let modelsDir: string | undefined;

async function main(): Promise<void> {
  const t0 = performance.now();
  // The models' directory: nobody (the replicas' account, when root) must read the large model file itself.
  const models = (modelsDir = mkdtempSync(join(tmpdir(), "switchyard-bench-models-")));
  chmodSync(models, 0o755);
  const large = join(models, "large.onnx");
  const made = spawnSync(process.execPath, [join(ROOT, "examples/serving/make-large-model.mjs"), "--out", large], { encoding: "utf8" });
  if (made.status !== 0) throw new Error(`make-large-model: ${made.stderr}`);
  chmodSync(large, 0o644);
  const largeBytes = statSync(large).size;
  const largeParams = Number(/([\d,]+) parameters/.exec(made.stdout)![1]!.replaceAll(",", ""));

  const nodeArgs: Record<string, string> = process.env.BENCH_NODE_ARGS ? { SWITCHYARD_NODE_ARGS: process.env.BENCH_NODE_ARGS } : {};
  const p = (platform = await startPlatform([], { ...SERVING_ENV, ...nodeArgs }));
  const a = api(p.url, p.token);
  const svc = servicePids(p.dataDir);

  // The demo model, the real way: trained as a job, registered twice (version 2: the canary's), its bytes downloaded
  // for the in-process baseline.
  const trainJob = await trainDemo(a, 3, 42);
  const demo1 = await registerModel(a, "demo", `job://${trainJob}/model.onnx`);
  const demo2 = await registerModel(a, "demo", `job://${trainJob}/model.onnx`);
  const demoFile = join(models, "demo.onnx");
  const artifact = await a.rest("GET", `/v1/jobs/${trainJob}/artifacts/model.onnx`);
  if (artifact.status !== 200) throw new Error(`artifact: ${artifact.status}`);
  writeFileSync(demoFile, artifact.bytes);

  const batching = (us: number) => `  batching: {maxBatchSize: 32, maxQueueDelayMicroseconds: ${us}}\n`;
  const batchedName = (us: number) => (us === QUEUE_DELAYS_US[0] ? "large-b" : `large-b-${us}`);
  // The arms past the gateway have replicas of their own (large-direct-*), so that no replica serves two kinds of arm.
  const throughputDeployments = PARTS.has("throughput") ? ["large-nb", "large-direct-nb", "large-direct-b", ...QUEUE_DELAYS_US.map(batchedName)] : [];
  await applyDeployment(a, manifest("demo", `models://demo@${demo1.version}`, "  replicas: 1\n"));
  if (PARTS.has("throughput")) {
    for (const d of ["large-nb", "large-direct-nb"]) await applyDeployment(a, manifest(d, `file://${large}`, "  replicas: 1\n"));
    await applyDeployment(a, manifest("large-direct-b", `file://${large}`, `  replicas: 1\n${batching(QUEUE_DELAYS_US[0]!)}`));
    for (const us of QUEUE_DELAYS_US) await applyDeployment(a, manifest(batchedName(us), `file://${large}`, `  replicas: 1\n${batching(us)}`));
  }
  for (const d of ["demo", ...throughputDeployments]) await waitReady(a, d);
  const setupMs = performance.now() - t0;

  // Replicas run at the jobs' nice 10; BENCH_REPLICA_NICE=0 renices them, every thread (an experiment: what the
  // priority costs).
  if (process.env.BENCH_REPLICA_NICE !== undefined) {
    for (const d of ["demo", ...throughputDeployments]) for (const pid of modelServerPids(d)) spawnSync("renice", ["-n", process.env.BENCH_REPLICA_NICE, "-p", ...readdirSync(`/proc/${pid}/task`)]);
  }
  const largeSession = await ort.InferenceSession.create(large, SESSION_OPTIONS);
  const demoSession = await ort.InferenceSession.create(demoFile, SESSION_OPTIONS);
  const grpc = grpcClient(p.url, p.token);
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  // 1. Throughput, large model: in process at batch 1 and 32 each round, then every served arm.
  const largeRow = row(512, 7);
  const target = (model: string) => ({ url: p.url, token: p.token, model, input: "input", row: largeRow });
  const arms: ThroughputArm[] = [];
  if (PARTS.has("throughput")) {
    const server = (d: string) => modelServerPids(d)[0]!;
    const nb = server("large-nb");
    const b = server("large-b");
    const [dnb, db] = [server("large-direct-nb"), server("large-direct-b")];
    arms.push(
      // The model server's own socket, past the gateway and the mesh (same client library as the gRPC arms).
      { name: "directBatched", call: grpcCaller(target("large-direct-b"), socketClient(replicaSocket(db))), server: db, batchedModel: "large-direct-b" },
      { name: "directUnbatched", call: grpcCaller(target("large-direct-nb"), socketClient(replicaSocket(dnb))), server: dnb },
      { name: "grpcBatched", call: grpcCaller(target("large-b"), grpc), server: b, batchedModel: "large-b" },
      { name: "grpcUnbatched", call: grpcCaller(target("large-nb"), grpc), server: nb },
      { name: "restBatched", call: restCaller(target("large-b"), agent), server: b, batchedModel: "large-b" },
      { name: "restUnbatched", call: restCaller(target("large-nb"), agent), server: nb },
    );
    // Other queue delays (BENCH_QUEUE_DELAY_US=2000,1000,3000): the same arms through the gateway, same rounds.
    for (const us of QUEUE_DELAYS_US.slice(1)) {
      const d = batchedName(us);
      arms.push({ name: `grpcBatched@${us}`, call: grpcCaller(target(d), grpc), server: server(d), batchedModel: d }, { name: `restBatched@${us}`, call: restCaller(target(d), agent), server: server(d), batchedModel: d });
    }
  }
  const inProc = { b1: [] as number[], b32: [] as number[], b1Ms: [] as number[], b32Ms: [] as number[] };
  let served = new Map<string, ArmResult>();
  if (PARTS.has("throughput")) {
    for (let i = 0; i < 20; i++) await largeSession.run({ input: new ort.Tensor("float32", new Float32Array(32 * 512), [32, 512]) });
    served = await measureThroughput({
      // BENCH_ARMS=grpcBatched,… measures only those (for profiling one path at a time).
      arms: arms.filter((x) => !process.env.BENCH_ARMS || process.env.BENCH_ARMS.split(",").includes(x.name)),
      rounds: ROUNDS,
      seconds: SECONDS,
      concurrency: CONCURRENCY,
      pids: { gateway: svc.gateway!, serving: svc.serving!, jobs: svc.jobs!, control: svc.control! },
      eachRound: async () => {
        const b1 = await inProcessRate(largeSession, 512, 1, SECONDS * 500);
        const b32 = await inProcessRate(largeSession, 512, 32, SECONDS * 500);
        inProc.b1.push(b1.itemsPerSec);
        inProc.b32.push(b32.itemsPerSec);
        inProc.b1Ms.push(b1.msPerRun);
        inProc.b32Ms.push(b32.msPerRun);
      },
      batchRows: (m) => batchRows(a, m),
    });
    for (const d of throughputDeployments) await a.rest("DELETE", `/v1/deployments/${d}`);
  }
  const rate = (n: string) => served.get(n)?.itemsPerSec ?? NaN;

  // The deployments of parts 3–5 start now, beside part 2 (they are idle until their part).
  if (PARTS.has("failover")) await applyDeployment(a, manifest("failover", `models://demo@${demo1.version}`, "  replicas: 3\n"));
  const cold = `cold-${Date.now().toString(36)}`;
  if (PARTS.has("cold")) await applyDeployment(a, manifest(cold, `models://demo@${demo1.version}`, "  minReplicas: 0\n  maxReplicas: 1\n"));

  // 2. Latency at concurrency 1, demo model: in process, REST, gRPC, one after another.
  const demoRow = Float32Array.of(0.1, 0.2);
  const lat = { inProcess: [] as number[], rest: [] as number[], grpc: [] as number[], direct: [] as number[], directLive: [] as number[], grpcLive: [] as number[], restLive: [] as number[] };
  const latencyCpu: Record<string, Record<string, number>> = {};
  if (PARTS.has("latency")) {
    const one = new Agent({ keepAlive: true, maxSockets: 1 });
    const demoServer = modelServerPids("demo")[0]!;
    const demoSocket = socketClient(replicaSocket(demoServer));
    const calls = {
      inProcess: async () => void (await demoSession.run({ input: new ort.Tensor("float32", Float32Array.from(demoRow), [1, 2]) })),
      rest: restCaller({ url: p.url, token: p.token, model: "demo", input: "input", row: demoRow }, one),
      grpc: grpcCaller({ url: p.url, token: p.token, model: "demo", input: "input", row: demoRow }, grpc),
      // The replica's own socket with the same gRPC client: what the gateway and the mesh add is grpc − direct.
      direct: grpcCaller({ url: "", token: "", model: "demo", input: "input", row: demoRow }, socketClient(replicaSocket(demoServer))),
      // Floors: the same stacks without a model — ServerLive answered by the model server, and by the gateway itself.
      directLive: async () => void (await demoSocket.serverLive({})),
      grpcLive: async () => void (await grpc.serverLive({})),
      restLive: () => restGet(p.url, "/v2/health/live", one),
    };
    // BENCH_LATENCY_PATHS=rest,… measures only those (for profiling one path at a time).
    const paths = (Object.keys(calls) as (keyof typeof calls)[]).filter((k) => !process.env.BENCH_LATENCY_PATHS || process.env.BENCH_LATENCY_PATHS.split(",").includes(k));
    for (let i = 0; i < 100; i++) for (const k of paths) await calls[k]();
    for (let i = 0; i < LATENCY_CALLS; i++) {
      for (const k of paths) {
        const s = performance.now();
        await calls[k]();
        lat[k].push(performance.now() - s);
      }
    }
    for (const xs of Object.values(lat)) xs.sort((x, y) => x - y);
    // CPU per call of each path, in blocks of its own (the interleaved loop above cannot tell them apart).
    for (const k of paths) {
      const n = Math.ceil(LATENCY_CALLS / 3);
      const { cpuMs } = await cpuDuring({ gateway: svc.gateway!, modelServer: demoServer }, async () => {
        for (let i = 0; i < n; i++) await calls[k]();
      });
      latencyCpu[k] = Object.fromEntries(Object.entries(cpuMs).map(([x, v]) => [x, round(v / n, 3)]));
    }
    one.destroy();
  }

  // 3. Canary at 10%.
  let canary: LoadResult | undefined;
  if (PARTS.has("canary")) {
    const outcome = await applyDeployment(a, manifest("demo", `models://demo@${demo2.version}`, "  replicas: 1\n"), 10);
    if (outcome !== "new-revision") throw new Error(`canary apply: ${outcome}`);
    await waitReady(a, "demo", 1, 2);
    const v2 = restCaller({ url: p.url, token: p.token, model: "demo", version: "2", input: "input", row: demoRow }, agent);
    await until("the canary answering", () => v2().then(() => true, () => undefined));
    await until("the split written", async () => ((await deployment(a, "demo"))?.traffic.some((t) => t.revision === 2 && t.percent === 10) ? true : undefined));
    await new Promise((r) => setTimeout(r, 1500));
    canary = await closedLoop(restCaller({ url: p.url, token: p.token, model: "demo", input: "input", row: demoRow }, agent), 20, (sent) => sent >= CANARY_REQUESTS);
  }

  // 4. Failover: SIGKILL one of three model servers under steady load, KILLS times, each once the last was replaced.
  let failover: { result: LoadResult; recoveryMs: number[]; victimsBusyPct: number[] } | undefined;
  if (PARTS.has("failover")) {
    await waitReady(a, "failover", 3);
    let stop = false;
    const call = restCaller({ url: p.url, token: p.token, model: "failover", input: "input", row: demoRow }, agent);
    const load = closedLoop(call, FAILOVER_CALLERS, () => stop);
    const recoveryMs: number[] = [];
    const victimsBusyPct: number[] = [];
    for (let k = 0; k < FAILOVER_KILLS; k++) {
      const before = modelServerPids("failover");
      if (before.length !== 3) throw new Error(`failover: ${before.length} model servers (${before.join(",")})`);
      // The victim: the replica that worked most in the last second (it has requests in flight).
      const cpu0 = before.map((pid) => cpuMsOf(pid));
      await new Promise((r) => setTimeout(r, 1000));
      const busy = before.map((pid, i) => cpuMsOf(pid) - cpu0[i]!);
      if (busy.some(Number.isNaN)) throw new Error(`failover: a model server ended by itself before kill ${k + 1}: ${before.join(",")} → ${modelServerPids("failover").join(",")}`);
      const v = busy.indexOf(Math.max(...busy));
      victimsBusyPct.push(round(busy[v]! / 10, 0));
      const killedAt = performance.now();
      process.kill(before[v]!, "SIGKILL");
      // Replaced: serving saw it go (fewer than 3 ready), then 3 ready again with a new model server among them.
      await until("the lost replica noticed", async () => ((await deployment(a, "failover"))!.readyReplicas < 3 ? true : undefined), 30_000, 20);
      await until("three ready replicas again", async () => ((await deployment(a, "failover"))!.readyReplicas === 3 && modelServerPids("failover").some((pid) => !before.includes(pid)) ? true : undefined), 60_000, 20);
      recoveryMs.push(round(performance.now() - killedAt, 0));
    }
    await new Promise((r) => setTimeout(r, 1000));
    stop = true;
    failover = { result: await load, recoveryMs, victimsBusyPct };
  }

  // 5. Cold start from zero.
  const coldMs: number[] = [];
  if (PARTS.has("cold")) {
    const call = restCaller({ url: p.url, token: p.token, model: cold, input: "input", row: demoRow }, new Agent({ keepAlive: false }));
    for (let i = 0; i < COLD_TRIALS; i++) {
      await until(`${cold} scaled to zero`, async () => ((await deployment(a, cold))?.state === "ScaledToZero" && !modelServerRunning(cold) ? true : undefined), 90_000, 100);
      await new Promise((r) => setTimeout(r, 300));
      if (modelServerRunning(cold)) throw new Error(`${cold}: a model server runs while scaled to zero`);
      const s = performance.now();
      await call();
      coldMs.push(performance.now() - s);
    }
  }

  await deleteAllDeployments(a);
  agent.destroy();
  await largeSession.release();
  await demoSession.release();
  await p.stop();
  platform = undefined;
  rmSync(models, { recursive: true, force: true });

  // Figures.
  const b1 = median(inProc.b1);
  const b32 = median(inProc.b32);
  const ceiling = b1 > 0 ? b32 / b1 : NaN;
  const has = PARTS.has("throughput");
  const p50 = (xs: number[]) => percentile(xs, 50);
  const addedGrpc = p50(lat.grpc) - p50(lat.inProcess);
  const addedRest = p50(lat.rest) - p50(lat.inProcess);
  const canaryPct = canary ? ((canary.versions.get("2") ?? 0) / Math.max(1, canary.ok)) * 100 : NaN;
  const fo = failover?.result;
  const result = {
    batchingCeiling: round(ceiling, 2),
    batchingGain: has ? round(rate("grpcBatched") / rate("grpcUnbatched"), 2) : null,
    batchingGainRest: has ? round(rate("restBatched") / rate("restUnbatched"), 2) : null,
    batchingGainDirect: has ? round(rate("directBatched") / rate("directUnbatched"), 2) : null,
    directVsInProcess: has ? round(rate("directBatched") / b32, 2) : null,
    gatewayVsInProcess: has ? { rest: round(rate("restBatched") / b32, 2), grpc: round(rate("grpcBatched") / b32, 2) } : null,
    // REST's: its client is a bare node:http request, so the difference is the platform's path, not a client library's.
    addedP50Ms: round(addedRest, 2),
    addedP50MsGrpc: round(addedGrpc, 2),
    addedP50MsModelServer: round(p50(lat.direct) - p50(lat.inProcess), 2),
    coldStartMs: coldMs.length ? { median: round(median(coldMs), 0), max: round(Math.max(...coldMs), 0), trials: coldMs.map((x) => round(x, 0)) } : null,
    failoverFailedPct: fo ? round((fo.failed / Math.max(1, fo.ok + fo.failed)) * 100, 3) : null,
    failoverFailed: fo?.failed ?? null,
    failoverTotal: fo ? fo.ok + fo.failed : null,
    failoverRecoveryMs: failover?.recoveryMs ?? null,
    failoverVictimsBusyPct: failover?.victimsBusyPct ?? null,
    canarySplitErrorPct: canary ? round(Math.abs(canaryPct - 10), 2) : null,
    canaryObservedPct: canary ? round(canaryPct, 2) : null,
    itemsPerSec: has ? { inProcessBatch1: round(b1, 0), inProcessBatch32: round(b32, 0), ...Object.fromEntries([...served].map(([n, r]) => [n, round(r.itemsPerSec, 0)])) } : null,
    latencyMs: {
      ...Object.fromEntries([...served].map(([n, r]) => [n, { p50: pct(r.all, 50), p99: pct(r.all, 99) }])),
      demoInProcess: { p50: round(percentile(lat.inProcess, 50), 3), p99: round(percentile(lat.inProcess, 99), 3) },
      demoRest: { p50: round(percentile(lat.rest, 50), 2), p99: round(percentile(lat.rest, 99), 2) },
      demoGrpc: { p50: round(percentile(lat.grpc, 50), 2), p99: round(percentile(lat.grpc, 99), 2) },
      demoDirect: { p50: round(percentile(lat.direct, 50), 2), p99: round(percentile(lat.direct, 99), 2) },
      liveDirect: round(p50(lat.directLive), 2),
      liveGrpc: round(p50(lat.grpcLive), 2),
      liveRest: round(p50(lat.restLive), 2),
      failover: fo ? { p50: pct(fo, 50), p99: pct(fo, 99) } : null,
    },
    latencyCpuMsPerCall: PARTS.has("latency") ? latencyCpu : null,
    rowsPerBatchedRun: Object.fromEntries([...served].filter(([, r]) => r.rowsPerRun !== undefined).map(([n, r]) => [n, round(r.rowsPerRun!, 1)])),
    cpuMsPerRequest: has ? Object.fromEntries([...served].map(([n, r]) => [n, r.cpu])) : null,
    eventLoopBusyPct: has ? Object.fromEntries([...served].map(([n, r]) => [n, r.loopBusyPct])) : null,
    servedFailures: has ? Object.fromEntries([...served].map(([n, r]) => [n, r.all.failed])) : null,
    queueDelayUs: QUEUE_DELAYS_US[0],
    concurrency: CONCURRENCY,
    replicas: { large: 1, demo: 1, canary: 2, failover: 3, cold: "0–1", cpuEach: CPU },
    models: { demo: { bytes: demo1.bytes }, large: { bytes: largeBytes, params: largeParams, batch1Ms: round(median(inProc.b1Ms), 2), batch32Ms: round(median(inProc.b32Ms), 2) } },
    setupMs: round(setupMs, 0),
    totalMs: round(performance.now() - t0, 0),
  };

  const line = (label: string, text: string) => console.log(`  ${label.padEnd(22)} ${text}`);
  console.log(`serving benchmark: ${ROUNDS} interleaved rounds of ${SECONDS} s per arm at ${CONCURRENCY} closed-loop callers of one row; queue delay ${QUEUE_DELAYS_US.join(", ")} µs; replicas ${CPU} cpu each`);
  if (has) {
    const ips = result.itemsPerSec!;
    line("large in process", `batch 1 ${ips.inProcessBatch1}/s (${result.models.large.batch1Ms} ms/run)   batch 32 ${ips.inProcessBatch32}/s (${result.models.large.batch32Ms} ms/run)   batchingCeiling ${result.batchingCeiling}×`);
    for (const [n, r] of served) {
      const c = r.cpu;
      const l = r.loopBusyPct;
      line(`large ${n}`, `${round(r.itemsPerSec, 0).toLocaleString("en-US").padStart(5)}/s (rounds ${r.itemsPerSecByRound.join(", ")})   p50 ${pct(r.all, 50)} ms   p99 ${pct(r.all, 99)} ms   CPU ms/request: load generator ${c.bench}, gateway ${c.gateway}, model server ${c.modelServer}, rest ${round(c.serving! + c.jobs! + c.control! + c.others!, 2)}; event loops busy: load generator ${l.bench}%, gateway ${l.gateway}%, model server ${l.modelServer}%; machine ${round(c.machineBusyPct!, 0)}%`);
    }
    line("batchingGain", `gRPC ${result.batchingGain}×   REST ${result.batchingGainRest}×   (goal ≥ 0.8 × ceiling = ${round(0.8 * ceiling, 2)}); past the gateway ${result.batchingGainDirect}×; rows per batched run ${JSON.stringify(result.rowsPerBatchedRun)}`);
    line("gatewayVsInProcess", `REST ${result.gatewayVsInProcess!.rest}   gRPC ${result.gatewayVsInProcess!.grpc}   (batched, served ÷ in process at batch 32; goal ≥ 0.8); the model server's own socket ${result.directVsInProcess}`);
  }
  if (PARTS.has("latency")) {
    const l = result.latencyMs;
    line("demo, concurrency 1", `in process p50 ${l.demoInProcess.p50} ms (p99 ${l.demoInProcess.p99})   REST p50 ${l.demoRest.p50} (p99 ${l.demoRest.p99})   gRPC p50 ${l.demoGrpc.p50} (p99 ${l.demoGrpc.p99})   the replica's socket, gRPC, p50 ${l.demoDirect.p50} (p99 ${l.demoDirect.p99})`);
    line("addedP50Ms", `REST ${result.addedP50Ms} ms   gRPC ${result.addedP50MsGrpc} ms   (goal ≤ 1); of which the model server's socket and client ${result.addedP50MsModelServer} ms`);
    line("floors, no model", `ServerLive p50: the model server's socket ${l.liveDirect} ms, the gateway gRPC ${l.liveGrpc} ms; GET /v2/health/live ${l.liveRest} ms`);
    line("CPU ms per call", JSON.stringify(latencyCpu));
  }
  if (canary) line("canary 10%", `${result.canaryObservedPct}% of ${canary.ok} answered by revision 2 (${canary.failed} failed)   error ${result.canarySplitErrorPct} points (goal ≤ 3)`);
  if (fo) line("failover", `${fo.failed} failed of ${fo.ok + fo.failed} (${result.failoverFailedPct}%, goal ≤ 0.1) at ${FAILOVER_CALLERS} callers, ${FAILOVER_KILLS} kills (victims ${failover!.victimsBusyPct.join(", ")}% busy); replaced after ${failover!.recoveryMs.join(", ")} ms${fo.failed ? `; ${JSON.stringify([...fo.failures].slice(0, 3))}` : ""}`);
  if (coldMs.length) line("cold start", `median ${result.coldStartMs!.median} ms   max ${result.coldStartMs!.max} ms over ${coldMs.length} trials (goal ≤ 1,000)`);
  line("models", `demo ${result.models.demo.bytes} bytes; large ${round(result.models.large.bytes / 1e6, 1)} MB, ${largeParams.toLocaleString("en-US")} parameters; setup ${round(setupMs / 1000, 1)} s, total ${round(result.totalMs / 1000, 1)} s`);
  console.log(JSON.stringify(result));
}

main().catch(async (err: unknown) => {
  console.error(err);
  if (platform) {
    await deleteAllDeployments(api(platform.url, platform.token)).catch((e: unknown) => console.error("cleanup:", e));
    await platform.stop().catch(() => undefined);
  }
  if (modelsDir) rmSync(modelsDir, { recursive: true, force: true });
  process.exit(1);
});
