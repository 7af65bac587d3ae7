/**
 * Helpers for the local executor's tests: waiting on real processes and reading /proc independently of the code
 * under test. Test-only; not exported from index.ts.
 */
import { readFileSync, readdirSync } from "node:fs";
import { chmod, chown, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import type { TestContext } from "node:test";
import type { Executor, ReplicaHandle, ReplicaLaunch } from "./executor.js";
import { createLocalExecutor } from "./executor-local.js";
import { waitFor } from "./executor-test-kit.js";

export { exitOf, logText, waitFor } from "./executor-test-kit.js";
import { probeSandbox, type SandboxProbe } from "./executor-local-sandbox.js";

/** Pids of every process on the machine, read from /proc. */
export function allPids(): number[] {
  return readdirSync("/proc").filter((name) => /^\d+$/.test(name)).map(Number);
}

/** A file of /proc/<pid>/, or null when the process is gone or the file unreadable. */
export function procFile(pid: number, file: string): Buffer | null {
  try {
    return readFileSync(`/proc/${pid}/${file}`);
  } catch {
    return null;
  }
}

/** Live (non-zombie) processes whose process group is `pgid`, read straight from /proc, independently of the code under test. */
export function liveGroupMembers(pgid: number): number[] {
  const pids: number[] = [];
  for (const pid of allPids()) {
    const text = procFile(pid, "stat")?.toString("utf8");
    if (text === undefined) continue;
    const fields = text.slice(text.lastIndexOf(")") + 2).split(" ");
    if (Number(fields[2]) === pgid && fields[0] !== "Z" && fields[0] !== "X") pids.push(pid);
  }
  return pids;
}

/** The shim's other child: the log writer, leader of a process group (and session) of its own; the job's is the other. */
export function logWriterOf(shimPid: number, jobPgid: number): number | undefined {
  return allPids().find((pid) => {
    const text = procFile(pid, "stat")?.toString("utf8");
    const fields = text?.slice(text.lastIndexOf(")") + 2).split(" ");
    return fields !== undefined && Number(fields[1]) === shimPid && Number(fields[2]) === pid && pid !== jobPgid;
  });
}

export async function runningGroup(ex: Executor, runId: string): Promise<{ shimPid: number; pgid: number }> {
  return waitFor(`run ${runId} to record its process group`, async () => {
    const s = await ex.inspect(runId);
    return s.kind === "running" && s.shimPid !== null && s.pgid !== null ? { shimPid: s.shimPid, pgid: s.pgid } : undefined;
  });
}

export const sh = (script: string, ...args: string[]): string[] => ["/bin/sh", "-c", script, "sh", ...args];

export type LaunchRest = Omit<ReplicaLaunch, "runId" | "command">;

/**
 * The world the runAs and sandbox tests attack: a temp "platform data dir" that is open to everyone (0755), so that
 * only the sandbox stands between a job and its contents, holding the runs, a 0600 `secret` and another job's
 * world-readable `jobs/other/weights`; each test's job gets `jobs/<name>`, owned by the job's account.
 */
export interface IsolationFixture {
  readonly isRoot: boolean;
  readonly probe: SandboxProbe;
  readonly root: string;
  readonly data: string;
  readonly runsDir: string;
  /** Skips the test (returning false) when it needs root or a working bwrap and this machine has not. */
  needs(t: TestContext, what: { root?: boolean; bwrap?: boolean }): boolean;
  /** An executor over the fixture's runs; `sandbox` hides the whole data dir. */
  executor(sandbox: boolean): Executor;
  jobDir(name: string): Promise<string>;
  /** The account jobs run as: nobody when the tests run as root, else the tests' own (no switch, still a sandbox). */
  readonly job: { uid: number; gid: number; user: string };
  /** Launch fields for a replica that runs as `job` in `dir` (its working directory, home and visible path). */
  asJob(dir: string, extra?: Partial<ReplicaLaunch>): LaunchRest;
  /** Launches, remembering the run so that `close` terminates it. */
  launch(ex: Executor, runId: string, command: string[], rest: LaunchRest): Promise<ReplicaHandle>;
  close(): Promise<void>;
}

export const NOBODY = { uid: 65534, gid: 65534, user: "nobody" };

export async function isolationFixture(name: string): Promise<IsolationFixture> {
  const isRoot = process.getuid?.() === 0;
  const job = isRoot ? NOBODY : { uid: process.getuid?.() ?? -1, gid: process.getgid?.() ?? -1, user: userInfo().username };
  const probe = await probeSandbox();
  const root = await mkdtemp(join(tmpdir(), `switchyard-${name}-`));
  const data = join(root, "data");
  const runsDir = join(data, "runs");
  await mkdir(join(data, "jobs", "other"), { recursive: true });
  for (const dir of [root, data, join(data, "jobs"), join(data, "jobs", "other")]) await chmod(dir, 0o755);
  await writeFile(join(data, "secret"), "platform-secret\n", { mode: 0o600 });
  await writeFile(join(data, "jobs", "other", "weights"), "other-job-weights\n", { mode: 0o644 });
  const started: Array<{ executor: Executor; runId: string }> = [];
  return {
    isRoot,
    probe,
    root,
    data,
    runsDir,
    needs(t, what) {
      if (what.root === true && !isRoot) t.skip("switching users needs root");
      else if (what.bwrap === true && !probe.ok) t.skip(`bubblewrap does not work here: ${probe.why}`);
      else return true;
      return false;
    },
    executor: (sandbox) => createLocalExecutor({ runsDir, pollMs: 50, ...(sandbox ? { sandbox: { kind: "bwrap", hide: [data] } } : {}) }),
    async jobDir(job) {
      const dir = join(data, "jobs", job);
      await mkdir(dir);
      await chmod(dir, 0o755);
      if (isRoot) await chown(dir, NOBODY.uid, NOBODY.gid);
      return dir;
    },
    job,
    asJob: (dir, extra = {}) => ({ env: {}, gpuIndices: [], workingDir: dir, visiblePaths: [dir], runAs: { ...job, home: dir }, ...extra }),
    launch(ex, runId, command, rest) {
      started.push({ executor: ex, runId });
      return ex.launch({ runId, command, ...rest });
    },
    async close() {
      await Promise.all(started.map(({ executor, runId }) => executor.terminate(runId, 0).catch(() => undefined)));
      await rm(root, { recursive: true, force: true });
    },
  };
}
