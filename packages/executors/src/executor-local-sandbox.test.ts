import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, statSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { checkReachable } from "./check-reachable.js";
import { probeSandbox } from "./executor-local-sandbox.js";
import { allPids, exitOf, isolationFixture, liveGroupMembers, logText, procFile, runningGroup, sh, waitFor } from "./executor-local-test-kit.js";
import type { IsolationFixture } from "./executor-local-test-kit.js";

// Real processes in real bubblewrap sandboxes, as nobody (as the tests' own user when they do not run as root): each
// replica plays the attacker against the platform's files and processes. Skipped where bwrap does not work.

let f: IsolationFixture;
before(async () => {
  f = await isolationFixture("sandbox");
});
after(() => f.close());

describe("local executor: sandbox", () => {
  it("a sandboxed replica sees neither the platform's data, nor other jobs, nor the platform's processes, yet writes its own directory", async (t) => {
    if (!f.needs(t, { bwrap: true })) return;
    const ex = f.executor(true);
    const dir = await f.jobDir("sandboxed");
    const script = [
      "id -u; id -g",
      'cat "$1/secret" && echo LEAKED',
      'cat "$1/jobs/other/weights" && echo LEAKED',
      'ls "$1/runs" && echo LEAKED',
      'echo "data: $(ls -A "$1" | tr "\\n" " ")"',
      'echo "jobs: $(ls -A "$1/jobs" | tr "\\n" " ")"',
      'echo "pids: $(ls /proc | grep -E "^[0-9]+$" | tr "\\n" " ")"',
      'echo "written by $(id -u)" > "$2/proof"',
    ].join("\n");
    await f.launch(ex, "sandboxed", sh(script, f.data, dir), f.asJob(dir));
    const state = await exitOf(ex, "sandboxed");
    assert.equal(state.kind === "exited" && state.exitCode, 0, await logText(ex, "sandboxed"));
    const log = await logText(ex, "sandboxed");
    assert.ok(log.startsWith(`${f.job.uid}\n${f.job.gid}\n`), log);
    assert.doesNotMatch(log, /LEAKED|platform-secret|other-job-weights/);
    assert.match(log, /^data: jobs $/m, "the data dir is an empty tmpfs but for the path to the job's own directory");
    assert.match(log, /^jobs: sandboxed $/m);
    const pids = /^pids: (.*)$/m.exec(log)![1]!.trim().split(" ").map(Number);
    assert.ok(pids.length > 0 && pids.length <= 6 && Math.max(...pids) < 50, `the sandbox's own pids only: ${pids.join(" ")}`);
    assert.ok(allPids().length > pids.length * 3, "the machine has many more processes than the sandbox shows");
    assert.equal(readFileSync(join(dir, "proof"), "utf8"), `written by ${f.job.uid}\n`);
    assert.equal(statSync(join(dir, "proof")).uid, f.job.uid);
    await ex.close();
  });

  it("terminate lets a sandboxed trainer checkpoint on SIGTERM and records the exit code it chose", async (t) => {
    if (!f.needs(t, { bwrap: true })) return;
    const ex = f.executor(true);
    const dir = await f.jobDir("checkpoint");
    const trainer = 'trap "sleep 0.3; echo checkpointed > checkpoint; exit 7" TERM; echo ready; while :; do sleep 0.05; done';
    await f.launch(ex, "checkpoint", sh(trainer), f.asJob(dir));
    const { pgid } = await runningGroup(ex, "checkpoint");
    await waitFor("ready", async () => (await logText(ex, "checkpoint")).includes("ready"));
    await ex.terminate("checkpoint", 5000);
    const state = await ex.inspect("checkpoint");
    assert.ok(state.kind === "exited", state.kind);
    assert.deepEqual([state.exitCode, state.signal], [7, null]);
    assert.equal(readFileSync(join(dir, "checkpoint"), "utf8"), "checkpointed\n");
    assert.deepEqual(liveGroupMembers(pgid), []);
    await ex.close();
  });

  it("terminate leaves no process of a sandboxed replica, not even one that left its process group", async (t) => {
    if (!f.needs(t, { bwrap: true })) return;
    const ex = f.executor(true);
    const dir = await f.jobDir("stray");
    const strays = newProcesses("sleep\x00313\x00");
    await f.launch(ex, "stray", sh("setsid sleep 313 & sleep 300 & echo ready; wait"), f.asJob(dir));
    const { pgid } = await runningGroup(ex, "stray");
    await waitFor("the escaped sleep", () => strays().length === 1);
    await ex.terminate("stray", 5000);
    const state = await ex.inspect("stray");
    assert.ok(state.kind === "exited");
    assert.deepEqual([state.exitCode, state.signal], [143, "SIGTERM"]);
    assert.deepEqual(liveGroupMembers(pgid), []);
    await waitFor("the sandbox's pid namespace to be gone", () => strays().length === 0, 2000);
    await ex.close();
  });

  it("reports a sandboxed replica whose shim was killed as lost, and leaves nothing of it running", async (t) => {
    if (!f.needs(t, { bwrap: true })) return;
    const ex = f.executor(true);
    const dir = await f.jobDir("lost");
    const strays = newProcesses("sleep\x00314\x00");
    await f.launch(ex, "lost", sh("setsid sleep 314 & sleep 300 & echo ready; wait"), f.asJob(dir));
    const { shimPid, pgid } = await runningGroup(ex, "lost");
    await waitFor("the escaped sleep", () => strays().length === 1);
    process.kill(shimPid, "SIGKILL");
    const state = await exitOf(ex, "lost");
    assert.ok(state.kind === "lost" && state.reason.includes(`pid ${shimPid}`), JSON.stringify(state));
    await waitFor("the orphaned group to die", () => liveGroupMembers(pgid).length === 0);
    await waitFor("the sandbox's pid namespace to be gone", () => strays().length === 0, 2000);
    await ex.close();
  });

  it("shares the machine's network with a sandboxed replica, so that DDP can rendezvous over loopback", async (t) => {
    if (!f.needs(t, { bwrap: true })) return;
    try {
      await checkReachable(process.execPath, f.job, "read-enter");
    } catch (err) {
      return t.skip(`${f.job.user} cannot run this node: ${(err as Error).message}`);
    }
    const server = createServer();
    t.after(() => server.close());
    const received = new Promise<string>((resolve) =>
      server.on("connection", (socket) => {
        let text = "";
        socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
        socket.on("end", () => resolve(text));
      }),
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    const ex = f.executor(true);
    const dir = await f.jobDir("network");
    // `node` from PATH: the default base environment puts this node's directory first.
    const client = 'const s = require("net").connect(Number(process.argv[1]), "127.0.0.1", () => s.end("hello from the sandbox"))';
    await f.launch(ex, "network", ["node", "-e", client, String(port)], f.asJob(dir));
    const state = await exitOf(ex, "network");
    assert.equal(state.kind === "exited" && state.exitCode, 0, await logText(ex, "network"));
    assert.equal(await received, "hello from the sandbox");
    await ex.close();
  });

  it("probeSandbox says whether bubblewrap works here, and why not", async (t) => {
    t.diagnostic(`probeSandbox(): ${JSON.stringify(f.probe)}`);
    if (f.probe.ok) assert.equal(f.probe.bwrapPath, "/usr/bin/bwrap");
    if (f.isRoot) assert.deepEqual(await probeSandbox({ asUid: 65534 }), f.probe, "as nobody as well as as root");
    const missing = await probeSandbox({ bwrapPath: "/nonexistent/bwrap" });
    assert.ok(!missing.ok && missing.why.includes("/nonexistent/bwrap") && /install bubblewrap/.test(missing.why), JSON.stringify(missing));
    const failing = await probeSandbox({ bwrapPath: "/bin/false" });
    assert.ok(!failing.ok && /could not run \/bin\/true in a sandbox: exit code 1/.test(failing.why), JSON.stringify(failing));
  });
});

/** A probe for processes with this exact /proc/PID/cmdline that did not exist when it was made. */
function newProcesses(cmdline: string): () => number[] {
  const matching = (): number[] => allPids().filter((pid) => procFile(pid, "cmdline")?.toString() === cmdline);
  const earlier = new Set(matching());
  return () => matching().filter((pid) => !earlier.has(pid));
}
