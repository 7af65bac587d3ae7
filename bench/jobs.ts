// npm run bench -- jobs
// 1. Submit → Running for trivial jobs (the command records when it started), beside the same command spawned directly
//    the same way the executor starts it (as nobody through setpriv, in bubblewrap, at nice 10, where those apply).
// 2. Each service's RSS (and PSS) after a warm-up that calls every one of its methods, then a forced GC.
// 3. Submissions per second of ordinary jobs into a queue that is full (they stay Queued), each answered after its
//    commit, from 32 callers over REST. Beside it, the same client against a minimal node:http server doing the same
//    SQLite insert with the same durability.
// 4. The same again (N_KILL more) with the jobs service killed with SIGKILL half-way (the supervisor restarts it,
//    callers retry with the same request id): every acknowledged submission must be there afterwards. Then each
//    service's RSS again after a GC, holding those thousands of queued jobs.
// Also: `switchyard up`'s time until it answers and the idle RSS of all its processes.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { probeSandbox } from "@switchyard/executors";
import { percentile, platformRssMb, round, startPlatform, submitAll as submitBodies } from "./lib-platform.js";
import { warmUpEveryMethod } from "./lib-warmup.js";

const N_RUN = Number(process.env.BENCH_JOBS ?? 100);
const N_SUBMIT = Number(process.env.BENCH_SUBMISSIONS ?? 3000);
const N_KILL = Number(process.env.BENCH_KILL_SUBMISSIONS ?? 1000);
const CONCURRENCY = 32;
const SCRIPT = "date +%s%3N";

function manifest(name: string, queue = "default"): string {
  return JSON.stringify({ apiVersion: "switchyard/v1", kind: "Job", metadata: { name }, spec: { queue, command: ["/bin/sh", "-c", SCRIPT], resources: { cpu: "1m", memory: "1Mi" } } });
}

/** The command as the executor starts it: as nobody, in bubblewrap, at nice 10 (as root); at nice 10 otherwise. */
async function directArgv(): Promise<string[]> {
  const root = process.getuid?.() === 0;
  const sandbox = await probeSandbox(root ? { asUid: 65534, asGid: 65534 } : {});
  const switchUser = root ? ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--no-new-privs", "--"] : [];
  const bwrap = sandbox.ok ? [sandbox.bwrapPath, "--die-with-parent", "--unshare-pid", "--unshare-ipc", "--bind", "/", "/", "--dev-bind", "/dev", "/dev", "--proc", "/proc", "--tmpfs", "/dev/shm", "--"] : [];
  return ["nice", "-n", "10", ...switchUser, ...bwrap, "/bin/sh", "-c", SCRIPT];
}

async function directSpawnMs(argv: string[]): Promise<number> {
  const t0 = Date.now();
  const out = await new Promise<string>((resolve) => {
    let s = "";
    const c = spawn(argv[0]!, argv.slice(1), { stdio: ["ignore", "pipe", "ignore"] });
    c.stdout.on("data", (d: Buffer) => (s += d.toString()));
    c.on("close", () => resolve(s));
  });
  return Number(out.trim()) - t0;
}

/** Ordinary jobs into the full queue (they stay Queued), from CONCURRENCY callers (lib-platform.ts `submitAll`). */
function submitAll(url: string, token: string, names: string[], onAck?: (n: number) => void): Promise<{ acked: Set<string>; seconds: number; retries: number }> {
  return submitBodies(url, token, names.map((name) => ({ name, manifest: manifest(name, "full") })), { concurrency: CONCURRENCY, ...(onAck ? { onAck } : {}) });
}

async function minimalRate(names: string[], dir: string): Promise<number> {
  const child = spawn(process.execPath, ["--import", "tsx", new URL("./lib-minimal.ts", import.meta.url).pathname, join(dir, "minimal.db")], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve) => child.stdout.once("data", (d: Buffer) => resolve(Number(d.toString().trim()))));
  const r = await submitAll(`http://127.0.0.1:${port}`, "-", names);
  child.kill("SIGTERM");
  return names.length / r.seconds;
}

const rss = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;
/** Proportional set size: pages shared with the other services (Node's own code, ~40 MB of each RSS) counted once. */
const pss = (pid: number) => Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0) / 1024;

/** Each service's RSS and PSS (MB) after three forced GCs (SIGUSR2 runs gc() in a service started with --expose-gc). */
async function memoryAfterGc(dataDir: string): Promise<{ rss: Record<string, number>; pss: Record<string, number> }> {
  const services = (JSON.parse(readFileSync(join(dataDir, "up.json"), "utf8")) as { services: Record<string, number> }).services;
  for (let i = 0; i < 3; i++) {
    for (const pid of Object.values(services)) process.kill(pid, "SIGUSR2");
    await new Promise((r) => setTimeout(r, 1000));
  }
  const of = (f: (pid: number) => number) => Object.fromEntries(Object.entries(services).map(([s, pid]) => [s, round(f(pid), 1)]));
  return { rss: of(rss), pss: of(pss) };
}

/** The platform under test, stopped on a failure too (a failed run must not leave `up` running). */
let running: { stop(): Promise<void> } | undefined;

async function main(): Promise<void> {
  const p = await startPlatform([], { SWITCHYARD_NODE_ARGS: `--expose-gc ${process.env.BENCH_NODE_ARGS ?? ""}`.trim() });
  running = p;
  const upReadyMs = p.readyMs;
  await new Promise((r) => setTimeout(r, 2000));
  const upIdleRssMb = platformRssMb(p.dataDir);
  const auth = { authorization: `Bearer ${p.token}`, "content-type": "application/json" };

  // 1. submit → running, one job at a time, alternating with a direct spawn so drift hits both.
  const argv = await directArgv();
  const viaPlatform: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < N_RUN; i++) {
    const name = `t${i}`;
    const r = (await (await fetch(`${p.url}/v1/jobs`, { method: "POST", headers: auth, body: JSON.stringify({ manifest: manifest(name), requestId: randomUUID() }) })).json()) as { job: { metadata: { creationTimestamp: string } } };
    const created = Date.parse(r.job.metadata.creationTimestamp);
    let log = "";
    while (!log.trim()) log = await (await fetch(`${p.url}/v1/jobs/${name}/logs?follow=true&alt=media`, { headers: auth })).text();
    viaPlatform.push(Number(log.trim()) - created);
    direct.push(await directSpawnMs(argv));
  }
  viaPlatform.sort((a, b) => a - b);
  direct.sort((a, b) => a - b);

  // 2. each service's RSS after every method was called, and a forced GC (services run with --expose-gc).
  await warmUpEveryMethod(p.url, p.token);
  const warm = await memoryAfterGc(p.dataDir);

  // 3. ordinary jobs into a full queue, beside the minimal server.
  await fetch(`${p.url}/v1/queues:apply`, { method: "POST", headers: auth, body: JSON.stringify({ yaml: "queues:\n  - name: full\n    team: default\n    resources: {cpuMilli: {nominalQuota: 0}}\n  - name: default\n    team: default\n    resources: {cpuMilli: {nominalQuota: 100000}}\n" }) });
  const names = Array.from({ length: N_SUBMIT }, (_, i) => `s${i}`);
  const sub = await submitAll(p.url, p.token, names);
  const minimal = await minimalRate(names.map((n) => `m${n}`), p.dir);

  // 4. more of them, with a SIGKILL of the jobs service half-way.
  const jobsPid = (JSON.parse(readFileSync(join(p.dataDir, "up.json"), "utf8")) as { services: Record<string, number> }).services["jobs"]!;
  const killNames = Array.from({ length: N_KILL }, (_, i) => `k${i}`);
  let killed = false;
  const kill = await submitAll(p.url, p.token, killNames, (n) => {
    if (!killed && n >= N_KILL / 2) {
      killed = true;
      process.kill(jobsPid, "SIGKILL");
    }
  });
  const listed = (await (await fetch(`${p.url}/v1/jobs?limit=${N_RUN + N_SUBMIT + N_KILL + 100}`, { headers: auth })).json()) as { jobs: { metadata: { name: string }; status: { phase: string } }[] };
  const present = new Set(listed.jobs.map((j) => j.metadata.name));
  const lost = [...sub.acked, ...kill.acked].filter((n) => !present.has(n)).length;
  const stillQueued = listed.jobs.filter((j) => /^[sk]\d/.test(j.metadata.name) && j.status.phase === "Queued").length;

  const afterLoad = await memoryAfterGc(p.dataDir);
  await p.stop();

  const submissionsPerSec = round(N_SUBMIT / sub.seconds, 0);
  const result = {
    submitToRunningP50Ms: percentile(viaPlatform, 50),
    submitToRunningP99Ms: percentile(viaPlatform, 99),
    directSpawnP50Ms: percentile(direct, 50),
    submitToRunningVsDirect: round(percentile(viaPlatform, 50) / Math.max(1, percentile(direct, 50)), 2),
    submissionsPerSec,
    minimalSubmissionsPerSec: round(minimal, 0),
    submissionsVsMinimal: round(submissionsPerSec / minimal, 2),
    acknowledgedLost: lost,
    stillQueued,
    retriesAfterKill: kill.retries,
    perServiceRssMb: warm.rss,
    perServicePssMb: warm.pss,
    perServiceRssAfterLoadMb: afterLoad.rss,
    upReadyMs: round(upReadyMs, 0),
    upIdleRssMb: round(upIdleRssMb, 1),
  };
  console.log(`jobs benchmark (${N_RUN} trivial jobs; ${N_SUBMIT} submissions into a full queue at concurrency ${CONCURRENCY}, then ${N_KILL} more with jobs killed -9 half-way)`);
  console.log(`  submit → running   p50 ${result.submitToRunningP50Ms} ms   p99 ${result.submitToRunningP99Ms} ms`);
  console.log(`  direct spawn       p50 ${result.directSpawnP50Ms} ms (${argv.slice(0, argv.indexOf("/bin/sh")).join(" ") || "plain"})   ratio ${result.submitToRunningVsDirect}× (goal ≤ 5)`);
  console.log(`  submissions/s      ${submissionsPerSec} (goal ≥ 1,000); minimal node:http + SQLite ${result.minimalSubmissionsPerSec}/s; ratio ${result.submissionsVsMinimal} (goal ≥ 0.3)`);
  console.log(`  kill -9 of jobs    ${lost} of ${sub.acked.size + kill.acked.size} acknowledged submissions lost (goal 0); ${kill.retries} retries while it restarted; ${stillQueued} still queued`);
  console.log(`  per-service RSS    ${JSON.stringify(warm.rss)} MB after every method and a GC (goal ≤ 64 each)`);
  console.log(`  per-service PSS    ${JSON.stringify(warm.pss)} MB (shared pages counted once: Node's own code is ~40 MB of each RSS)`);
  console.log(`  … after the load   ${JSON.stringify(afterLoad.rss)} MB RSS after a GC, holding ${stillQueued} queued jobs (jobs restarted once)`);
  console.log(`  up ready           ${result.upReadyMs} ms; idle RSS ${result.upIdleRssMb} MB summed over supervisor + services`);
  console.log(JSON.stringify(result));
}

main().catch(async (err: unknown) => {
  console.error(err);
  await running?.stop().catch(() => undefined);
  process.exit(1);
});
