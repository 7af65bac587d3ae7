// npm run bench -- jobs
// 1. Submit → Running for 200 trivial jobs (the command itself records when it started), beside spawning the same
//    command directly in the same run. 2. Submissions per second through the gateway into a queue that does not start
//    them (suspended jobs). 3. `switchyard up`: time until it answers and idle RSS of all its processes.
import { spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Jobs } from "@switchyard/api";
import { percentile, platformRssMb, round, startPlatform } from "./lib-platform.js";

const N_RUN = Number(process.env.BENCH_JOBS ?? 200);
const N_SUBMIT = Number(process.env.BENCH_SUBMISSIONS ?? 3000);
const CONCURRENCY = 32;
const CMD = ["/bin/sh", "-c", "date +%s%3N"];

function manifest(name: string, suspend = false): string {
  return JSON.stringify({ apiVersion: "switchyard/v1", kind: "Job", metadata: { name }, spec: { command: CMD, resources: { cpu: "1m", memory: "1Mi" }, suspend } });
}

async function directSpawnMs(): Promise<number> {
  const t0 = Date.now();
  const out = await new Promise<string>((resolve) => {
    let s = "";
    const c = spawn(CMD[0]!, CMD.slice(1), { stdio: ["ignore", "pipe", "ignore"] });
    c.stdout.on("data", (d: Buffer) => (s += d.toString()));
    c.on("close", () => resolve(s));
  });
  return Number(out.trim()) - t0;
}

async function main(): Promise<void> {
  const p = await startPlatform();
  const upReadyMs = p.readyMs;
  await new Promise((r) => setTimeout(r, 2000));
  const upIdleRssMb = platformRssMb(p.dataDir);
  const transport = createConnectTransport({ baseUrl: p.url, httpVersion: "1.1", interceptors: [(next) => (req) => (req.header.set("authorization", `Bearer ${p.token}`), next(req))] });
  const jobs = createClient(Jobs, transport);

  // 1. submit → running, one job at a time, alternating with a direct spawn so drift hits both.
  const viaPlatform: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < N_RUN; i++) {
    const name = `t${i}`;
    const r = await jobs.submitJob({ requestId: randomUUID(), manifest: manifest(name) });
    const created = timestampMs(r.job!.metadata!.creationTimestamp!);
    let log = "";
    for (;;) {
      log = "";
      for await (const c of jobs.getLogs({ name, follow: true })) log += Buffer.from(c.data).toString();
      if (log.trim()) break;
    }
    viaPlatform.push(Number(log.trim()) - created);
    direct.push(await directSpawnMs());
  }
  viaPlatform.sort((a, b) => a - b);
  direct.sort((a, b) => a - b);

  // 2. submissions per second, suspended jobs (nothing spawns), CONCURRENCY callers.
  let next = 0;
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      for (let i = next++; i < N_SUBMIT; i = next++) await jobs.submitJob({ requestId: randomUUID(), manifest: manifest(`s${i}`, true) });
    }),
  );
  const submissionsPerSec = N_SUBMIT / ((performance.now() - t0) / 1000);
  await p.stop();

  const result = {
    submitToRunningP50Ms: percentile(viaPlatform, 50),
    submitToRunningP99Ms: percentile(viaPlatform, 99),
    directSpawnP50Ms: percentile(direct, 50),
    submissionsPerSec: round(submissionsPerSec, 0),
    upReadyMs: round(upReadyMs, 0),
    upIdleRssMb: round(upIdleRssMb, 1),
  };
  console.log(`jobs benchmark (${N_RUN} trivial jobs, ${N_SUBMIT} submissions at concurrency ${CONCURRENCY})`);
  console.log(`  submit → running   p50 ${result.submitToRunningP50Ms} ms   p99 ${result.submitToRunningP99Ms} ms   (goal p50 ≤ 50 ms, ≤ 5× direct)`);
  console.log(`  direct spawn       p50 ${result.directSpawnP50Ms} ms   p99 ${percentile(direct, 99)} ms   ratio p50 ${round(result.submitToRunningP50Ms / Math.max(1, result.directSpawnP50Ms), 1)}×`);
  console.log(`  submissions/s      ${result.submissionsPerSec}   (goal ≥ 1,000; Slurm accepts 1,000/s)`);
  console.log(`  up ready           ${result.upReadyMs} ms   (goal ≤ 3,000 ms)`);
  console.log(`  up idle RSS        ${result.upIdleRssMb} MB summed over supervisor + control + jobs + gateway   (goal ≤ 300 MB)`);
  console.log(JSON.stringify(result));
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
