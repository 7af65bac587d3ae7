import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Sandbox, shellJob, waitFor, waitForPhase } from "./test-harness.js";

// The jobs service with `SWITCHYARD_EXECUTOR=slurm` on a real one-node Slurm (slurmctld + slurmd + munge, started by
// scripts/slurm-local.sh: by .ci/run, which sets SWITCHYARD_TEST_SLURM_CONF). We place, Slurm runs: the scheduler reads
// the node and its fake GPU GRES from `scontrol show node`, and every attempt becomes one sbatch allocation pinned to
// the placement. Without a Slurm to use the suite is skipped, saying so; with SWITCHYARD_TEST_SLURM=1 it must run.
const SLURM_CONF = process.env.SWITCHYARD_TEST_SLURM_CONF;
const skip = SLURM_CONF ? false : process.env.SWITCHYARD_TEST_SLURM === "1" ? false : "no Slurm to test on: set SWITCHYARD_TEST_SLURM_CONF (scripts/slurm-local.sh start DIR prints it)";
if (skip) console.log(`# slurm.test.ts skipped: ${skip}`);

const TRAIN = fileURLToPath(new URL("../../../examples/demo-train/train.mjs", import.meta.url));
const DDP_DIR = fileURLToPath(new URL("../../../examples/pytorch-ddp/", import.meta.url));

const slurmEnv = () => ({ ...process.env, SLURM_CONF: SLURM_CONF! });
/** Slurm's jobs now, as `name state` lines (ours are named by the executor's prefix). */
function squeue(): string[] {
  return execFileSync("squeue", ["-h", "-o", "%j %T %i"], { env: slurmEnv(), encoding: "utf8" }).split("\n").filter(Boolean);
}

function job(name: string, o: { priority?: number; gpus?: number; command: string[]; extra?: Record<string, unknown> }): string {
  return JSON.stringify({
    apiVersion: "switchyard/v1",
    kind: "Job",
    metadata: { name },
    spec: { priority: o.priority ?? 0, resources: { gpus: o.gpus ?? 0, cpu: "1", memory: "64Mi" }, command: o.command, ...o.extra },
  });
}

describe("jobs on a real Slurm: we place, Slurm runs", { skip }, () => {
  const sb = new Sandbox();
  let env: Record<string, string>;
  before(() => {
    assert.ok(SLURM_CONF && existsSync(SLURM_CONF), `SWITCHYARD_TEST_SLURM=1 but no Slurm config at ${SLURM_CONF ?? "(unset)"}: start one with scripts/slurm-local.sh`);
    execFileSync("sinfo", ["-h"], { env: slurmEnv() });
    env = { SWITCHYARD_EXECUTOR: "slurm", SLURM_CONF: SLURM_CONF!, SWITCHYARD_MIN_RUN_TIME_MS: "0", SWITCHYARD_INVENTORY_REFRESH_MS: "500" };
  });
  // A failed test leaves no jobs service behind to hold the data dir's sockets for the next one.
  afterEach(async () => {
    for (const p of sb.procs) await p.stop().catch(() => undefined);
  });
  after(async () => {
    await sb.cleanup();
    // Whatever a failed test left running in Slurm (test files that use Slurm run one at a time).
    execFileSync("scancel", ["--user=nobody"], { env: slurmEnv() });
  });

  it("runs a job as one sbatch allocation: logs followed while it runs, metrics, its exit code, and nothing left in Slurm", async () => {
    const jobs = await sb.startJobs(env);
    await jobs.client.submitJob({ requestId: "life", manifest: shellJob("life", "echo step=1 loss=0.5; sleep 2; echo step=2 loss=0.25; id -u") });
    const running = await waitForPhase(jobs.client, "life", ["Running", "Succeeded"], 60_000);
    assert.equal(running.status?.replicas[0]?.node, "localhost", "placed on the Slurm node our scheduler read from scontrol");
    // Followed live: the first line arrives before the job ends.
    let first = "";
    for await (const c of jobs.client.getLogs({ name: "life", follow: true })) {
      first += Buffer.from(c.data).toString();
      if (first.includes("\n")) break;
    }
    assert.match(first, /^step=1 loss=0.5\n/);
    const done = await waitForPhase(jobs.client, "life", ["Succeeded", "Failed"], 60_000);
    assert.equal(done.status?.phase, "Succeeded");
    let log = "";
    for await (const c of jobs.client.getLogs({ name: "life" })) log += Buffer.from(c.data).toString();
    const lines = log.trim().split("\n");
    assert.equal(lines.at(-1), "65534", "the job ran as nobody, never as the platform");
    const m = await jobs.client.getMetrics({ name: "life" });
    assert.deepEqual(m.series.find((s) => s.name === "loss")?.points.map((p) => p.value), [0.5, 0.25]);
    await waitFor("the allocation to leave Slurm", async () => (squeue().some((l) => l.includes(done.metadata!.uid)) ? undefined : true), 30_000);

    await jobs.client.submitJob({ requestId: "fails", manifest: shellJob("fails", "echo bad; exit 3", "  backoffLimit: 0\n") });
    const failed = await waitForPhase(jobs.client, "fails", ["Succeeded", "Failed"], 60_000);
    assert.equal(failed.status?.phase, "Failed");
    assert.equal(failed.status?.replicas[0]?.exitCode, 3);
    await jobs.stop();
  });

  it("runs a 2-replica PyTorch DDP job (gloo) as one allocation of two tasks, with Kubeflow's environment", { skip: !existsSync("/usr/lib/python3/dist-packages/torch") && "python3-torch is not installed" }, async () => {
    const jobs = await sb.startJobs(env);
    const manifest = readFileSync(`${DDP_DIR}job.yaml`, "utf8").replace("workingDir: .", `workingDir: ${DDP_DIR}`).replace(/cpu: 500m/, "cpu: 1").replace(/memory: 1Gi/, "memory: 256Mi");
    await jobs.client.submitJob({ requestId: "ddp", manifest });
    const j = await waitForPhase(jobs.client, "pytorch-ddp", ["Succeeded", "Failed"], 120_000);
    let log0 = "";
    for await (const c of jobs.client.getLogs({ name: "pytorch-ddp", replica: 0 })) log0 += Buffer.from(c.data).toString();
    assert.equal(j.status?.phase, "Succeeded", log0);
    assert.match(log0, /allreduce ok: sum 3.0 over world size 2 \(rank 0\)/);
    const env0 = JSON.parse(/ENV (\{.*\})/.exec(log0)![1]!) as Record<string, string>;
    let log1 = "";
    for await (const c of jobs.client.getLogs({ name: "pytorch-ddp", replica: 1 })) log1 += Buffer.from(c.data).toString();
    const env1 = JSON.parse(/ENV (\{.*\})/.exec(log1)![1]!) as Record<string, string>;
    assert.deepEqual([env0.RANK, env1.RANK, env0.WORLD_SIZE, env1.WORLD_SIZE], ["0", "1", "2", "2"]);
    assert.equal(env0.MASTER_ADDR, "localhost", "MASTER_ADDR is the first node of the allocation");
    assert.equal(env1.MASTER_PORT, env0.MASTER_PORT);
    await jobs.stop();
  });

  it("cancels with scancel: TERM, then the allocation is gone", async () => {
    const jobs = await sb.startJobs({ ...env, SWITCHYARD_GRACE_MS: "3000" });
    await jobs.client.submitJob({ requestId: "cancel", manifest: shellJob("to-cancel", "trap 'echo got-term; exit 143' TERM; echo started; while true; do sleep 0.1; done") });
    const running = await waitForPhase(jobs.client, "to-cancel", ["Running"], 60_000);
    await waitFor("the job to print", async () => {
      let log = "";
      for await (const c of jobs.client.getLogs({ name: "to-cancel" })) log += Buffer.from(c.data).toString();
      return log.includes("started") || undefined;
    }, 30_000);
    await jobs.client.cancelJob({ name: "to-cancel" });
    const j = await waitForPhase(jobs.client, "to-cancel", ["Cancelled"], 60_000);
    assert.equal(j.status?.phase, "Cancelled");
    let log = "";
    for await (const c of jobs.client.getLogs({ name: "to-cancel" })) log += Buffer.from(c.data).toString();
    assert.match(log, /got-term/, "SIGTERM first (the grace), not an outright kill");
    await waitFor("the allocation to leave Slurm", async () => (squeue().some((l) => l.includes(running.metadata!.uid)) ? undefined : true), 30_000);
    await jobs.stop();
  });

  it("preempts a low-priority job for a high-priority one on the fake GPUs; the preempted job resumes from its checkpoint", async () => {
    const jobs = await sb.startJobs({ ...env, SWITCHYARD_GRACE_MS: "5000" });
    await jobs.client.submitJob({ requestId: "low", manifest: job("low", { gpus: 2, command: [process.execPath, TRAIN, "--epochs", "12", "--sleep-ms", "150", "--checkpoint-every", "100"] }) });
    await waitFor("two epochs of the low-priority job", async () => ((await jobs.client.getMetrics({ name: "low" })).series.find((s) => s.name === "epoch")?.points.length ?? 0) >= 2 || undefined, 60_000);
    await jobs.client.submitJob({ requestId: "high", manifest: job("high", { priority: 100, gpus: 1, command: ["/bin/sh", "-c", "echo high-ran CUDA_VISIBLE_DEVICES=$CUDA_VISIBLE_DEVICES; sleep 0.3"] }) });
    const high = await waitForPhase(jobs.client, "high", ["Succeeded", "Failed"], 90_000);
    assert.equal(high.status?.phase, "Succeeded");
    const low = await waitForPhase(jobs.client, "low", ["Succeeded", "Failed"], 120_000);
    assert.equal(low.status?.phase, "Succeeded");
    assert.equal(low.status?.attempt, 2);
    const d = await jobs.client.describeJob({ name: "low" });
    const types = d.events.map((e) => e.type);
    assert.ok(types.includes("Preempted") && types.includes("Requeued"), types.join(","));
    let log = "";
    for await (const c of jobs.client.getLogs({ name: "low", attempt: 2 })) log += Buffer.from(c.data).toString();
    const resumed = /resumed from epoch=(\d+)/.exec(log);
    assert.ok(resumed && Number(resumed[1]) >= 2, `attempt 2 resumed from the checkpoint: ${log.slice(0, 300)}`);
    await jobs.stop();
  });

  it("sees an allocation made outside the platform as busy: a job that needs its GPUs waits, then runs", async () => {
    const jobs = await sb.startJobs(env);
    const outside = execFileSync("sbatch", ["--parsable", "--job-name=someone-else", "--gres=gpu:2", "--uid=65534", "--gid=65534", "--chdir=/tmp", "--output=/dev/null", "--wrap", "sleep 6"], { env: slurmEnv(), encoding: "utf8" }).trim();
    await waitFor("the outside allocation to run", async () => (squeue().some((l) => l.startsWith("someone-else RUNNING")) ? true : undefined), 30_000);
    await new Promise((r) => setTimeout(r, 1500));
    await jobs.client.submitJob({ requestId: "gpu", manifest: job("needs-gpu", { gpus: 1, command: ["/bin/sh", "-c", "echo ran"] }) });
    const waiting = await waitFor("the job to wait for GPUs", async () => {
      const j = await jobs.client.getJob({ name: "needs-gpu" });
      return j.status?.phase === "Queued" && j.status.reason === "Waiting" ? j : undefined;
    });
    assert.match(waiting.status!.message, /GPU/i);
    // The last moment the outside allocation was seen holding the GPUs: our job must have started after it.
    let lastSeenOutside = Date.now();
    const j = await waitFor("the job to finish", async () => {
      if (squeue().some((l) => l.endsWith(` ${outside}`) && / RUNNING /.test(l))) lastSeenOutside = Date.now();
      const g = await jobs.client.getJob({ name: "needs-gpu" });
      return g.status?.phase === "Succeeded" || g.status?.phase === "Failed" ? g : undefined;
    }, 60_000);
    assert.equal(j.status?.phase, "Succeeded");
    const started = Number(j.status!.replicas[0]!.startTime!.seconds) * 1000 + j.status!.replicas[0]!.startTime!.nanos / 1e6;
    assert.ok(started > lastSeenOutside - 300, `it started (${started}) only once the outside allocation was gone (last seen ${lastSeenOutside})`);
    await jobs.stop();
  });

  it("re-adopts a running Slurm job after kill -9 of the jobs service, and never submits an attempt twice", async () => {
    const counter = sb.file("count-slurm", "");
    const jobs = await sb.startJobs(env);
    await jobs.client.submitJob({ requestId: "adopt", manifest: shellJob("slurm-adopt", `echo run >> ${counter}; sleep 3; echo acc=0.9`) });
    await waitForPhase(jobs.client, "slurm-adopt", ["Running"], 60_000);
    await jobs.crash();
    const again = await sb.startJobs(env);
    const j = await waitForPhase(again.client, "slurm-adopt", ["Succeeded", "Failed"], 60_000);
    assert.equal(j.status?.phase, "Succeeded");
    assert.equal(readFileSync(counter, "utf8").split("\n").filter(Boolean).length, 1);
    await again.stop();

    for (const point of ["after-place", "after-launch-replica"] as const) {
      const c = sb.file(`count-slurm-${point}`, "");
      const first = await sb.startJobs(env, point);
      await first.client.submitJob({ manifest: shellJob(`slurm-crash-${point}`, `echo run >> ${c}; sleep 0.5`), requestId: point }).catch(() => undefined);
      await Sandbox.died(first);
      const second = await sb.startJobs(env);
      const k = await waitForPhase(second.client, `slurm-crash-${point}`, ["Succeeded", "Failed"], 60_000);
      assert.equal(k.status?.phase, "Succeeded");
      assert.equal(readFileSync(c, "utf8").split("\n").filter(Boolean).length, 1, `${point}: the command ran exactly once`);
      await second.stop();
    }
  });
});
