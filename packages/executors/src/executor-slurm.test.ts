import { after, afterEach, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync, readdirSync } from "node:fs";
import { readFile, readdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Executor, ReplicaLaunch, ReplicaState } from "./executor.js";
import { NOBODY, slurmFixture, type SlurmFixture } from "./executor-slurm-test-kit.js";
import { exitOf, logText, waitFor } from "./executor-test-kit.js";
import { findFreePort, pytorchEnv } from "./pytorch-env.js";

// On a real Slurm (slurmctld + slurmd + munge on this machine, started by scripts/slurm-local.sh unless
// SWITCHYARD_TEST_SLURM_CONF names one): every replica is a real allocation, run as nobody. One node with 2 CPUs and 2
// fake GPUs, so the tests run one after another.

let f: SlurmFixture;
before(async () => {
  f = await slurmFixture("slurm");
});
after(() => f?.close());
// One node: what a failed test left running would hold the CPUs the next test needs.
afterEach(() => f?.cancelAll());

const sh = (script: string, ...args: string[]): string[] => ["/bin/sh", "-c", script, "sh", ...args];

/** A launch as nobody in `dir` (its working directory and HOME). */
function asNobody(dir: string, extra: Partial<ReplicaLaunch> = {}): Omit<ReplicaLaunch, "runId" | "command"> {
  return { env: {}, gpuIndices: [], workingDir: dir, runAs: { ...NOBODY, home: dir }, cpuMilli: 1000, memoryMb: 128, ...extra };
}

function running(s: ReplicaState): s is Extract<ReplicaState, { kind: "running" }> {
  return s.kind === "running";
}

/** Waits until the replica's command runs (its wrapper and its process group recorded). */
async function started(ex: Executor, runId: string, timeoutMs = 20_000): Promise<Extract<ReplicaState, { kind: "running" }>> {
  return waitFor(`run ${runId} to start in Slurm`, async () => {
    const s = await ex.inspect(runId);
    if (s.kind === "exited" || s.kind === "lost") throw new Error(`run ${runId} ended before it was seen running: ${JSON.stringify(s)}`);
    return running(s) && s.shimPid !== null && s.pgid !== null ? s : undefined;
  }, timeoutMs);
}

/** Process groups whose leader's argv names `dir` (a task's log writer). */
function writerGroups(dir: string): number[] {
  return readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, "utf8").includes(`${dir}/log.`) && readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")[2] === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function slurmJobOf(runId: string): Promise<string> {
  return (await readFile(join(f.runsDir, "tasks", runId, "started"), "utf8")).split(" ")[2]!;
}

describe("slurm executor on a real Slurm", () => {
  it("runs a replica: running while Slurm runs it, its log read by offset meanwhile, then exited 0", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("lifecycle");
    const t0 = Date.now();
    const h = await ex.launch({ runId: "lifecycle", command: sh('echo first; while [ ! -e "$1/go" ]; do sleep 0.05; done; echo second', dir), ...asNobody(dir) });
    const launchMs = Date.now() - t0;
    assert.equal(h.state.kind, "running");
    const jobId = (await readFile(join(f.runsDir, "gangs", "lifecycle", "job"), "utf8")).trim();
    await waitFor("Slurm to run the allocation", async () => (await f.slurm("squeue", ["-h", "-j", jobId, "-o", "%T"])).trim() === "RUNNING" || undefined, 20_000);
    const slurmRunningMs = Date.now() - t0;
    const s = await started(ex, "lifecycle");
    const taskStartedMs = Date.now() - t0;
    assert.ok(s.startedAtMs >= t0 && s.pgid !== null, JSON.stringify(s));
    t.diagnostic(`launch (sbatch) ${launchMs} ms; Slurm RUNNING after ${slurmRunningMs} ms; replica's command started after ${taskStartedMs} ms`);
    const first = await waitFor("the first line", async () => {
      const chunk = await ex.readLog("lifecycle");
      return chunk.data.toString() === "first\n" ? chunk : undefined;
    });
    assert.equal(first.nextOffset, 6);
    assert.equal((await ex.inspect("lifecycle")).kind, "running");
    await writeFile(join(dir, "go"), "");
    const end = await exitOf(ex, "lifecycle", 20_000);
    assert.deepEqual(end.kind === "exited" && [end.exitCode, end.signal], [0, null]);
    assert.equal((await ex.readLog("lifecycle", { offset: first.nextOffset })).data.toString(), "second\n");
    assert.ok(ex.logPath("lifecycle").startsWith(join(f.runsDir, "tasks", "lifecycle")));
    assert.ok((await ex.diskBytes("lifecycle")) > 0);
    await ex.remove("lifecycle");
    assert.deepEqual(await ex.inspect("lifecycle"), { kind: "absent" });
  });

  it("records a non-zero exit code, and death by a signal as 128+N with the signal's name", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("codes");
    await ex.launch({ runId: "exit-7", command: sh("echo bye; exit 7"), ...asNobody(dir) });
    const seven = await exitOf(ex, "exit-7", 20_000);
    assert.deepEqual(seven.kind === "exited" && [seven.exitCode, seven.signal], [7, null]);
    assert.equal(await logText(ex, "exit-7"), "bye\n");
    await ex.launch({ runId: "by-signal", command: sh("kill -s USR1 $$; sleep 5"), ...asNobody(dir) });
    const sig = await exitOf(ex, "by-signal", 20_000);
    assert.deepEqual(sig.kind === "exited" && [sig.exitCode, sig.signal], [138, "SIGUSR1"]);
  });

  it("submits once per run id, however often and however concurrently launch is called", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("twice");
    const spec = { runId: "twice", command: sh("sleep 0.5"), ...asNobody(dir) };
    const [a, b] = await Promise.all([ex.launch(spec), ex.launch(spec)]);
    assert.equal(a.state.kind, "running");
    assert.equal(b.state.kind, "running");
    assert.equal((await f.executor().launch(spec)).state.kind, "running");
    await exitOf(ex, "twice", 20_000);
    assert.equal((await ex.launch(spec)).state.kind, "exited");
    assert.equal(await f.sbatchCalls("twice"), 1);
    assert.equal((await f.slurm("squeue", ["--states=all", "-h", "--name", `${f.prefix}twice`, "-o", "%i"])).trim().split("\n").length, 1);
  });

  it("finds its allocation by name after a crash between the intent and the recorded job id, and never submits again", async (t) => {
    if (!f.needs(t)) return;
    const crashing = f.executor({
      crashPoint: (point) => {
        if (point === "submitted") throw new Error("crash after sbatch, before the job id was recorded");
      },
    });
    const dir = await f.jobDir("crash");
    const spec = { runId: "crash", command: sh('while [ ! -e "$1/go" ]; do sleep 0.05; done', dir), ...asNobody(dir) };
    await assert.rejects(crashing.launch(spec), /crash after sbatch/);
    assert.ok(existsSync(join(f.runsDir, "gangs", "crash", "intent")));
    assert.ok(!existsSync(join(f.runsDir, "gangs", "crash", "job")));
    // The restarted service: a new instance finds the job by its name and records it; launching again changes nothing.
    const restarted = f.executor();
    assert.equal((await restarted.launch(spec)).state.kind, "running");
    const jobId = (await readFile(join(f.runsDir, "gangs", "crash", "job"), "utf8")).trim();
    assert.match(jobId, /^\d+$/);
    assert.equal((await started(restarted, "crash")).kind, "running");
    assert.equal(await slurmJobOf("crash"), jobId);
    await writeFile(join(dir, "go"), "");
    const end = await exitOf(restarted, "crash", 20_000);
    assert.equal(end.kind === "exited" && end.exitCode, 0);
    assert.equal(await f.sbatchCalls("crash"), 1);
  });

  it("submits a gang whose intent was recorded just before a crash (no sbatch ran) once, after sbatch's limit has passed", async (t) => {
    if (!f.needs(t)) return;
    const crashing = f.executor({
      submitTimeoutMs: 1000,
      crashPoint: (point) => {
        if (point === "intent-recorded") throw new Error("crash before sbatch");
      },
    });
    const dir = await f.jobDir("crash-early");
    const spec = { runId: "crash-early", command: sh("echo ran"), ...asNobody(dir) };
    await assert.rejects(crashing.launch(spec), /crash before sbatch/);
    const restarted = f.executor({ submitTimeoutMs: 1000 });
    // Within sbatch's limit (+5 s) a submission might still be under way: nothing is submitted, the run waits.
    const early = await restarted.inspect("crash-early");
    assert.ok(running(early) && early.shimPid === null, JSON.stringify(early));
    assert.equal(await f.sbatchCalls("crash-early"), 0);
    const end = await exitOf(restarted, "crash-early", 30_000);
    assert.equal(end.kind === "exited" && end.exitCode, 0);
    assert.equal(await f.sbatchCalls("crash-early"), 1);
    assert.equal(await logText(restarted, "crash-early"), "ran\n");
  });

  it("runs a gang of two as one allocation: one Slurm job, each task its RANK, LOCAL_RANK, MASTER_ADDR, GPU and exit code", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("gang");
    const script = 'echo "rank=$RANK local=$LOCAL_RANK master=$MASTER_ADDR pet=$PET_MASTER_ADDR job=$SLURM_JOB_ID gpus=$CUDA_VISIBLE_DEVICES world=$WORLD_SIZE"; exit $((10 + RANK))';
    const member = (index: number): ReplicaLaunch => ({
      runId: `gang.r${index}`,
      command: sh(script),
      ...asNobody(dir, {
        gpuIndices: [index],
        node: "localhost",
        timeLimitSeconds: 90,
        gang: { id: "gang", size: 2, index },
        // What the jobs service puts in: loopback as the master, RANK = the replica's index.
        env: { MASTER_ADDR: "127.0.0.1", PET_MASTER_ADDR: "127.0.0.1", RANK: String(index), LOCAL_RANK: "0", WORLD_SIZE: "2" },
      }),
    });
    await ex.launch(member(0));
    const waiting = await ex.inspect("gang.r0");
    assert.ok(running(waiting) && waiting.shimPid === null, `a member of an incomplete gang waits: ${JSON.stringify(waiting)}`);
    assert.equal(await f.sbatchCalls("gang"), 0);
    await ex.launch(member(1));
    const [e0, e1] = await Promise.all([exitOf(ex, "gang.r0", 20_000), exitOf(ex, "gang.r1", 20_000)]);
    assert.deepEqual([e0.kind === "exited" && e0.exitCode, e1.kind === "exited" && e1.exitCode], [10, 11]);
    assert.equal(await f.sbatchCalls("gang"), 1);
    const [l0, l1] = [await logText(ex, "gang.r0"), await logText(ex, "gang.r1")];
    const job = (await readFile(join(f.runsDir, "gangs", "gang", "job"), "utf8")).trim();
    assert.match(l0, new RegExp(`^rank=0 local=0 master=localhost pet=localhost job=${job} gpus=\\d world=2\\n$`));
    assert.match(l1, new RegExp(`^rank=1 local=1 master=localhost pet=localhost job=${job} gpus=\\d world=2\\n$`));
    // Slurm chose the GPUs within the node: one each, not the same one.
    assert.notEqual(/gpus=(\d)/.exec(l0)![1], /gpus=(\d)/.exec(l1)![1]);
    assert.match(await readFile(join(f.runsDir, "gangs", "gang", "batch.sh"), "utf8"), /exec 'srun' '--ntasks=2'/);
    // Placement as sbatch flags, and Slurm's own view of the allocation.
    const calls = await readFile(join(f.root, "sbatch.calls"), "utf8");
    const flags = calls.split("\n").find((l) => l.includes(`--job-name=${f.prefix}gang `))!;
    for (const flag of ["--ntasks=2", "--cpus-per-task=1", "--mem-per-cpu=128M", "--gpus-per-task=1", "--nodes=1", "--nodelist=localhost", "--ntasks-per-node=2", "--time=2", "--uid=65534", "--comment=gang", "--no-requeue"]) {
      assert.ok(flags.split(" ").includes(flag), `${flag} in ${flags}`);
    }
    const shown = await f.slurm("scontrol", ["show", "job", job]);
    assert.match(shown, /TimeLimit=00:02:00/);
    assert.match(shown, /NumCPUs=2 /);
  });

  it("keeps the first and the latest bytes of a flood within the run's log limits, as the local engine does", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor({ logChunkBytes: 4096 });
    const dir = await f.jobDir("flood");
    // 2000 numbered lines of 32 bytes: 64000 bytes, of which the first 8 KiB and the latest 8 KiB are kept.
    await ex.launch({ runId: "flood", command: sh('i=0; while [ $i -lt 2000 ]; do printf "line %026d\\n" $i; i=$((i + 1)); done'), ...asNobody(dir, { logLimits: { headBytes: 8192, tailBytes: 8192 } }) });
    const end = await exitOf(ex, "flood", 20_000);
    assert.equal(end.kind === "exited" && end.exitCode, 0);
    const log = await logText(ex, "flood");
    assert.match(log, /^line 0{26}\n/);
    assert.match(log, /\[switchyard: \d+ bytes of output dropped here — the log keeps the first 8 KiB and the latest 8 KiB of each run\]\n/);
    assert.ok(log.length < 64000, `only what the limits keep: ${log.length} bytes`);
    const tail = await ex.readLog("flood", { offset: 63000 });
    assert.ok(tail.data.toString().endsWith(`line ${String(1999).padStart(26, "0")}\n`));
    const files = (await readdir(join(f.runsDir, "tasks", "flood"))).filter((n) => /^log\.\d{12}$/.test(n));
    assert.ok(files.length <= 5, `at most head + tail + 1 chunks on disk: ${files.join(" ")}`);
  });

  it("trains with PyTorch DDP (gloo, world size 2) on one allocation: both ranks all_reduce and exit 0", async (t) => {
    if (!f.needs(t)) return;
    if (!existsSync("/usr/bin/python3")) return t.skip("no /usr/bin/python3");
    const ex = f.executor();
    const dir = await f.jobDir("ddp");
    await writeFile(
      join(dir, "ddp.py"),
      [
        "import os, torch, torch.distributed as dist",
        'dist.init_process_group(backend="gloo", init_method="env://")',
        "t = torch.tensor([float(dist.get_rank() + 1)])",
        "dist.all_reduce(t)",
        'print(f"rank={dist.get_rank()} world={dist.get_world_size()} sum={t.item()}", flush=True)',
        "dist.destroy_process_group()",
      ].join("\n"),
    );
    const port = await findFreePort();
    const launch = (index: number): Promise<unknown> =>
      ex.launch({
        runId: `ddp.r${index}`,
        command: ["/usr/bin/python3", join(dir, "ddp.py")],
        ...asNobody(dir, {
          gang: { id: "ddp", size: 2, index },
          node: "localhost",
          memoryMb: 1024,
          env: { ...pytorchEnv({ replicaIndex: index, replicas: 2, nprocPerNode: 1, masterAddr: "127.0.0.1", masterPort: port }), GLOO_SOCKET_IFNAME: "lo" },
        }),
      });
    await launch(0);
    await launch(1);
    const ends = await Promise.all([exitOf(ex, "ddp.r0", 90_000), exitOf(ex, "ddp.r1", 90_000)]);
    const logs = [await logText(ex, "ddp.r0"), await logText(ex, "ddp.r1")];
    assert.deepEqual(ends.map((e) => e.kind === "exited" && e.exitCode), [0, 0], logs.join("\n---\n"));
    assert.match(logs[0]!, /rank=0 world=2 sum=3\.0/);
    assert.match(logs[1]!, /rank=1 world=2 sum=3\.0/);
  });

  it("terminates a gang with grace: SIGTERM first (a trap writes its checkpoint), SIGKILL for what ignores it once the grace is over", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("grace");
    const polite = sh('trap \'echo saved > "$1/checkpoint"; echo checkpointed; exit 0\' TERM; echo ready; while :; do sleep 0.05; done', dir);
    const stubborn = sh("trap '' TERM; echo ready; while :; do sleep 0.05; done");
    await ex.launch({ runId: "grace.r0", command: polite, ...asNobody(dir, { gang: { id: "grace", size: 2, index: 0 } }) });
    await ex.launch({ runId: "grace.r1", command: stubborn, ...asNobody(dir, { gang: { id: "grace", size: 2, index: 1 } }) });
    for (const id of ["grace.r0", "grace.r1"]) await waitFor(`${id} to be ready`, async () => (await ex.readLog(id)).data.toString().includes("ready") || undefined, 20_000);
    const jobId = await slurmJobOf("grace.r0");
    const t0 = Date.now();
    await ex.terminate("grace.r0", 1500);
    const tookMs = Date.now() - t0;
    // Resolved once Slurm says the allocation is over.
    assert.match((await f.slurm("squeue", ["--states=all", "-h", "-j", jobId, "-o", "%T"])).trim(), /^(COMPLETED|CANCELLED|FAILED)$/);
    assert.equal(await readFile(join(dir, "checkpoint"), "utf8"), "saved\n");
    const [p, s] = [await ex.inspect("grace.r0"), await ex.inspect("grace.r1")];
    assert.deepEqual(p.kind === "exited" && [p.exitCode, p.signal], [0, null], JSON.stringify(p));
    assert.deepEqual(s.kind === "exited" && [s.exitCode, s.signal], [137, "SIGKILL"], JSON.stringify(s));
    assert.ok(s.kind === "exited" && s.endedAtMs - t0 >= 1400, `SIGKILL only after the grace: ${JSON.stringify(s)} t0=${t0}`);
    assert.match(await logText(ex, "grace.r0"), /checkpointed/);
    t.diagnostic(`terminate with 1500 ms grace took ${tookMs} ms`);
    await ex.terminate("grace.r1", 1500);
  });

  it("never submits a gang that was terminated before it was complete, and reads its recorded members as lost", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("halfgang");
    const member = (index: number): ReplicaLaunch => ({ runId: `halfgang.r${index}`, command: ["true"], ...asNobody(dir, { gang: { id: "halfgang", size: 2, index } }) });
    await ex.launch(member(0));
    await ex.terminate("halfgang.r0", 1000);
    const s = await ex.inspect("halfgang.r0");
    assert.match(s.kind === "lost" ? s.reason : JSON.stringify(s), /terminated before its gang was submitted/);
    assert.ok(!existsSync(join(f.runsDir, "tasks", "halfgang.r0", "command.sh")), "its environment left the disk");
    await assert.rejects(ex.launch(member(1)), /the gang is cancelled already/);
    assert.equal(await f.sbatchCalls("halfgang"), 0);
  });

  it("fails the launch that completes a gang Slurm refuses, with Slurm's reason, and reads the gang as lost", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("refused");
    const spec = { runId: "refused", command: ["true"], ...asNobody(dir, { gpuIndices: [0, 1, 2, 3, 4] }) };
    await assert.rejects(ex.launch(spec), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.FailedPrecondition, String(e));
      assert.match(e.message, /Slurm refused the allocation: .*(configuration is not available|Invalid generic resource)/);
      return true;
    });
    const s = await ex.inspect("refused");
    assert.match(s.kind === "lost" ? s.reason : JSON.stringify(s), /Slurm refused its gang's allocation/);
    assert.equal((await ex.launch(spec)).state.kind, "lost");
    assert.equal(await f.sbatchCalls("refused"), 1);
  });

  it("runs a replica as its runAs account (nobody), with its environment in no argv and off the disk once it runs", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("identity");
    const script = 'id -u; id -g; echo "$HOME $USER $(pwd)"; echo "secret of ${#SECRET_X} characters"; while [ ! -e "$1/go" ]; do sleep 0.05; done';
    await ex.launch({ runId: "identity", command: sh(script, dir), ...asNobody(dir, { env: { SECRET_X: "hunter2" } }) });
    await started(ex, "identity");
    await waitFor("the identity lines", async () => (await logText(ex, "identity")).includes("characters") || undefined);
    assert.equal(await logText(ex, "identity"), `65534\n65534\n${dir} nobody ${dir}\nsecret of 7 characters\n`);
    const task = join(f.runsDir, "tasks", "identity");
    assert.deepEqual([(await stat(task)).uid, (await stat(task)).mode & 0o777], [65534, 0o700]);
    assert.ok(!existsSync(join(task, "command.sh")), "the command script deleted itself");
    const onDisk = async (path: string): Promise<string> => {
      const st = await stat(path);
      if (!st.isDirectory()) return st.isFile() ? readFile(path, "utf8") : "";
      return (await Promise.all((await readdir(path)).map((n) => onDisk(join(path, n))))).join("\n");
    };
    // Neither the records, the batch script, nor anything in the task directory holds the value; nor does any argv.
    for (const place of [join(f.runsDir, "gangs"), join(f.runsDir, "members"), task]) assert.doesNotMatch(await onDisk(place), /hunter2/, place);
    for (const pid of (await readdir("/proc")).filter((n) => /^\d+$/.test(n))) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`).catch(() => Buffer.alloc(0));
      assert.ok(!cmdline.includes("hunter2"), `pid ${pid}'s argv holds the secret`);
    }
    await writeFile(join(dir, "go"), "");
    assert.equal((await exitOf(ex, "identity", 20_000)).kind, "exited");
  });

  it("refuses uid 0, and refuses a launch without runAs while it runs as root", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("refusals");
    await assert.rejects(ex.launch({ runId: "as-root", command: ["true"], ...asNobody(dir, { runAs: { uid: 0, gid: 0, home: "/root" } }) }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.InvalidArgument);
      assert.match(e.message, /runAs.uid must not be 0/);
      return true;
    });
    const { runAs: _, ...noAccount } = asNobody(dir);
    await assert.rejects(ex.launch({ runId: "no-account", command: ["true"], ...noAccount }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.FailedPrecondition);
      assert.match(e.message, /runs as root and jobs never do: give the launch a runAs account/);
      return true;
    });
    assert.deepEqual(await ex.inspect("no-account"), { kind: "absent" });
  });

  it("reads its inventory from Slurm: the fake GPUs, CPUs and memory, and what an allocation outside the platform holds", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const conf = await readFile(f.conf, "utf8");
    const nodeLine = /^NodeName=(\S+) .*CPUs=(\d+) RealMemory=(\d+) Gres=gpu:(\w+):(\d+)/m.exec(conf);
    const before = await ex.inventory!();
    if (nodeLine !== null) {
      const n = before.find((x) => x.name === nodeLine[1])!;
      assert.deepEqual([n.cpuMilli, n.memoryMb, n.gpus], [Number(nodeLine[2]) * 1000, Number(nodeLine[3]), Array.from({ length: Number(nodeLine[5]) }, (_, index) => ({ index, type: nodeLine[4] }))]);
      assert.match(n.state, /^(idle|mixed|allocated)$/);
    }
    // One of ours (not busy: the platform knows it) and one from outside (busy), side by side.
    const dir = await f.jobDir("inventory");
    await ex.launch({ runId: "ours", command: sh('while [ ! -e "$1/go" ]; do sleep 0.05; done', dir), ...asNobody(dir, { gpuIndices: [0], memoryMb: 300 }) });
    const outside = (
      await f.slurm("sbatch", ["--parsable", `--job-name=outside-${f.prefix}`, "--uid=65534", "--gid=65534", "--export=NONE", "--chdir=/tmp", "--output=/dev/null", "--cpus-per-task=1", "--mem=200M", "--gres=gpu:1", "--wrap", "sleep 60"])
    ).trim();
    await waitFor("the outside job to run", async () => (await f.slurm("squeue", ["-h", "-j", outside, "-o", "%T"])).trim() === "RUNNING" || undefined, 20_000);
    await started(ex, "ours");
    const node = (await ex.inventory!()).find((x) => x.name === "localhost") ?? (await ex.inventory!())[0]!;
    assert.deepEqual(node.busy, { cpuMilli: 1000, memoryMb: 200, gpus: 1 });
    assert.equal(node.state, "allocated");
    await f.slurm("scancel", [outside]);
    await writeFile(join(dir, "go"), "");
    await exitOf(ex, "ours", 20_000);
  });

  it("re-adopts a running allocation after a restart: a new instance inspects and watches it to its end", async (t) => {
    if (!f.needs(t)) return;
    const first = f.executor();
    const dir = await f.jobDir("adopt");
    await first.launch({ runId: "adopt", command: sh('echo up; while [ ! -e "$1/go" ]; do sleep 0.05; done; exit 4', dir), ...asNobody(dir) });
    const s1 = await started(first, "adopt");
    await first.close();
    const second = f.executor();
    const s2 = await second.inspect("adopt");
    assert.deepEqual(s2, s1);
    const ended = exitOf(second, "adopt", 20_000);
    await writeFile(join(dir, "go"), "");
    const end = await ended;
    assert.deepEqual(end.kind === "exited" && [end.exitCode, end.startedAtMs], [4, s1.startedAtMs]);
    assert.equal(await logText(second, "adopt"), "up\n");
    assert.equal(await f.sbatchCalls("adopt"), 1);
  });

  it("reads a replica whose wrapper died without writing its status as lost, with Slurm's state", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("lost");
    await ex.launch({ runId: "lost", command: sh("sleep 60"), ...asNobody(dir) });
    const s = await started(ex, "lost");
    // SIGKILL to the task's wrapper (the node is this machine): the command goes with the step, no status is written.
    process.kill(s.shimPid!, "SIGKILL");
    t.after(() => {
      // With proctrack/linuxproc, what the dead wrapper left (the command, the log writer) is reparented out of
      // Slurm's reach (proctrack/cgroup would end it): the test ends it, by the groups the run recorded.
      for (const pgid of [s.pgid!, ...writerGroups(join(f.runsDir, "tasks", "lost"))]) {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          // gone
        }
      }
    });
    const end = await exitOf(ex, "lost", 20_000);
    assert.equal(end.kind, "lost", JSON.stringify(end));
    assert.match(end.kind === "lost" ? end.reason : "", /Slurm job \d+ ended [A-Z_]+.* before the replica recorded an exit status/);
  });

  it("keeps to its own record of the allocation when the job rewrites its `started` file to name another job", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("forged");
    const other = (await f.slurm("sbatch", ["--parsable", `--job-name=other-${f.prefix}`, "--uid=65534", "--gid=65534", "--export=NONE", "--chdir=/tmp", "--output=/dev/null", "--cpus-per-task=1", "--mem=100M", "--wrap", "sleep 60"])).trim();
    t.after(() => f.slurm("scancel", [other]));
    await ex.launch({ runId: "forged", command: sh("sleep 60"), ...asNobody(dir) });
    const s = await started(ex, "forged");
    // The task directory is the job's account's: what it writes there, the job could have written. Here it names the
    // other (running) job as its allocation, and its wrapper dies without a status.
    const file = join(f.runsDir, "tasks", "forged", "started");
    await writeFile(file, (await readFile(file, "utf8")).replace(/^(\d+ \d+ )\d+/, `$1${other}`));
    process.kill(s.shimPid!, "SIGKILL");
    t.after(() => {
      for (const pgid of [s.pgid!, ...writerGroups(join(f.runsDir, "tasks", "forged"))]) {
        try {
          process.kill(-pgid, "SIGKILL");
        } catch {
          // gone
        }
      }
    });
    const end = await exitOf(ex, "forged", 20_000);
    assert.equal(end.kind, "lost", `the run's own allocation ended; the other job still runs: ${JSON.stringify(end)}`);
    assert.equal((await f.slurm("squeue", ["-h", "-j", other, "-o", "%T"])).trim(), "RUNNING");
  });

  it("records the exit of a replica whose allocation was cancelled outside the platform (SIGTERM, then Slurm's KILL)", async (t) => {
    if (!f.needs(t)) return;
    const ex = f.executor();
    const dir = await f.jobDir("cancelled");
    await ex.launch({ runId: "cancelled", command: sh("sleep 60"), ...asNobody(dir) });
    await started(ex, "cancelled");
    await f.slurm("scancel", [await slurmJobOf("cancelled")]);
    const end = await exitOf(ex, "cancelled", 20_000);
    assert.deepEqual(end.kind === "exited" && [end.exitCode, end.signal], [143, "SIGTERM"], JSON.stringify(end));
  });
});
