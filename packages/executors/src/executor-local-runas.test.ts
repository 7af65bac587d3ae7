import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import { checkReachable } from "./check-reachable.js";
import type { Executor } from "./executor.js";
import { allPids, exitOf, isolationFixture, liveGroupMembers, logText, procFile, runningGroup, sh, waitFor } from "./executor-local-test-kit.js";
import type { IsolationFixture, LaunchRest } from "./executor-local-test-kit.js";

// Real processes and real accounts: each replica, run as nobody, plays the attacker against the platform's files,
// environment and secrets. Tests that switch users need root (they skip otherwise); the sandbox is used where it works.

let f: IsolationFixture;
before(async () => {
  f = await isolationFixture("runas");
});
after(() => f.close());

describe("local executor: runAs", () => {
  it("runs a replica as its runAs account, with that account's identity and rights only", async (t) => {
    if (!f.needs(t, { root: true })) return;
    const ex = f.executor(false);
    const dir = await f.jobDir("identity");
    const { workingDir: _, ...inHome } = f.asJob(dir);
    await f.launch(ex, "identity", sh('id -u; id -g; id -G; echo "$HOME $USER $LOGNAME $(pwd)"; cat "$1/jobs/other/weights"; cat "$1/secret"; echo end', f.data), inHome);
    const state = await exitOf(ex, "identity");
    assert.equal(state.kind === "exited" && state.exitCode, 0);
    const log = await logText(ex, "identity");
    assert.ok(log.startsWith(`65534\n65534\n65534\n${dir} nobody nobody ${dir}\n`), `runs in its HOME by default: ${log}`);
    // Without a sandbox an account reads whatever the file modes allow: the other job's world-readable file
    // (what the sandbox takes away: executor-local-sandbox.test.ts), but not the platform's 0600 secret.
    assert.match(log, /other-job-weights/);
    assert.match(log, /secret: Permission denied/);
    assert.doesNotMatch(log, /platform-secret/);
    await ex.close();
  });

  it("gives a replica none of the platform's environment, only the base environment, its identity and its spec's env", async (t) => {
    const planted = { SWITCHYARD_TOKEN: "platform-token", AWS_SECRET_ACCESS_KEY: "platform-aws", SWITCHYARD_JOIN_TOKEN: "platform-join" };
    Object.assign(process.env, planted);
    t.after(() => {
      for (const key of Object.keys(planted)) delete process.env[key];
    });
    const envOf = async (ex: Executor, runId: string, rest: LaunchRest): Promise<Record<string, string>> => {
      await f.launch(ex, runId, ["env"], rest);
      const state = await exitOf(ex, runId);
      assert.equal(state.kind === "exited" && state.exitCode, 0, await logText(ex, runId));
      const lines = (await logText(ex, runId)).trimEnd().split("\n");
      return Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]));
    };
    const plain = await envOf(f.executor(false), "env-plain", { env: { SECRET_X: "hunter2" }, gpuIndices: [], workingDir: f.root });
    assert.deepEqual(Object.keys(plain).sort(), ["CUDA_VISIBLE_DEVICES", "LANG", "PATH", "PWD", "SECRET_X"]);
    assert.ok(plain["PATH"]!.startsWith(`${dirname(process.execPath)}:`), plain["PATH"]);
    assert.deepEqual([plain["LANG"], plain["SECRET_X"]], ["C.UTF-8", "hunter2"]);
    if (!f.isRoot && !f.probe.ok) return t.diagnostic("the runAs half needs root or a sandbox");
    const dir = await f.jobDir("env");
    const switched = await envOf(f.executor(f.probe.ok), "env-switched", f.asJob(dir, { env: { SECRET_X: "hunter2", LANG: "en_US.UTF-8" } }));
    assert.deepEqual(Object.keys(switched).sort(), ["CUDA_VISIBLE_DEVICES", "HOME", "LANG", "LOGNAME", "PATH", "SECRET_X", "USER"]);
    assert.deepEqual([switched["HOME"], switched["USER"], switched["LOGNAME"], switched["LANG"]], [dir, f.job.user, f.job.user, "en_US.UTF-8"]);
  });

  it("keeps a job's secret out of every command line, out of every root process and off the disk", async (t) => {
    const runIds = ["secret-plain"];
    const ex = f.executor(false);
    const plainDir = join(f.root, "secret-plain");
    await mkdir(plainDir);
    // One process that forks nothing, so that its group's members are known for the scans below.
    await f.launch(ex, "secret-plain", sh("echo ready; exec sleep 300"), { env: { SECRET_X: "hunter2" }, gpuIndices: [], workingDir: plainDir });
    const plainPgid = (await runningGroup(ex, "secret-plain")).pgid;
    let switchedPgid: number | null = null;
    let dir: string | null = null;
    if (f.isRoot || f.probe.ok) {
      dir = await f.jobDir("secret");
      runIds.push("secret-switched");
      const sx = f.executor(f.probe.ok);
      await f.launch(sx, "secret-switched", sh('echo ready; while [ ! -e "$1/go" ]; do sleep 0.02; done', dir), f.asJob(dir, { env: { SECRET_X: "hunter2" } }));
      switchedPgid = (await runningGroup(sx, "secret-switched")).pgid;
    } else t.diagnostic("the runAs half needs root or a sandbox");
    for (const runId of runIds) await waitFor(`${runId} ready`, async () => (await logText(ex, runId)).includes("ready"));

    const secretIn = (pid: number, file: string): boolean => procFile(pid, file)?.includes("hunter2") === true;
    assert.deepEqual(allPids().filter((pid) => secretIn(pid, "cmdline")), [], "no command line holds the secret");
    if (switchedPgid !== null) {
      const members = liveGroupMembers(switchedPgid);
      assert.ok(members.some((pid) => secretIn(pid, "environ")), "the job itself has its secret (the scan can see it)");
      // The unswitched replica runs as root by design (it is the platform's user); nothing else that runs as root may hold it.
      const plainMembers = liveGroupMembers(plainPgid);
      const rootHolders = allPids().filter((pid) => /^Uid:\s+0\s/m.test(procFile(pid, "status")?.toString() ?? "") && secretIn(pid, "environ"));
      assert.deepEqual(rootHolders.filter((pid) => !plainMembers.includes(pid)), [], "no process that runs as root holds it");
    }
    for (const runId of runIds) {
      const files = await readdir(join(f.runsDir, runId), { recursive: true, withFileTypes: true });
      for (const entry of files.filter((e) => e.isFile())) {
        const text = await readFile(join(entry.parentPath ?? entry.path, entry.name), "utf8");
        assert.ok(!text.includes("hunter2"), `${entry.name} of ${runId} holds the secret`);
      }
      const spec = JSON.parse(await readFile(join(f.runsDir, runId, "spec.json"), "utf8")) as { envNames: string[]; env?: unknown };
      assert.ok(spec.envNames.includes("SECRET_X") && spec.env === undefined);
    }
    await ex.terminate("secret-plain", 1000);
    if (dir !== null) {
      await writeFile(join(dir, "go"), "");
      assert.equal(((await exitOf(ex, "secret-switched")) as { exitCode?: number }).exitCode, 0);
    }
    // Launching an ended run again starts nothing and writes no secret back.
    assert.equal((await ex.launch({ runId: "secret-plain", command: ["true"], env: { SECRET_X: "hunter2" }, gpuIndices: [] })).state.kind, "exited");
    assert.deepEqual((await readdir(join(f.runsDir, "secret-plain"))).filter((name) => name.endsWith(".sh") && name !== "shim.sh"), []);
    await ex.close();
  });

  it("never lets a job's loader variables reach a program that runs as root", async (t) => {
    if (!f.needs(t, { root: true })) return;
    const ex = f.executor(f.probe.ok);
    const dir = await f.jobDir("ld-debug");
    // LD_DEBUG makes the loader of every program started with it announce that program: an LD_PRELOAD would run there.
    await f.launch(ex, "ld-debug", ["/bin/true"], f.asJob(dir, { env: { LD_DEBUG: "libs" } }));
    const state = await exitOf(ex, "ld-debug");
    assert.equal(state.kind === "exited" && state.exitCode, 0);
    const programs = [...(await logText(ex, "ld-debug")).matchAll(/initialize program: (\S+)/g)].map((m) => m[1]);
    assert.ok(programs.includes("/bin/true"), `the job's own program got its environment: ${programs.join(", ")}`);
    assert.deepEqual(programs.filter((p) => /setpriv|bwrap|\/bin\/sh/.test(p ?? "")), [], "setpriv, bwrap and the shells never did");
    await ex.close();
  });

  it("refuses a working directory or visible path the runAs account cannot reach, naming what blocks it, and starts nothing", async (t) => {
    if (!f.needs(t, { root: true })) return;
    const ex = f.executor(false);
    const locked = join(f.root, "locked");
    const work = join(locked, "work");
    await mkdir(work, { recursive: true });
    await chmod(locked, 0o700);
    await chmod(work, 0o777);
    const mine = await f.jobDir("reach");
    for (const [runId, rest] of [
      ["unreachable-cwd", f.asJob(work)],
      ["unreachable-visible", f.asJob(mine, { visiblePaths: [mine, work] })],
    ] as const) {
      await assert.rejects(f.launch(ex, runId, ["true"], rest), (err: unknown) => {
        assert.ok(err instanceof SwitchyardError);
        assert.equal(err.code, Code.FailedPrecondition);
        assert.ok(err.message.includes(`${work} is not reachable by nobody (uid 65534): ${locked} is mode 700 owned by root:root`), err.message);
        return true;
      });
      assert.deepEqual(await ex.inspect(runId), { kind: "absent" });
      assert.equal(existsSync(join(f.runsDir, runId)), false, "nothing was created");
    }
    // Group rights count: a 0750 directory of group 4242 lets in a member of 4242 and no one else.
    await chown(locked, 0, 4242);
    await chmod(locked, 0o750);
    await checkReachable(work, { uid: 65534, gid: 65534, groups: [4242] }, "read-enter");
    await assert.rejects(checkReachable(work, { uid: 65534, gid: 65534 }, "enter"), { code: Code.FailedPrecondition });
    await ex.close();
  });

  it("refuses to run a job as root, and to switch users when it is not root itself", async () => {
    const ex = f.executor(false);
    const base = { command: ["true"], env: {}, gpuIndices: [], workingDir: f.root };
    for (const runAs of [{ uid: 0, gid: 65534 }, { uid: 65534, gid: 0 }, { uid: 65534, gid: 65534, groups: [0] }]) {
      await assert.rejects(ex.launch({ runId: "as-root", ...base, runAs: { ...runAs, home: f.root } }), (err: unknown) => {
        assert.ok(err instanceof SwitchyardError && err.code === Code.InvalidArgument, String(err));
        assert.match(err.message, /must not be 0/);
        return true;
      });
    }
    await assert.rejects(f.executor(true).launch({ runId: "no-cwd", command: ["true"], env: {}, gpuIndices: [] }), /workingDir is required when a sandboxed replica has no absolute HOME/);
    const other = { uid: 12345, gid: 12345, home: f.root };
    const refusal = f.isRoot ? await launchAsNobody(f, other) : await ex.launch({ runId: "other-uid", ...base, runAs: other }).then(
      () => ({ code: -1, message: "launched" }),
      (err: SwitchyardError) => ({ code: err.code, message: err.message }),
    );
    assert.equal(refusal.code, Code.FailedPrecondition, refusal.message);
    assert.match(refusal.message, /not as root, and only root can switch users/);
    await ex.close();
  });
});

/** Runs an executor in a node process that runs as nobody, launching a replica as `runAs`; returns the error. */
async function launchAsNobody(f: IsolationFixture, runAs: { uid: number; gid: number; home: string }): Promise<{ code: number; message: string }> {
  const script = join(f.root, "as-nobody.mts");
  await writeFile(
    script,
    `import { createLocalExecutor } from ${JSON.stringify(new URL("./executor-local.ts", import.meta.url).pathname)};\n` +
      `const ex = createLocalExecutor({ runsDir: process.argv[2] });\n` +
      `const spec = { runId: "other-uid", command: ["true"], env: {}, gpuIndices: [], workingDir: "/", runAs: JSON.parse(process.argv[3]) };\n` +
      `await ex.launch(spec).then(() => console.log(JSON.stringify({ code: -1, message: "launched" })), (e) => console.log(JSON.stringify({ code: e.code, message: e.message })));\n`,
    { mode: 0o644 },
  );
  const runs = join(f.root, "nobody-runs");
  const child = spawn("/usr/bin/setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", "--", process.execPath, "--import", "tsx", script, runs, JSON.stringify(runAs)], {
    cwd: new URL("../../..", import.meta.url).pathname,
    stdio: ["ignore", "pipe", "inherit"],
  });
  let out = "";
  child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
  await new Promise((r) => child.once("exit", r));
  return JSON.parse(out.trim()) as { code: number; message: string };
}
