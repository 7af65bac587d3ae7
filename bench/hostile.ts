// npm run bench -- hostile
// A well-behaved caller's latency with and without a hostile mix running at the same time, on one `switchyard up`:
//   - nesting bombs, alias bombs and 900 KB manifests to /v1/jobs:validate with a viewer's token;
//   - unauthenticated 200 MB uploads on REST, Connect and gRPC (4 at a time);
//   - idle connections, slowloris headers and half-open HTTP/2 prefaces (from 127.0.0.2: per-address caps apply there);
//   all from one process of their own at nice 10 (bench/lib-attacker.ts), the caller from another (bench/lib-caller.ts);
//   - two flood jobs: one printing `loss=` lines as fast as it can, one writing a 2 GB log.
// Then: service restarts (0 is the goal), each service's peak RSS (VmHWM) and its RSS after the mix and a forced GC
// (services run with --expose-gc; SIGUSR2 collects), the bytes kept of the flood job's log and the metric points kept.
import { readFileSync } from "node:fs";
import { spawn } from "node:child_process";
import { percentile, round, startPlatform } from "./lib-platform.js";

const MIX_MS = Number(process.env.BENCH_HOSTILE_MS ?? 20_000);
// BENCH_HOSTILE_PARTS=bombs,uploads,connections,floods runs only those parts (all by default): to see which costs what.
const PARTS = new Set((process.env.BENCH_HOSTILE_PARTS ?? "bombs,uploads,connections,floods").split(","));

interface UpState {
  pid: number;
  services: Record<string, number>;
  restarts: Record<string, number>;
}

const upState = (dataDir: string) => JSON.parse(readFileSync(`${dataDir}/up.json`, "utf8")) as UpState;
const status = (pid: number, field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0) / 1024;

/** The well-behaved caller (bench/lib-caller.ts), in a process of its own. */
function wellBehaved(url: string, token: string, untilMs: number): Promise<{ latencies: number[]; errors: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ["--import", "tsx", new URL("./lib-caller.ts", import.meta.url).pathname, url, token, String(Math.max(0, untilMs - Date.now()))], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as { latencies: number[]; errors: number }) : reject(new Error(`the caller exited ${code}`))));
  });
}

/** The hostile mix (bench/lib-attacker.ts) in a process of its own at nice 10. */
function attacker(url: string, token: string, ms: number): Promise<{ bombsSent: number; uploadsSent: number; closedByServer: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn("nice", ["-n", "10", process.execPath, "--import", "tsx", new URL("./lib-attacker.ts", import.meta.url).pathname, url, token, String(ms), [...PARTS].join(",")], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.on("exit", (code) => (code === 0 ? resolve(JSON.parse(out) as { bombsSent: number; uploadsSent: number; closedByServer: number }) : reject(new Error(`the attacker exited ${code}`))));
  });
}

async function main(): Promise<void> {
  const p = await startPlatform([], { SWITCHYARD_NODE_ARGS: `--expose-gc ${process.env.BENCH_NODE_ARGS ?? ""}`.trim() });
  const auth = { authorization: `Bearer ${p.token}` };
  const viewer = (await (await fetch(`${p.url}/v1/tokens`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ user: "eve", teams: ["default"], role: "viewer" }) })).json()) as { token: string };
  await new Promise((r) => setTimeout(r, 1000));
  const state0 = upState(p.dataDir);
  const idle = Object.fromEntries(Object.entries(state0.services).map(([s, pid]) => [s, status(pid, "VmRSS")]));

  // Baseline: the well-behaved caller alone.
  const base = await wellBehaved(p.url, p.token, Date.now() + MIX_MS / 2);

  // Flood jobs: metric lines and a 2 GB log (the writer keeps head + tail).
  const submit = (name: string, script: string) =>
    fetch(`${p.url}/v1/jobs`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ manifest: JSON.stringify({ apiVersion: "switchyard/v1", kind: "Job", metadata: { name }, spec: { command: ["/bin/sh", "-c", script], resources: { cpu: "10m", memory: "16Mi" } } }) }) }).then((r) => r.text());
  if (PARTS.has("floods")) {
    await submit("flood-metrics", "i=0; while [ $i -lt 2000000 ]; do echo \"loss=$i\"; i=$((i+1)); done");
    await submit("flood-log", "head -c 2000000000 /dev/zero | tr '\\0' x");
  }

  const until = Date.now() + MIX_MS;
  const [hostile, attack] = await Promise.all([wellBehaved(p.url, p.token, until), attacker(p.url, viewer.token, MIX_MS)]);
  const { bombsSent, uploadsSent } = attack;
  const conns = { closedByServer: attack.closedByServer };

  // After: restarts, peak RSS, and RSS after a forced collection.
  const state1 = upState(p.dataDir);
  const peakRssMb = Object.fromEntries(Object.entries(state1.services).map(([s, pid]) => [s, round(status(pid, "VmHWM"), 1)]));
  // Forced collections (a few, a second apart: V8 returns pages over successive GCs), and time for the jobs service's
  // manifest worker to stop after its idle timeout (5 s).
  for (let i = 0; i < 6; i++) {
    for (const pid of Object.values(state1.services)) process.kill(pid, "SIGUSR2");
    await new Promise((r) => setTimeout(r, 1000));
  }
  const rssAfterMb = Object.fromEntries(Object.entries(state1.services).map(([s, pid]) => [s, round(status(pid, "VmRSS"), 1)]));
  const metrics = PARTS.has("floods") ? ((await (await fetch(`${p.url}/v1/jobs/flood-metrics/metrics?maxPoints=10000`, { headers: auth })).json()) as { series: { points: unknown[]; totalPoints: string }[] }) : { series: [] };
  const log = PARTS.has("floods") ? Buffer.from(await (await fetch(`${p.url}/v1/jobs/flood-log/logs?alt=media`, { headers: auth })).arrayBuffer()) : Buffer.alloc(0);
  await p.stop();

  const p99 = (l: number[]) => percentile(l, 99);
  const result = {
    wellBehavedP99Ratio: round(p99(hostile.latencies) / p99(base.latencies), 2),
    wellBehavedErrors: hostile.errors,
    wellBehavedMs: { alone: { p50: round(percentile(base.latencies, 50), 1), p90: round(percentile(base.latencies, 90), 1), p99: round(p99(base.latencies), 1) }, attacked: { p50: round(percentile(hostile.latencies, 50), 1), p90: round(percentile(hostile.latencies, 90), 1), p99: round(p99(hostile.latencies), 1) } },
    serviceRestarts: Object.values(state1.restarts ?? {}).reduce((a, b) => a + b, 0),
    peakRssMb,
    idleRssMb: Object.fromEntries(Object.entries(idle).map(([s, v]) => [s, round(v, 1)])),
    rssAfterMb,
    logBytesKeptMax: log.length,
    metricPointsKeptMax: Math.max(0, ...metrics.series.map((s) => s.points.length)),
    metricPointsReported: Number(metrics.series[0]?.totalPoints ?? 0),
    hostile: { parts: [...PARTS], bombsSent, uploadsSent, connectionsHeld: PARTS.has("connections") ? 450 : 0, connectionsClosedByServer: conns.closedByServer },
    mixMs: MIX_MS,
  };
  console.log(`hostile benchmark (${MIX_MS / 1000} s of hostile mix beside a well-behaved caller)`);
  console.log(`  well-behaved p99: ${round(p99(base.latencies), 1)} ms alone, ${round(p99(hostile.latencies), 1)} ms under attack (ratio ${result.wellBehavedP99Ratio}, goal ≤ 2); errors ${hostile.errors}`);
  console.log(`  service restarts: ${result.serviceRestarts} (goal 0)`);
  console.log(`  peak RSS MB: ${JSON.stringify(peakRssMb)} (goal ≤ 300 each); after GC: ${JSON.stringify(rssAfterMb)} vs idle ${JSON.stringify(result.idleRssMb)} (goal ≤ idle + 50)`);
  console.log(`  flood log kept ${log.length} bytes of 2 GB; metric points kept ${result.metricPointsKeptMax} of ${result.metricPointsReported} reported`);
  console.log(JSON.stringify(result));
}

void main();
