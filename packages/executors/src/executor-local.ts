/**
 * The local executor: each replica is a process tree on this machine under a detached `/bin/sh` shim that owns its
 * process group and records its pid, its log and its exit status in `runsDir/<runId>/` (the protocol is in
 * executor-local-shim.ts). Every answer is read back from those files and the process table, so a new instance
 * pointed at the same `runsDir` adopts every run a previous one started, including runs that ended meanwhile.
 *
 * A replica never has the platform's rights: with `runAs` it runs as that account (never root), with the `bwrap`
 * sandbox it sees none of the hidden paths and none of the machine's processes, and its environment starts from
 * `baseEnv`, never from this process's (executor-local-sandbox.ts). The shim itself stays the platform's.
 *
 * A little over 350 lines on purpose: one class implements the Executor contract, and its launch, observe, stop and
 * adopt all read and write the same run-dir protocol; the shim, logs, sandbox and GPU inventory are already apart.
 */
import { spawn } from "node:child_process";
import { mkdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Code, SwitchyardError, invalidArgument, noopLogger, sleep } from "@switchyard/core";
import type { Logger } from "@switchyard/core";
import type { Executor, LogChunk, LogLimits, LogReadOptions, ReplicaHandle, ReplicaLaunch, ReplicaState } from "./executor.js";
import { RunFile, parseGroupRecord, parseShimRecord, writeRunFiles } from "./executor-local-shim.js";
import { compileSandboxOptions, planLaunch, validateLaunch, type CompiledSandbox, type SandboxOptions } from "./executor-local-sandbox.js";
import { LaunchesInFlight, RUN_ID } from "./launch-checks.js";
import { DEFAULT_LOG_LIMITS, compileLogChunkBytes, compileLogLimits, dirDiskBytes, logLayout, logPathIn, readLogOf } from "./run-log.js";
import { exitedState, parseStatusRecord } from "./run-status.js";
import { RunWatches } from "./run-watches.js";
import { groupAlive, groupMembers, processAlive, signalGroup, type GroupIdentity } from "./proc.js";

export interface LocalExecutorOptions {
  /** Where run directories live; created if missing. Must be on a local file system (rename and mkdir are atomic). */
  runsDir: string;
  logger?: Logger;
  /** How often watched runs are checked (one timer for all); default 150 ms. */
  pollMs?: number;
  /**
   * The environment every replica starts from, never this process's own; default PATH (node's directory first, then
   * the system's) and LANG=C.UTF-8. With `runAs`, HOME, USER and LOGNAME of the account are added; the spec's env
   * overrides all of these.
   */
  baseEnv?: Record<string, string>;
  /**
   * Default `{ kind: "none" }`: replicas see the whole machine as their user does. With `bwrap`, check at start with
   * `probeSandbox({ asUid })` (the uid jobs run as: bwrap as root needs no user namespace, as another user it does).
   */
  sandbox?: SandboxOptions;
  /** How long a launched shim may take to record itself before the run counts as absent or lost; default 5000 ms. */
  startGraceMs?: number;
  /** How long `terminate` waits for a SIGKILLed group to vanish before it fails; default 10000 ms. */
  killTimeoutMs?: number;
  /**
   * Log limits of a launch that sets none; default 8 MiB head + 56 MiB tail (`DEFAULT_LOG_LIMITS`). Each is rounded up
   * to whole chunks; a run's log never takes more than head + tail + one chunk on disk.
   */
  logLimits?: LogLimits;
  /** The log writer's chunk: the unit of rotation, 4 KiB to 1 GiB; default 4 MiB (a few forks per chunk). */
  logChunkBytes?: number;
  /**
   * The nice value replicas run at (0–19; default 10): a CPU-bound job yields to the platform's own services, so a
   * busy machine still answers its users. Its log writer runs at the same priority (it keeps up with its job, and a
   * job that floods its log does not take the CPU from the services through it).
   */
  niceness?: number;
}

export interface CompiledLocalExecutorOptions {
  readonly runsDir: string;
  readonly logger: Logger;
  readonly pollMs: number;
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly sandbox: CompiledSandbox;
  readonly startGraceMs: number;
  readonly killTimeoutMs: number;
  readonly logLimits: Readonly<LogLimits>;
  readonly logChunkBytes: number;
  readonly niceness: number;
}

/** The shim's own PATH (for setsid, date, mv, env): fixed, so a replica's PATH cannot break its shim. */
const SHIM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

export function compileLocalExecutorOptions(options: LocalExecutorOptions): CompiledLocalExecutorOptions {
  const positive = (field: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0) {
      throw invalidArgument(`local executor: ${field} must be a positive number of milliseconds`, [
        { field, message: "must be positive", expected: "a number > 0", got: String(value) },
      ]);
    }
    return value;
  };
  if (typeof options.runsDir !== "string" || options.runsDir === "") {
    throw invalidArgument("local executor: runsDir is required", [{ field: "runsDir", message: "is required" }]);
  }
  // Nothing of the platform's own environment (tokens, cloud keys) reaches a job unless the composition root says so.
  const baseEnv: Record<string, string> = options.baseEnv !== undefined ? { ...options.baseEnv } : { PATH: `${dirname(process.execPath)}:${SHIM_PATH}`, LANG: "C.UTF-8" };
  return Object.freeze({
    runsDir: resolve(options.runsDir),
    logger: (options.logger ?? noopLogger).child({ component: "executor-local" }),
    pollMs: positive("pollMs", options.pollMs, 150),
    baseEnv: Object.freeze(baseEnv),
    sandbox: compileSandboxOptions(options.sandbox),
    startGraceMs: positive("startGraceMs", options.startGraceMs, 5000),
    killTimeoutMs: positive("killTimeoutMs", options.killTimeoutMs, 10_000),
    logLimits: compileLogLimits(options.logLimits, "logLimits", DEFAULT_LOG_LIMITS),
    logChunkBytes: compileLogChunkBytes(options.logChunkBytes),
    niceness: compileNiceness(options.niceness),
  });
}

function compileNiceness(n: number | undefined): number {
  if (n === undefined) return 10;
  if (!Number.isInteger(n) || n < 0 || n > 19) throw invalidArgument("local executor: niceness must be a whole number from 0 to 19", [{ field: "niceness", message: "is out of range", expected: "0 to 19", got: String(n) }]);
  return n;
}

export function createLocalExecutor(options: LocalExecutorOptions): Executor {
  return new LocalExecutor(compileLocalExecutorOptions(options));
}

class LocalExecutor implements Executor {
  readonly name = "local";
  private readonly launching = new LaunchesInFlight<ReplicaHandle>();
  private readonly watches: RunWatches;
  private closed = false;

  constructor(private readonly o: CompiledLocalExecutorOptions) {
    this.watches = new RunWatches({
      pollMs: o.pollMs,
      logger: o.logger,
      runDir: (runId) => this.runDir(runId),
      inspect: (runId) => this.inspect(runId),
    });
  }

  launch(spec: ReplicaLaunch): Promise<ReplicaHandle> {
    try {
      validateLaunch(spec, this.o.sandbox, this.o.baseEnv);
      compileLogLimits(spec.logLimits, "logLimits", this.o.logLimits);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.launching.run(spec.runId, () => this.launchOnce(spec));
  }

  private async launchOnce(spec: ReplicaLaunch): Promise<ReplicaHandle> {
    const { runId } = spec;
    const dir = this.runDir(runId);
    const before = await this.inspect(runId);
    if (before.kind !== "absent") return { runId, state: before };

    // Every check that could fail after the start runs now, before anything is created.
    const plan = await planLaunch(spec, this.o.sandbox, dir, this.o.baseEnv);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // The claim: exclusive create. A stale marker (launch died before the shim started) has outlived the grace.
    await rm(join(dir, RunFile.launched), { force: true });
    try {
      await writeFile(join(dir, RunFile.launched), `${Date.now()}\n`, { flag: "wx" });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return { runId, state: await this.inspect(runId) };
      throw err;
    }

    const env: Record<string, string> = { ...this.o.baseEnv, ...plan.identityEnv, ...spec.env };
    env["CUDA_VISIBLE_DEVICES"] = spec.gpuIndices.join(",");
    const log = logLayout(compileLogLimits(spec.logLimits, "logLimits", this.o.logLimits), this.o.logChunkBytes);
    await writeRunFiles(dir, spec, plan, env, this.o.sandbox.kind, log, this.o.niceness);

    try {
      await spawnShim(dir);
    } catch (err) {
      await rm(join(dir, RunFile.launched), { force: true });
      throw new SwitchyardError(Code.Unavailable, `could not start the shim of run "${runId}": ${(err as Error).message}`, {
        cause: err,
      });
    }
    this.o.logger.info({ runId, command: spec.command[0], gpus: env["CUDA_VISIBLE_DEVICES"] }, "replica launched");
    // Callers get the shim's pid: wait (briefly, normally a few ms) for it to record itself.
    const deadline = Date.now() + this.o.startGraceMs;
    let state = await this.inspect(runId);
    while (state.kind === "running" && state.shimPid === null && Date.now() < deadline) {
      await sleep(5);
      state = await this.inspect(runId);
    }
    return { runId, state };
  }

  async inspect(runId: string): Promise<ReplicaState> {
    const dir = this.runDir(runId);
    const status = parseStatusRecord((await readText(join(dir, RunFile.status))) ?? "");
    if (status !== null) return exitedState(status);

    const shim = parseShimRecord((await readText(join(dir, RunFile.shimPid))) ?? "");
    if (shim !== null) {
      if (await processAlive(shim.pid, shim.startTicks)) {
        const group = parseGroupRecord((await readText(join(dir, RunFile.pgid))) ?? "");
        return { kind: "running", shimPid: shim.pid, pgid: group?.pgid ?? null, startedAtMs: shim.startedAtMs };
      }
      // The shim may have written its status and exited since the first read.
      const late = parseStatusRecord((await readText(join(dir, RunFile.status))) ?? "");
      if (late !== null) return exitedState(late);
      return this.lost(runId, `its shim (pid ${shim.pid}) ended without writing an exit status`);
    }

    const launchedAtMs = Number((await readText(join(dir, RunFile.launched))) ?? Number.NaN);
    const lockedAtMs = await mtimeMs(join(dir, RunFile.lock));
    if (Number.isNaN(launchedAtMs) && lockedAtMs === null) return { kind: "absent" };
    const sinceMs = Number.isNaN(launchedAtMs) ? (lockedAtMs ?? 0) : launchedAtMs;
    if (Date.now() - sinceMs < this.o.startGraceMs) return { kind: "running", shimPid: null, pgid: null, startedAtMs: sinceMs };
    if ((await readText(join(dir, RunFile.shimPid))) !== null) return this.inspect(runId);
    if (lockedAtMs !== null) return this.lost(runId, "its shim took the run's lock but never recorded its pid");
    return { kind: "absent" };
  }

  /** The result is unknown; whatever is left of the command's group is killed so nothing runs orphaned. */
  private async lost(runId: string, why: string): Promise<ReplicaState> {
    let reason = `run "${runId}" is lost: ${why}`;
    const group = await this.readGroup(runId);
    if (group !== null) {
      const members = await groupMembers(group);
      if (members.length > 0 && (await signalGroup(group, "SIGKILL"))) {
        reason += `; its process group ${group.pgid} (${members.length} processes) was killed`;
        this.o.logger.warn({ runId, pgid: group.pgid, pids: members }, "killed the orphaned process group of a lost run");
      }
    }
    return { kind: "lost", reason };
  }

  watch(runId: string, onExit: (state: ReplicaState) => void): () => void {
    this.runDir(runId);
    if (this.closed) throw new SwitchyardError(Code.FailedPrecondition, "the local executor is closed; create a new one to watch runs");
    return this.watches.add(runId, onExit);
  }

  async terminate(runId: string, graceMs: number): Promise<void> {
    if (!Number.isFinite(graceMs) || graceMs < 0) {
      throw invalidArgument("terminate: graceMs must be a number >= 0", [{ field: "graceMs", message: "must be >= 0", got: String(graceMs) }]);
    }
    // Wait out the moment between launch and the command recording its group.
    const startEnd = Date.now() + this.o.startGraceMs + this.o.killTimeoutMs;
    let state = await this.inspect(runId);
    while (state.kind === "running" && state.pgid === null) {
      if (Date.now() > startEnd) {
        throw new SwitchyardError(Code.DeadlineExceeded, `run "${runId}": its shim is alive but never recorded the command's process group; see ${this.runDir(runId)}`);
      }
      await sleep(10);
      state = await this.inspect(runId);
    }
    const group = await this.readGroup(runId);
    if (state.kind === "absent" || group === null) return;
    if (state.kind === "running" && (await signalGroup(group, "SIGTERM"))) {
      this.o.logger.info({ runId, pgid: group.pgid, graceMs }, "SIGTERM sent to the replica's process group");
      const graceEnd = Date.now() + graceMs;
      while (Date.now() < graceEnd && (await groupAlive(group))) await sleep(Math.min(20, graceMs));
    }
    const killEnd = Date.now() + this.o.killTimeoutMs;
    let killed = false;
    for (;;) {
      const alive = await groupAlive(group);
      if (alive && (await signalGroup(group, "SIGKILL")) && !killed) {
        killed = true;
        this.o.logger.info({ runId, pgid: group.pgid }, "SIGKILL sent to what is left of the replica's process group");
      }
      // Done when no process is left and the shim has recorded the end (or is gone: then the run is lost).
      if (!alive && (await this.inspect(runId)).kind !== "running") return;
      if (Date.now() > killEnd) {
        const members = await groupMembers(group);
        const what = members.length > 0 ? `process group ${group.pgid} still has processes ${members.join(", ")}` : "its shim has not written the exit status";
        throw new SwitchyardError(
          Code.DeadlineExceeded,
          `run "${runId}": ${what} ${this.o.killTimeoutMs} ms after SIGKILL (uninterruptible I/O?); check with ps and retry terminate`,
        );
      }
      await sleep(20);
    }
  }

  readLog(runId: string, options: LogReadOptions = {}): Promise<LogChunk> {
    return readLogOf(this.runDir(runId), runId, this.o.runsDir, options);
  }

  logPath(runId: string): string {
    return logPathIn(this.runDir(runId));
  }

  async diskBytes(runId: string): Promise<number> {
    return dirDiskBytes(this.runDir(runId));
  }

  async remove(runId: string): Promise<void> {
    const state = await this.inspect(runId);
    if (state.kind === "running") throw new SwitchyardError(Code.FailedPrecondition, `run "${runId}" is still running: terminate it before removing its files`);
    await rm(this.runDir(runId), { recursive: true, force: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watches.close();
  }

  private runDir(runId: string): string {
    if (typeof runId !== "string" || !RUN_ID.test(runId) || runId === "." || runId === "..") {
      throw invalidArgument(`run id "${String(runId)}" is not usable as a file name`, [
        { field: "runId", message: "invalid run id", expected: "1-200 characters of [A-Za-z0-9._-], not . or ..", got: String(runId) },
      ]);
    }
    return join(this.o.runsDir, runId);
  }

  private async readGroup(runId: string): Promise<GroupIdentity | null> {
    return parseGroupRecord((await readText(join(this.runDir(runId), RunFile.pgid))) ?? "");
  }
}

function spawnShim(dir: string): Promise<void> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn("/bin/sh", [join(dir, RunFile.shim), dir], {
      cwd: dir,
      detached: true,
      stdio: "ignore",
      env: { PATH: SHIM_PATH },
    });
    child.once("error", reject);
    child.once("spawn", () => {
      child.unref();
      resolvePromise();
    });
  });
}

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, "utf8");
  } catch {
    return null;
  }
}

async function mtimeMs(path: string): Promise<number | null> {
  try {
    return (await stat(path)).mtimeMs;
  } catch {
    return null;
  }
}
