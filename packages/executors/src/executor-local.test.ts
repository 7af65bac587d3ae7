import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Executor, ReplicaState } from "./executor.js";
import { createLocalExecutor, type LocalExecutorOptions } from "./executor-local.js";
import { exitOf, liveGroupMembers, logText, logWriterOf, runningGroup, waitFor } from "./executor-local-test-kit.js";

// Real processes throughout: every replica is a /bin/sh shim and a real command on this machine.

let root = "";
let runsDir = "";
const started: Array<{ executor: Executor; runId: string }> = [];

before(async () => {
  root = await mkdtemp(join(tmpdir(), "switchyard-executor-local-"));
  runsDir = join(root, "runs");
  await writeFile(join(root, "argv.mjs"), "process.stdout.write(JSON.stringify(process.argv.slice(2)));\n");
  await writeFile(join(root, "env.mjs"), "process.stdout.write(JSON.stringify(process.env));\n");
});

after(async () => {
  // Nothing a test started may outlive the file: terminate every run (idempotent on ended ones).
  await Promise.all(started.map(({ executor, runId }) => executor.terminate(runId, 0).catch(() => undefined)));
  await rm(root, { recursive: true, force: true });
});

function executor(options: Partial<LocalExecutorOptions> = {}): Executor {
  return createLocalExecutor({ runsDir, pollMs: 50, ...options });
}

async function launch(ex: Executor, runId: string, command: string[], extra: { env?: Record<string, string>; gpuIndices?: number[]; workingDir?: string } = {}) {
  started.push({ executor: ex, runId });
  return ex.launch({ runId, command, env: extra.env ?? {}, gpuIndices: extra.gpuIndices ?? [], workingDir: extra.workingDir ?? root });
}

function vmRssKb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m ? Number(m[1]) : 0;
}

function pssKb(pid: number): number {
  const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"));
  return m ? Number(m[1]) : 0;
}

describe("local executor", () => {
  it("records a replica's exit code and its combined stdout and stderr", async () => {
    const ex = executor();
    const handle = await launch(ex, "exit-code", ["/bin/sh", "-c", "echo out; echo err >&2; exit 3"]);
    assert.ok(handle.state.kind === "running" || handle.state.kind === "exited", `launch returned ${handle.state.kind}`);
    const state = await exitOf(ex, "exit-code");
    assert.equal(state.kind, "exited");
    assert.ok(state.kind === "exited");
    assert.equal(state.exitCode, 3);
    assert.equal(state.signal, null);
    assert.ok(state.endedAtMs >= state.startedAtMs && state.startedAtMs > 0);
    assert.equal(await logText(ex, "exit-code"), "out\nerr\n");
    const tail = await ex.readLog("exit-code", { offset: 4, maxBytes: 2 });
    assert.deepEqual([tail.data.toString(), tail.nextOffset], ["er", 6]);
    assert.equal(ex.logPath("exit-code"), join(runsDir, "exit-code", "log.current"));
    assert.equal(readFileSync(ex.logPath("exit-code"), "utf8"), "out\nerr\n", "log.current follows the chunk being written");
    await ex.close();
  });

  it("passes arguments with spaces, quotes and $(...) to the program verbatim", async () => {
    const ex = executor();
    const work = join(root, "injection");
    await mkdir(work);
    const args = ["a b", "it's", '"dq"', "$(touch pwned1)", "`touch pwned2`", "; touch pwned3", "x\ny", "*", "", "$HOME", "\\", "-x", "a=b"];
    await launch(ex, "verbatim", [process.execPath, join(root, "argv.mjs"), ...args], {
      workingDir: work,
      env: { TRICKY: "$(touch pwned4)'\"`touch pwned5`" },
    });
    const state = await exitOf(ex, "verbatim");
    assert.equal(state.kind === "exited" && state.exitCode, 0);
    assert.deepEqual(JSON.parse(await logText(ex, "verbatim")), args);
    assert.deepEqual(await readdir(work), [], "nothing was executed by a shell");
    await ex.close();
  });

  it("sets the replica's environment and pins it to its GPUs with CUDA_VISIBLE_DEVICES", async () => {
    const ex = executor({ baseEnv: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", HOME: root } });
    await launch(ex, "env-gpu", [process.execPath, join(root, "env.mjs")], { env: { FOO: "bar baz", HOME: "/elsewhere" }, gpuIndices: [1, 3] });
    await launch(ex, "env-cpu", [process.execPath, join(root, "env.mjs")], { env: { CUDA_VISIBLE_DEVICES: "0" } });
    await Promise.all([exitOf(ex, "env-gpu"), exitOf(ex, "env-cpu")]);
    const gpu = JSON.parse(await logText(ex, "env-gpu")) as Record<string, string>;
    assert.equal(gpu["FOO"], "bar baz");
    assert.equal(gpu["HOME"], "/elsewhere", "the spec's env overrides the base env");
    assert.equal(gpu["CUDA_VISIBLE_DEVICES"], "1,3");
    assert.deepEqual(Object.keys(gpu).sort(), ["CUDA_VISIBLE_DEVICES", "FOO", "HOME", "PATH", "PWD"], "nothing leaks from this process");
    const cpu = JSON.parse(await logText(ex, "env-cpu")) as Record<string, string>;
    assert.equal(cpu["CUDA_VISIBLE_DEVICES"], "", "a CPU replica sees no GPU, whatever its spec says");
    assert.equal(cpu["PWD"], root);
    await ex.close();
  });

  it("runs replicas at a lower CPU priority than the platform (nice 10 by default, configurable)", async () => {
    const niceOf = async (ex: Executor, runId: string) => {
      await launch(ex, runId, ["/bin/sh", "-c", "read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ n _ < /proc/self/stat; echo $n"]);
      await exitOf(ex, runId);
      return (await logText(ex, runId)).trim();
    };
    const ex = executor();
    assert.equal(await niceOf(ex, "nice-default"), "10");
    const zero = executor({ niceness: 0 });
    assert.equal(await niceOf(zero, "nice-zero"), "0");
    assert.throws(() => executor({ niceness: 20 }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument);
    await ex.close();
    await zero.close();
  });

  it("reports exit code 127 for a command that is not on PATH", async () => {
    const ex = executor();
    await launch(ex, "not-found", ["switchyard-no-such-program"]);
    const state = await exitOf(ex, "not-found");
    assert.equal(state.kind === "exited" && state.exitCode, 127);
    assert.match(await logText(ex, "not-found"), /not found/);
    await ex.close();
  });

  it("refuses a working directory that does not exist, naming it, and starts nothing", async () => {
    const ex = executor();
    const missing = join(root, "no-such-dir");
    await assert.rejects(launch(ex, "bad-cwd", ["true"], { workingDir: missing }), (err: unknown) => {
      assert.ok(err instanceof SwitchyardError);
      assert.equal(err.code, Code.FailedPrecondition);
      assert.ok(err.message.includes(missing), err.message);
      return true;
    });
    assert.deepEqual(await ex.inspect("bad-cwd"), { kind: "absent" });
    await assert.rejects(ex.launch({ runId: "../escape", command: ["true"], env: {}, gpuIndices: [] }), { code: Code.InvalidArgument });
    await assert.rejects(ex.launch({ runId: "bad-env", command: ["true"], env: { "A-B": "x" }, gpuIndices: [] }), { code: Code.InvalidArgument });
    await assert.rejects(ex.readLog("never-launched"), { code: Code.NotFound });
    await ex.close();
  });

  it("starts a run once however often and by whomever its runId is launched", async () => {
    const ex = executor();
    const work = join(root, "once");
    await mkdir(work);
    const command = ["/bin/sh", "-c", "echo started >> counter; while [ ! -e go ]; do sleep 0.02; done"];
    const first = await Promise.all([launch(ex, "once", command, { workingDir: work }), launch(ex, "once", command, { workingDir: work })]);
    await waitFor("the first start", () => existsSync(join(work, "counter")));
    const again = await launch(executor(), "once", command, { workingDir: work });
    // Even a second shim started by hand for the same run stops at the run's lock.
    const dir = join(runsDir, "once");
    const stray = spawn("/bin/sh", [join(dir, "shim.sh"), dir], { stdio: "ignore" });
    assert.equal(await new Promise((r) => stray.once("exit", r)), 0);
    await writeFile(join(work, "go"), "");
    const state = await exitOf(ex, "once");
    assert.equal(state.kind === "exited" && state.exitCode, 0);
    assert.equal(readFileSync(join(work, "counter"), "utf8"), "started\n");
    const pids = [...first, again].map((h) => h.state.kind === "running" && h.state.shimPid);
    assert.ok(pids.every((p) => p === pids[0] && typeof p === "number"), `one shim: ${JSON.stringify(pids)}`);
    await ex.close();
  });

  it("terminate kills the whole process tree of a replica", async () => {
    const ex = executor();
    await launch(ex, "tree", ["/bin/sh", "-c", "sleep 300 & sleep 300 & echo ready; wait"]);
    const { pgid } = await runningGroup(ex, "tree");
    await waitFor("the children", () => liveGroupMembers(pgid).length >= 3);
    await ex.terminate("tree", 5000);
    assert.deepEqual(liveGroupMembers(pgid), [], "no process of the group survives");
    const state = await ex.inspect("tree");
    assert.ok(state.kind === "exited", state.kind);
    assert.deepEqual([state.exitCode, state.signal], [143, "SIGTERM"]);
    await ex.terminate("tree", 5000);
    await ex.terminate("never-launched", 0);
    await ex.close();
  });

  it("SIGKILLs a replica that ignores SIGTERM once the grace is over", async () => {
    const ex = executor();
    await launch(ex, "stubborn", ["/bin/sh", "-c", "trap '' TERM; sleep 300 & echo ready; wait"]);
    const { pgid } = await runningGroup(ex, "stubborn");
    await waitFor("ready", async () => (await logText(ex, "stubborn")).includes("ready"));
    const t0 = Date.now();
    await ex.terminate("stubborn", 300);
    assert.ok(Date.now() - t0 >= 300, "SIGTERM was given its grace");
    assert.deepEqual(liveGroupMembers(pgid), []);
    const state = await ex.inspect("stubborn");
    assert.ok(state.kind === "exited");
    assert.deepEqual([state.exitCode, state.signal], [137, "SIGKILL"]);
    await ex.close();
  });

  it("a new executor adopts a run started by one that died and sees it finish with its exit code", async () => {
    const work = join(root, "adopt");
    await mkdir(work);
    let old: Executor | null = executor();
    const launched = await launch(old, "adopt", ["/bin/sh", "-c", "echo begun; while [ ! -e go ]; do sleep 0.02; done; exit 7"], { workingDir: work });
    old = null; // the jobs process dies: nothing of the old instance is used again

    const fresh = executor();
    const state = await fresh.inspect("adopt");
    assert.ok(state.kind === "running" && launched.state.kind === "running");
    assert.equal(state.shimPid, launched.state.shimPid);
    const exited = exitOf(fresh, "adopt");
    await writeFile(join(work, "go"), "");
    const end = await exited;
    assert.equal(end.kind === "exited" && end.exitCode, 7);
    assert.equal(await logText(fresh, "adopt"), "begun\n");
    assert.equal((await fresh.launch({ runId: "adopt", command: ["false"], env: {}, gpuIndices: [] })).state.kind, "exited", "not started again");
    await fresh.close();
  });

  it("a replica outlives a kill -9 of the process that launched it", async () => {
    const work = join(root, "jobs-killed");
    await mkdir(work);
    const script = join(root, "jobs-process.mts");
    await writeFile(
      script,
      `import { createLocalExecutor } from ${JSON.stringify(new URL("./executor-local.ts", import.meta.url).pathname)};\n` +
        `const ex = createLocalExecutor({ runsDir: process.argv[2] });\n` +
        `const h = await ex.launch({ runId: "jobs-killed", command: ["/bin/sh", "-c", "while [ ! -e go ]; do sleep 0.02; done; exit 6"], env: {}, gpuIndices: [], workingDir: process.argv[3] });\n` +
        `ex.watch("jobs-killed", () => {});\n` +
        `process.stdout.write(JSON.stringify(h) + "\\n");\n` +
        `setInterval(() => {}, 1000);\n`,
    );
    const jobs = spawn(process.execPath, ["--import", "tsx", script, runsDir, work], { stdio: ["ignore", "pipe", "inherit"] });
    const line = await new Promise<string>((resolve, reject) => {
      let out = "";
      jobs.stdout.on("data", (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes("\n")) resolve(out.slice(0, out.indexOf("\n")));
      });
      jobs.once("exit", (code) => reject(new Error(`the jobs process exited early (${code})`)));
    });
    const handle = JSON.parse(line) as { state: ReplicaState };
    jobs.kill("SIGKILL");
    await new Promise((r) => jobs.once("exit", r));

    const fresh = executor();
    started.push({ executor: fresh, runId: "jobs-killed" });
    const state = await fresh.inspect("jobs-killed");
    assert.ok(state.kind === "running" && handle.state.kind === "running" && state.shimPid === handle.state.shimPid, JSON.stringify(state));
    const exited = exitOf(fresh, "jobs-killed");
    await writeFile(join(work, "go"), "");
    const end = await exited;
    assert.equal(end.kind === "exited" && end.exitCode, 6);
    await fresh.close();
  });

  it("a new executor reports a run that ended while no executor was watching", async () => {
    await launch(executor(), "unwatched", ["/bin/sh", "-c", "echo done; exit 5"]);
    await waitFor("the status file", () => existsSync(join(runsDir, "unwatched", "status")));
    const fresh = executor();
    const state = await exitOf(fresh, "unwatched");
    assert.equal(state.kind === "exited" && state.exitCode, 5);
    assert.equal(await logText(fresh, "unwatched"), "done\n");
    await fresh.close();
  });

  it("reports a run as lost when its shim is killed, and kills the orphaned process group", async () => {
    const ex = executor();
    await launch(ex, "orphan", ["/bin/sh", "-c", "sleep 300 & sleep 300 & echo ready; wait"]);
    const { shimPid, pgid } = await runningGroup(ex, "orphan");
    await waitFor("the children", () => liveGroupMembers(pgid).length >= 3);
    process.kill(shimPid, "SIGKILL");
    const state = await exitOf(ex, "orphan");
    assert.equal(state.kind, "lost");
    assert.ok(state.kind === "lost" && state.reason.includes(`pid ${shimPid}`), JSON.stringify(state));
    await waitFor("the orphaned group to die", () => liveGroupMembers(pgid).length === 0);
    assert.equal(existsSync(join(runsDir, "orphan", "status")), false);
    await ex.close();
  });

  it("treats a launch that never reached its shim as running for the grace, then as absent, and launches it then", async () => {
    const ex = executor({ startGraceMs: 300 });
    const dir = join(runsDir, "half-launched");
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, "launched"), `${Date.now()}\n`);
    const pending = await ex.inspect("half-launched");
    assert.deepEqual([pending.kind, pending.kind === "running" && pending.shimPid], ["running", null]);
    await waitFor("the grace to pass", async () => (await ex.inspect("half-launched")).kind === "absent");
    await launch(ex, "half-launched", ["/bin/sh", "-c", "exit 4"]);
    const state = await exitOf(ex, "half-launched");
    assert.equal(state.kind === "exited" && state.exitCode, 4);
    await ex.close();
  });

  it("keeps 100 running replicas cheap: each shim is a small shell, not a runtime", async (t) => {
    const ex = executor();
    const ids = Array.from({ length: 100 }, (_, i) => `rss-${i}`);
    for (let i = 0; i < ids.length; i += 20) {
      await Promise.all(ids.slice(i, i + 20).map((id) => launch(ex, id, ["sleep", "300"])));
    }
    const groups = await Promise.all(ids.map((id) => runningGroup(ex, id)));
    // Each replica also has its log writer (sh + split, idle while the command prints nothing), in a group of its own.
    const writers = await Promise.all(groups.map((g) => waitFor("the log writer", () => logWriterOf(g.shimPid, g.pgid))));
    const writerPids = writers.flatMap((w) => liveGroupMembers(w));
    const shimKb = groups.reduce((sum, g) => sum + vmRssKb(g.shimPid), 0);
    const commandKb = groups.reduce((sum, g) => sum + vmRssKb(g.pgid), 0);
    const writerKb = writerPids.reduce((sum, pid) => sum + vmRssKb(pid), 0);
    const pssTotalKb = groups.reduce((sum, g) => sum + pssKb(g.shimPid) + pssKb(g.pgid), 0) + writerPids.reduce((sum, pid) => sum + pssKb(pid), 0);
    t.diagnostic(
      `100 shims: VmRSS ${(shimKb / 1024).toFixed(1)} MB (${(shimKb / 100).toFixed(0)} kB each); their log writers (${writerPids.length} processes): ` +
        `VmRSS ${(writerKb / 1024).toFixed(1)} MB; with their sleep commands: VmRSS ${((shimKb + writerKb + commandKb) / 1024).toFixed(1)} MB, PSS ${(pssTotalKb / 1024).toFixed(1)} MB`,
    );
    assert.ok(shimKb > 0 && shimKb < 300 * 1024, `100 shims use ${shimKb} kB of VmRSS`);
    assert.ok(writerKb > 0 && writerKb < 600 * 1024, `100 log writers use ${writerKb} kB of VmRSS`);
    assert.ok(pssTotalKb < 300 * 1024, `100 shims, writers and commands use ${pssTotalKb} kB of PSS`);
    await Promise.all(ids.map((id) => ex.terminate(id, 2000)));
    for (const g of groups) assert.deepEqual(liveGroupMembers(g.pgid), []);
    for (const w of writers) assert.deepEqual(liveGroupMembers(w), [], "each writer ends with its replica");
    await ex.close();
  });
});
