// npm run bench -- engines
// Starts a one-node Slurm and a PostgreSQL cluster with the project's own scripts (the ones .ci/run uses), then:
// 1. Slurm submit → running: trivial jobs through the platform with `--executor slurm` (the command prints when it
//    started), beside the same command submitted to Slurm directly (`sbatch` + `srun`, the way the executor runs a
//    replica), alternating so drift hits both, each submitted once Slurm holds no job, after a random 0–1 s (the phase
//    of slurmctld's launch pass: see slurmIdle).
// 2. PostgreSQL submissions per second: ordinary jobs into a full queue (they stay Queued), each answered after its
//    commit, from 32 callers over REST, on `--db postgres://…` and on the default SQLite, in the same run.
// 3. kill -9 of `jobs` during 200 Slurm submissions (the supervisor restarts it, callers retry with the same request
//    id); every job's command appends its name to a shared file, so a job that Slurm ran twice shows up twice.
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { percentile, round, startPlatform, submitAll as submitTo, type BenchPlatform } from "./lib-platform.js";

const submitAll = (p: BenchPlatform, bodies: { name: string; manifest: string }[], onAck?: (n: number) => void) => submitTo(p.url, p.token, bodies, onAck ? { onAck } : {});

const N_RUN = Number(process.env.BENCH_ENGINE_JOBS ?? 30);
const N_SUBMIT = Number(process.env.BENCH_SUBMISSIONS ?? 2000);
const N_KILL = Number(process.env.BENCH_KILL_SUBMISSIONS ?? 200);
const ROOT = new URL("..", import.meta.url).pathname;

function manifest(name: string, script: string, queue = "default"): string {
  return JSON.stringify({ apiVersion: "switchyard/v1", kind: "Job", metadata: { name }, spec: { queue, command: ["/bin/sh", "-c", script], resources: { cpu: "1", memory: "64Mi" } } });
}

/** Runs one of the project's engine scripts (`start DIR` prints what to connect to). */
function engineScript(script: string, verb: "start" | "stop", dir: string): string {
  return execFileSync(join(ROOT, "scripts", script), [verb, dir], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
}

const FULL_QUEUE = "queues:\n  - name: full\n    team: default\n    resources: {cpuMilli: {nominalQuota: 0}}\n  - name: default\n    team: default\n    resources: {cpuMilli: {nominalQuota: 100000}}\n";

async function submissionsPerSec(p: BenchPlatform, prefix: string): Promise<number> {
  const auth = { authorization: `Bearer ${p.token}`, "content-type": "application/json" };
  const applied = await fetch(`${p.url}/v1/queues:apply`, { method: "POST", headers: auth, body: JSON.stringify({ yaml: FULL_QUEUE }) });
  if (!applied.ok) throw new Error(`queues: ${applied.status} ${await applied.text()}`);
  // A warm-up, so both stores are measured hot.
  await submitAll(p, Array.from({ length: 200 }, (_, i) => ({ name: `${prefix}w${i}`, manifest: manifest(`${prefix}w${i}`, "true", "full") })));
  const bodies = Array.from({ length: N_SUBMIT }, (_, i) => ({ name: `${prefix}${i}`, manifest: manifest(`${prefix}${i}`, "true", "full") }));
  const r = await submitAll(p, bodies);
  return N_SUBMIT / r.seconds;
}

async function waitFinished(p: BenchPlatform, names: Set<string>, timeoutMs: number): Promise<Map<string, string>> {
  const auth = { authorization: `Bearer ${p.token}` };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const listed = (await (await fetch(`${p.url}/v1/jobs?limit=${names.size + 500}`, { headers: auth })).json()) as { jobs: { metadata: { name: string }; status: { phase: string } }[] };
    const phases = new Map(listed.jobs.filter((j) => names.has(j.metadata.name)).map((j) => [j.metadata.name, j.status.phase]));
    const open = [...phases.values()].filter((ph) => !["Succeeded", "Failed", "Cancelled"].includes(ph)).length;
    if ((open === 0 && phases.size === names.size) || Date.now() > deadline) return phases;
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The same command as a replica, straight to Slurm: `sbatch` of a batch script that `srun`s it. */
function directSlurmMs(slurmConf: string, outDir: string, i: number): Promise<number> {
  const out = join(outDir, `direct-${i}.out`);
  const t0 = Date.now();
  execFileSync("sbatch", ["--parsable", "--job-name=bench-direct", `--output=${out}`, "--cpus-per-task=1", "--mem=64M", "--uid=65534", "--gid=65534", "--wrap", "srun --ntasks=1 /bin/sh -c 'date +%s%3N'"], { env: { ...process.env, SLURM_CONF: slurmConf }, cwd: outDir, stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const poll = (): void => {
      const text = existsSync(out) ? readFileSync(out, "utf8").trim() : "";
      if (/^\d+$/.test(text)) return resolve(Number(text) - t0);
      if (Date.now() - t0 > 120_000) return reject(new Error(`direct Slurm job ${i} did not run in 2 min`));
      setTimeout(poll, 10);
    };
    poll();
  });
}

/**
 * Waits until Slurm holds no job at all (the last one has ended, epilog included; at most 30 s), then a random
 * 0–1 s more. slurmctld launches batch jobs on its ~1 s background pass, or at once when a submission lands just after
 * an event that ran the scheduler (a job's end): without the random delay the path submitted right after the other's
 * job ended rides that event (~0.65 s) and the other waits for the pass (~1 s). With it, both paths meet Slurm's cycle
 * at the same spread of phases.
 */
async function slurmIdle(slurmConf: string): Promise<void> {
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    const out = execFileSync("squeue", ["-h", "-o", "%i"], { env: { ...process.env, SLURM_CONF: slurmConf }, encoding: "utf8" }).trim();
    if (out === "") {
      await new Promise((r) => setTimeout(r, Math.random() * 1000));
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error("Slurm still holds jobs after 30 s");
}

let running: BenchPlatform | undefined;
let enginesDir: string | undefined;

async function main(): Promise<void> {
  const dir = (enginesDir = mkdtempSync(join(tmpdir(), "switchyard-bench-engines-")));
  chmodSync(dir, 0o755);
  const t0 = performance.now();
  const slurmConf = engineScript("slurm-local.sh", "start", join(dir, "slurm"));
  const slurmStartS = (performance.now() - t0) / 1000;
  const t1 = performance.now();
  const pgUrl = engineScript("postgres-local.sh", "start", join(dir, "pg"));
  const pgStartS = (performance.now() - t1) / 1000;
  const shared = join(dir, "shared");
  execFileSync("mkdir", ["-p", "-m", "1777", shared]);
  chmodSync(shared, 0o1777);
  const slurmEnv = { SLURM_CONF: slurmConf };

  // 1. submit → running on Slurm, against sbatch + srun directly.
  const p1 = (running = await startPlatform(["--executor", "slurm", "--jobs-dir", join(shared, "jobs")], slurmEnv));
  const auth = { authorization: `Bearer ${p1.token}`, "content-type": "application/json" };
  const viaPlatform: number[] = [];
  const direct: number[] = [];
  for (let i = 0; i < N_RUN; i++) {
    const name = `t${i}`;
    // Each start measured on an idle cluster: the previous allocation (the other path's) has left Slurm.
    await slurmIdle(slurmConf);
    const r = (await (await fetch(`${p1.url}/v1/jobs`, { method: "POST", headers: auth, body: JSON.stringify({ manifest: manifest(name, "date +%s%3N"), requestId: randomUUID() }) })).json()) as { job: { metadata: { creationTimestamp: string } } };
    const created = Date.parse(r.job.metadata.creationTimestamp);
    let log = "";
    while (!/^\d+$/.test(log.trim())) log = await (await fetch(`${p1.url}/v1/jobs/${name}/logs?follow=true&alt=media`, { headers: auth })).text();
    viaPlatform.push(Number(log.trim()) - created);
    await slurmIdle(slurmConf);
    direct.push(await directSlurmMs(slurmConf, shared, i));
  }
  viaPlatform.sort((a, b) => a - b);
  direct.sort((a, b) => a - b);

  // 3. kill -9 of jobs during N_KILL Slurm submissions.
  const ranFile = join(shared, "ran");
  writeFileSync(ranFile, "", { mode: 0o666 });
  chmodSync(ranFile, 0o666);
  const jobsPid = (JSON.parse(readFileSync(join(p1.dataDir, "up.json"), "utf8")) as { services: Record<string, number> }).services["jobs"]!;
  const killBodies = Array.from({ length: N_KILL }, (_, i) => ({ name: `k${i}`, manifest: manifest(`k${i}`, `echo k${i} >> ${ranFile}`) }));
  let killed = false;
  const kill = await submitAll(p1, killBodies, (n) => {
    if (!killed && n >= N_KILL / 2) {
      killed = true;
      process.kill(jobsPid, "SIGKILL");
    }
  });
  const phases = await waitFinished(p1, new Set(killBodies.map((b) => b.name)), 15 * 60_000);
  const ranCounts = new Map<string, number>();
  for (const l of readFileSync(ranFile, "utf8").split("\n").filter(Boolean)) ranCounts.set(l, (ranCounts.get(l) ?? 0) + 1);
  const jobsLost = [...kill.acked].filter((n) => phases.get(n) !== "Succeeded" || !ranCounts.has(n)).length;
  const jobsDoubled = [...ranCounts.values()].filter((c) => c > 1).length;
  await p1.stop();
  running = undefined;

  // 2. submissions per second on PostgreSQL and on SQLite, one platform each.
  const pPg = (running = await startPlatform(["--db", pgUrl]));
  const pgRate = await submissionsPerSec(pPg, "pg");
  await pPg.stop();
  const pLite = (running = await startPlatform([]));
  const liteRate = await submissionsPerSec(pLite, "lite");
  await pLite.stop();
  running = undefined;

  const result = {
    slurmSubmitToRunningP50Ms: percentile(viaPlatform, 50),
    slurmSubmitToRunningP99Ms: percentile(viaPlatform, 99),
    slurmDirectP50Ms: percentile(direct, 50),
    slurmVsDirectRatio: round(percentile(viaPlatform, 50) / Math.max(1, percentile(direct, 50)), 2),
    postgresSubmissionsPerSec: round(pgRate, 0),
    sqliteSubmissionsPerSec: round(liteRate, 0),
    postgresVsSqliteRatio: round(pgRate / liteRate, 2),
    jobsLost,
    jobsDoubled,
    killRetries: kill.retries,
    slurmStartS: round(slurmStartS, 1),
    postgresStartS: round(pgStartS, 1),
  };
  console.log(`engines benchmark (one-node Slurm and PostgreSQL 15 on this machine, started by scripts/slurm-local.sh and scripts/postgres-local.sh)`);
  console.log(`  Slurm submit → running   p50 ${result.slurmSubmitToRunningP50Ms} ms  p99 ${result.slurmSubmitToRunningP99Ms} ms (${N_RUN} jobs)`);
  console.log(`  sbatch + srun directly   p50 ${result.slurmDirectP50Ms} ms   ratio ${result.slurmVsDirectRatio}× (goal ≤ 1.5)`);
  console.log(`  submissions/s            PostgreSQL ${result.postgresSubmissionsPerSec}, SQLite ${result.sqliteSubmissionsPerSec}; ratio ${result.postgresVsSqliteRatio} (goal ≥ 0.7)`);
  console.log(`  kill -9 of jobs          during ${N_KILL} Slurm submissions: ${jobsLost} lost, ${jobsDoubled} run twice (goal 0, 0); ${kill.retries} retries`);
  console.log(`  engines start            Slurm ${result.slurmStartS} s, PostgreSQL ${result.postgresStartS} s`);
  console.log(JSON.stringify(result));
}

async function cleanup(): Promise<void> {
  await running?.stop().catch(() => undefined);
  if (enginesDir) {
    for (const [script, sub] of [["slurm-local.sh", "slurm"], ["postgres-local.sh", "pg"]] as const) {
      try {
        engineScript(script, "stop", join(enginesDir, sub));
      } catch {
        // already stopped
      }
    }
    rmSync(enginesDir, { recursive: true, force: true });
  }
}

main()
  .then(cleanup)
  .catch(async (err: unknown) => {
    console.error(err);
    await cleanup();
    process.exit(1);
  });
