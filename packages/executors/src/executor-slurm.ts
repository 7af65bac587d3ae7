/**
 * The Slurm executor: we place, Slurm runs. The platform's scheduler decides where each replica goes (`node`, its CPU,
 * memory and GPU requests); this engine submits exactly that to Slurm and reads back what happened. A gang (the
 * replicas of one attempt) is ONE allocation: its members are recorded one `launch` at a time, and when the last is
 * recorded one `sbatch` is submitted whose batch script `srun`s one task per replica (executor-slurm-script.ts). Each
 * task's wrapper writes its replica's log, `started` and `status` files in the run's task directory on the shared
 * directory, in the local engine's formats, so `inspect`, `readLog` and `watch` read files first and ask Slurm
 * (`squeue`) only while no status exists.
 *
 * Never submitted twice: an intent record before `sbatch`, the job id recorded as soon as sbatch returns it, and a
 * look for the job by name before any second submission (executor-slurm-gang.ts). A complete gang that a crash left
 * unsubmitted is submitted by the next `launch` or `inspect` of any of its members. Records: executor-slurm-records.ts.
 *
 * Jobs never run with the platform's rights: as root it submits with `sbatch --uid --gid` of the launch's `runAs`
 * (required; never uid 0) and the task directory and the command script (0600, which holds the environment and is
 * deleted by itself when the task starts) belong to that account. The environment is never in argv. Slurm sets the
 * account's groups (initgroups): `runAs.groups` is not applied.
 *
 * Not applied by Slurm: the local engine's bubblewrap sandbox (`ExecutorOptions.sandbox` is ignored; confine jobs
 * with Slurm's own means: cgroups, `task/cgroup`, `ConstrainDevices`), `visiblePaths`, and the replica's niceness.
 */
import { mkdir, chmod, lstat, rm } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { Code, SwitchyardError, invalidArgument, noopLogger } from "@switchyard/core";
import type { Logger } from "@switchyard/core";
import { checkReachable, lookupAccount, type Account } from "./check-reachable.js";
import type { Executor, ExecutorNode, LogChunk, LogLimits, LogReadOptions, ReplicaHandle, ReplicaLaunch, ReplicaState } from "./executor.js";
import { SlurmCli, jobActive, type SlurmCommand } from "./executor-slurm-cli.js";
import { SlurmGangs, type SlurmCrashPoint } from "./executor-slurm-gang.js";
import { SlurmRecords, removeTaskTree, type MemberRecord, type Owner } from "./executor-slurm-records.js";
import { SLURM_SCRIPT_PATH, renderTaskCommand } from "./executor-slurm-script.js";
import { LaunchesInFlight, launchViolations, requireDirectory, validRunId } from "./launch-checks.js";
import { DEFAULT_LOG_LIMITS, LogFile, compileLogChunkBytes, compileLogLimits, dirDiskBytes, logLayout, logPathIn, readLogOf } from "./run-log.js";
import { exitedState, parseStatusRecord, readRecord } from "./run-status.js";
import { RunWatches } from "./run-watches.js";

/** What config says about Slurm (`ExecutorOptions.slurm`). */
export interface SlurmExecutorOptions {
  /** slurm.conf for every Slurm command (their SLURM_CONF); default: Slurm's own default (/etc/slurm/slurm.conf). */
  slurmConf?: string;
  /** `--partition`; default: the cluster's default partition. The inventory then lists that partition's nodes only. */
  partition?: string;
  /**
   * Where task directories (`<sharedDir>/tasks/<runId>/`: logs, status, command script) live: a file system every
   * node sees, and every ancestor enterable by the accounts jobs run as. Default: `runsDir`.
   */
  sharedDir?: string;
  /** Paths of the Slurm clients on this machine; default: found on the system PATH. */
  commands?: Partial<Record<SlurmCommand | "timeout", string>>;
  /** Job names are `<prefix><gangId>`: how the platform's allocations are told apart; default `switchyard-`. */
  jobNamePrefix?: string;
  /** Extra sbatch flags for every allocation (`--account=…`, `--qos=…`). */
  sbatchArgs?: string[];
  /** How often watched runs are checked at first, ms; default 250. Backs off to `maxPollMs` (default 3000). */
  pollMs?: number;
  maxPollMs?: number;
  /** sbatch's hard limit, ms (default 30000): an intent older than this (+5 s) whose job Slurm does not know was never submitted. */
  submitTimeoutMs?: number;
  /** Limit of every other Slurm command, ms; default 30000. */
  commandTimeoutMs?: number;
  /** How long `terminate` waits for Slurm to end an allocation after `scancel`, ms; default 60000. */
  killTimeoutMs?: number;
  /** The environment every replica starts from (default PATH and LANG=C.UTF-8); with runAs, HOME, USER and LOGNAME are added. */
  baseEnv?: Record<string, string>;
  /** Log limits of a launch that sets none; default 8 MiB + 56 MiB. */
  logLimits?: LogLimits;
  /** The log writer's chunk (4 KiB to 1 GiB); default 4 MiB. */
  logChunkBytes?: number;
  /** For tests: called at each step of a submission; throwing there is a crash at that point. */
  crashPoint?: (point: SlurmCrashPoint, gangId: string) => void;
}

/** Everything `createSlurmExecutor` takes: the platform's common options and Slurm's. */
export interface SlurmExecutorConfig extends SlurmExecutorOptions {
  runsDir: string;
  logger?: Logger;
}

export interface CompiledSlurmExecutorOptions {
  readonly runsDir: string;
  readonly tasksDir: string;
  readonly logger: Logger;
  readonly partition: string | undefined;
  readonly commands: Readonly<Record<SlurmCommand | "timeout", string>>;
  readonly commandEnv: Readonly<Record<string, string>>;
  readonly jobNamePrefix: string;
  readonly sbatchArgs: readonly string[];
  readonly pollMs: number;
  readonly maxPollMs: number;
  readonly submitTimeoutMs: number;
  readonly commandTimeoutMs: number;
  readonly killTimeoutMs: number;
  readonly baseEnv: Readonly<Record<string, string>>;
  readonly logLimits: Readonly<LogLimits>;
  readonly logChunkBytes: number;
  readonly crashPoint: ((point: SlurmCrashPoint, gangId: string) => void) | undefined;
}


export function compileSlurmExecutorOptions(o: SlurmExecutorConfig): CompiledSlurmExecutorOptions {
  const ms = (field: string, value: number | undefined, fallback: number): number => {
    if (value === undefined) return fallback;
    if (!Number.isFinite(value) || value <= 0) {
      throw invalidArgument(`slurm executor: ${field} must be a positive number of milliseconds`, [{ field, message: "must be positive", expected: "a number > 0", got: String(value) }]);
    }
    return value;
  };
  if (typeof o.runsDir !== "string" || o.runsDir === "") throw invalidArgument("slurm executor: runsDir is required", [{ field: "runsDir", message: "is required" }]);
  const prefix = o.jobNamePrefix ?? "switchyard-";
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(prefix)) {
    throw invalidArgument("slurm executor: jobNamePrefix must be 1-64 characters of [A-Za-z0-9._-]", [{ field: "slurm.jobNamePrefix", message: "invalid", got: prefix }]);
  }
  for (const [field, path] of [["slurm.slurmConf", o.slurmConf], ["slurm.sharedDir", o.sharedDir]] as const) {
    if (path !== undefined && (typeof path !== "string" || !path.startsWith("/"))) throw invalidArgument(`slurm executor: ${field} must be an absolute path`, [{ field, message: "must be an absolute path", got: String(path) }]);
  }
  const pollMs = ms("slurm.pollMs", o.pollMs, 250);
  const commands = { sbatch: "sbatch", squeue: "squeue", scontrol: "scontrol", scancel: "scancel", sacct: "sacct", timeout: "timeout", ...o.commands };
  return Object.freeze({
    runsDir: resolve(o.runsDir),
    tasksDir: join(resolve(o.sharedDir ?? o.runsDir), "tasks"),
    logger: (o.logger ?? noopLogger).child({ component: "executor-slurm" }),
    partition: o.partition,
    commands: Object.freeze(commands),
    commandEnv: Object.freeze({ PATH: SLURM_SCRIPT_PATH, LANG: "C", ...(o.slurmConf !== undefined ? { SLURM_CONF: o.slurmConf } : {}) }),
    jobNamePrefix: prefix,
    sbatchArgs: Object.freeze([...(o.sbatchArgs ?? [])]),
    pollMs,
    maxPollMs: Math.max(pollMs, ms("slurm.maxPollMs", o.maxPollMs, 3000)),
    submitTimeoutMs: ms("slurm.submitTimeoutMs", o.submitTimeoutMs, 30_000),
    commandTimeoutMs: ms("slurm.commandTimeoutMs", o.commandTimeoutMs, 30_000),
    killTimeoutMs: ms("slurm.killTimeoutMs", o.killTimeoutMs, 60_000),
    baseEnv: Object.freeze(o.baseEnv !== undefined ? { ...o.baseEnv } : { PATH: `${dirname(process.execPath)}:${SLURM_SCRIPT_PATH}`, LANG: "C.UTF-8" }),
    logLimits: compileLogLimits(o.logLimits, "slurm.logLimits", DEFAULT_LOG_LIMITS),
    logChunkBytes: compileLogChunkBytes(o.logChunkBytes),
    crashPoint: o.crashPoint,
  });
}

export type { SlurmCrashPoint } from "./executor-slurm-gang.js";

export function createSlurmExecutor(options: SlurmExecutorConfig): Executor {
  return new SlurmExecutor(compileSlurmExecutorOptions(options));
}

class SlurmExecutor implements Executor {
  readonly name = "slurm";
  /** `--cpus-per-task` takes whole CPUs. */
  readonly cpuUnitMilli = 1000;
  /** GRES are whole devices (no MPS or shards here). */
  readonly wholeGpus = true;
  private readonly cli: SlurmCli;
  private readonly records: SlurmRecords;
  private readonly watches: RunWatches;
  private readonly gangs: SlurmGangs;
  private readonly launching = new LaunchesInFlight<ReplicaHandle>();
  private dirs: Promise<void> | null = null;
  private closed = false;

  constructor(private readonly o: CompiledSlurmExecutorOptions) {
    this.cli = new SlurmCli({ commands: o.commands, env: o.commandEnv, timeoutMs: o.commandTimeoutMs, submitTimeoutMs: o.submitTimeoutMs });
    this.records = new SlurmRecords(o.runsDir, o.tasksDir);
    this.gangs = new SlurmGangs({ ...o, timeoutCommand: o.commands.timeout }, this.cli, this.records);
    this.watches = new RunWatches({ pollMs: o.pollMs, maxPollMs: o.maxPollMs, logger: o.logger, runDir: (id) => this.taskDir(id), inspect: (id) => this.inspect(id) });
  }

  launch(spec: ReplicaLaunch): Promise<ReplicaHandle> {
    const problems = launchViolations(spec);
    try {
      if (problems.length > 0) throw invalidArgument(`cannot launch run "${String(spec.runId)}": ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`, problems);
      compileLogLimits(spec.logLimits, "logLimits", this.o.logLimits);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.launching.run(spec.runId, () => this.launchOnce(spec));
  }

  private async launchOnce(spec: ReplicaLaunch): Promise<ReplicaHandle> {
    const { runId } = spec;
    const gang = spec.gang ?? { id: runId, size: 1, index: 0 };
    await this.ensureDirs();
    const known = await this.records.member(runId);
    if (known !== null) {
      if (known.gang.id !== gang.id || known.gang.index !== gang.index || known.gang.size !== gang.size) {
        throw new SwitchyardError(Code.FailedPrecondition, `run "${runId}" was launched as member ${known.gang.index} of gang "${known.gang.id}" (size ${known.gang.size}), not as this one`);
      }
      return { runId, state: await this.stateOf(runId, true) };
    }
    const plan = await this.plan(spec);
    await this.checkGang(spec, gang, plan.owner);
    const env = { ...this.o.baseEnv, ...plan.identityEnv, ...spec.env };
    const log = logLayout(compileLogLimits(spec.logLimits, "logLimits", this.o.logLimits), this.o.logChunkBytes);
    await this.records.writePointer(runId, gang.id, gang.index);
    await this.records.prepareTaskDir(runId, plan.owner, [
      { name: "command.sh", text: renderTaskCommand(runId, spec.command, env, plan.cwd ?? this.taskDir(runId)), mode: 0o600, owned: true },
      { name: LogFile.limits, text: `${log.chunkBytes} ${log.headChunks} ${log.tailChunks}\n`, mode: 0o644, owned: false },
    ]);
    const rec: MemberRecord = {
      runId,
      gang,
      launchedAtMs: Date.now(),
      command: spec.command,
      envNames: Object.keys(env).sort(),
      workingDir: plan.cwd ?? this.taskDir(runId),
      gpus: spec.gpuIndices.length,
      node: spec.node ?? null,
      cpuMilli: spec.cpuMilli ?? null,
      memoryMb: spec.memoryMb ?? null,
      timeLimitSeconds: spec.timeLimitSeconds ?? null,
      runAs: spec.runAs ? { uid: spec.runAs.uid, gid: spec.runAs.gid, user: spec.runAs.user ?? null } : null,
    };
    await this.records.writeMember(rec);
    this.o.logger.info({ runId, gang: gang.id, index: gang.index, size: gang.size, node: rec.node }, "replica recorded");
    // From here the member is recorded: a refusal by Slurm still fails the launch, but a Slurm that does not answer
    // (sbatch timed out, squeue failed) must not, since the allocation may exist — the caller would take the replica for
    // ended and start it again. It reads running until inspect or watch, which submit a complete gang that is not yet
    // submitted and look for one that may be, can tell.
    try {
      await this.gangs.submitIfReady(gang.id, true);
      return { runId, state: await this.stateOf(runId, false) };
    } catch (err) {
      // Only Slurm not answering (UNAVAILABLE, DEADLINE_EXCEEDED) is waited out; anything else fails the launch.
      if (!(err instanceof SwitchyardError) || (err.code !== Code.Unavailable && err.code !== Code.DeadlineExceeded)) throw err;
      this.o.logger.warn({ runId, gang: gang.id, err }, "Slurm did not answer after the replica was recorded; its state is read again later");
      return { runId, state: { kind: "running", shimPid: null, pgid: null, startedAtMs: rec.launchedAtMs } };
    }
  }

  /** Where and as whom the replica runs; checks everything that would otherwise fail on the node. Creates nothing. */
  private async plan(spec: ReplicaLaunch): Promise<{ cwd: string | null; owner: Owner | null; identityEnv: Record<string, string> }> {
    const ownUid = process.getuid?.() ?? -1;
    const ownGid = process.getgid?.() ?? -1;
    const r = spec.runAs;
    const refuse = (message: string, field = "runAs"): never => {
      throw new SwitchyardError(Code.FailedPrecondition, `cannot launch run "${spec.runId}": ${message}`, { details: [{ field, message }] });
    };
    if (ownUid === 0 && r === undefined) refuse("the slurm executor runs as root and jobs never do: give the launch a runAs account (sbatch --uid)");
    if (ownUid !== 0 && r !== undefined && (r.uid !== ownUid || r.gid !== ownGid)) {
      refuse(`only root can submit for another account (sbatch --uid); this executor runs as uid ${ownUid} gid ${ownGid}, the launch asks for uid ${r.uid} gid ${r.gid}`);
    }
    let who: Account = { uid: ownUid, gid: ownGid, groups: process.getgroups?.() ?? [] };
    if (r !== undefined) {
      let groups = r.groups ?? [];
      if (r.user !== undefined) {
        const account = await lookupAccount(r.user);
        if (account.uid !== r.uid) refuse(`runAs.user "${r.user}" is uid ${account.uid} on this machine, not ${r.uid}`, "runAs.user");
        groups = r.groups ?? account.groups;
      }
      who = { uid: r.uid, gid: r.gid, groups, ...(r.user !== undefined ? { name: r.user } : {}) };
    }
    await checkReachable(this.o.tasksDir, who, "enter", "the Slurm executor's shared directory (sharedDir/tasks)");
    const cwd = spec.workingDir ?? spec.env["HOME"] ?? r?.home ?? null;
    if (cwd !== null) {
      await requireDirectory(cwd, spec.runId);
      await checkReachable(cwd, who, "read-enter", "working directory");
    }
    const name = r?.user ?? String(r?.uid);
    return { cwd, owner: ownUid === 0 && r !== undefined ? { uid: r.uid, gid: r.gid } : null, identityEnv: r !== undefined ? { HOME: r.home, USER: name, LOGNAME: name } : {} };
  }

  /** The other members agree with this one (size, account, its index free) and the gang is still open. */
  private async checkGang(spec: ReplicaLaunch, gang: { id: string; size: number; index: number }, owner: Owner | null): Promise<void> {
    const conflict = (message: string): never => {
      throw new SwitchyardError(Code.FailedPrecondition, `cannot launch run "${spec.runId}" into gang "${gang.id}": ${message}`, { details: [{ field: "gang", message }] });
    };
    const status = await this.gangs.status(gang.id);
    if (status.kind !== "incomplete") conflict(`the gang is ${status.kind} already; a new attempt needs a new gang id`);
    for (const m of await this.records.members(gang.id)) {
      if (m.gang.index === gang.index && m.runId !== spec.runId) conflict(`index ${gang.index} is run "${m.runId}"`);
      if (m.gang.size !== gang.size) conflict(`its members say size ${m.gang.size}, this one ${gang.size}`);
      const theirs = m.runAs === null ? null : `${m.runAs.uid}:${m.runAs.gid}`;
      const mine = spec.runAs === undefined ? null : `${spec.runAs.uid}:${spec.runAs.gid}`;
      if (theirs !== mine && owner !== null) conflict(`one allocation runs as one account: member ${m.gang.index} runs as ${theirs}, this one as ${mine}`);
    }
  }

  inspect(runId: string): Promise<ReplicaState> {
    return this.stateOf(runId, true);
  }

  /** The run's state: its files first, then Slurm. With `mayHeal`, a complete gang left unsubmitted by a crash is submitted. */
  private async stateOf(runId: string, mayHeal: boolean): Promise<ReplicaState> {
    this.taskDir(runId);
    const rec = await this.records.member(runId);
    if (rec === null) return { kind: "absent" };
    const status = await this.status(runId);
    if (status !== null) return status;
    const started = await this.records.started(runId);
    const gang = mayHeal ? await this.gangs.submitIfReady(rec.gang.id, false) : await this.gangs.status(rec.gang.id);
    // The gang's record is root's; `started` is written by the wrapper, as the job's account: it only fills a gap.
    const jobId = (gang.kind === "submitted" ? gang.jobId : null) ?? started?.jobId ?? null;
    const waiting: ReplicaState = { kind: "running", shimPid: null, pgid: null, startedAtMs: rec.launchedAtMs };
    if (jobId === null) {
      if (gang.kind === "refused") return this.lost(rec, `Slurm refused its gang's allocation: ${gang.reason}`);
      if (gang.kind === "cancelled") return this.lost(rec, "it was terminated before its gang was submitted to Slurm");
      return waiting;
    }
    const job = await this.cli.job(jobId);
    if (job !== null && jobActive(job.state)) {
      return started === null ? waiting : { kind: "running", shimPid: started.wrapperPid, pgid: await this.records.pgid(runId), startedAtMs: started.startedAtMs };
    }
    const late = await this.status(runId);
    if (late !== null) return late;
    const what = job === null ? `Slurm no longer knows job ${jobId}` : `Slurm job ${jobId} ended ${job.state}${job.reason !== "" && job.reason !== "None" ? ` (${job.reason})` : ""}`;
    return this.lost(rec, `${what} ${started === null ? "before the replica started" : "before the replica recorded an exit status"}${await this.batchLogTail(rec.gang.id)}`);
  }

  private async status(runId: string): Promise<ReplicaState | null> {
    const s = parseStatusRecord((await readRecord(join(this.taskDir(runId), "status"))) ?? "");
    return s === null ? null : exitedState(s);
  }

  /** A lost run's command script (it holds the environment) does not stay on disk. */
  private async lost(rec: MemberRecord, why: string): Promise<ReplicaState> {
    await rm(join(this.taskDir(rec.runId), "command.sh"), { force: true }).catch(() => undefined);
    return { kind: "lost", reason: `run "${rec.runId}" is lost: ${why}` };
  }

  private async batchLogTail(gangId: string): Promise<string> {
    const first = await this.records.memberAt(gangId, 0);
    if (first === null) return "";
    const text = (await readRecord(join(this.taskDir(first.runId), "batch.log"), 1 << 20)) ?? "";
    // The job's account writes this file: no control characters (a NUL is text PostgreSQL refuses to store).
    // eslint-disable-next-line no-control-regex
    const tail = text.replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, "?").trim().split("\n").slice(-3).join(" | ").slice(-400);
    return tail === "" ? "" : `; the allocation's output ends: ${tail}`;
  }

  watch(runId: string, onExit: (state: ReplicaState) => void): () => void {
    this.taskDir(runId);
    if (this.closed) throw new SwitchyardError(Code.FailedPrecondition, "the slurm executor is closed; create a new one to watch runs");
    return this.watches.add(runId, onExit);
  }

  async terminate(runId: string, graceMs: number): Promise<void> {
    if (!Number.isFinite(graceMs) || graceMs < 0) {
      throw invalidArgument("terminate: graceMs must be a number >= 0", [{ field: "graceMs", message: "must be >= 0", got: String(graceMs) }]);
    }
    this.taskDir(runId);
    const rec = await this.records.member(runId);
    if (rec === null) return;
    await this.gangs.serial(rec.gang.id, () => this.gangs.terminate(rec.gang.id, graceMs));
  }

  readLog(runId: string, options: LogReadOptions = {}): Promise<LogChunk> {
    return readLogOf(this.taskDir(runId), runId, this.o.tasksDir, options);
  }

  logPath(runId: string): string {
    return logPathIn(this.taskDir(runId));
  }

  async diskBytes(runId: string): Promise<number> {
    let total = await dirDiskBytes(this.taskDir(runId));
    const p = await this.records.pointer(runId);
    if (p !== null) total += ((await lstat(join(this.records.gangDir(p.gangId), `member.${p.index}.json`)).catch(() => undefined))?.blocks ?? 0) * 512;
    return total;
  }

  async remove(runId: string): Promise<void> {
    const state = await this.stateOf(runId, false);
    if (state.kind === "running") throw new SwitchyardError(Code.FailedPrecondition, `run "${runId}" is still running: terminate it before removing its files`);
    const p = await this.records.pointer(runId);
    await removeTaskTree(this.taskDir(runId));
    if (p !== null) {
      const rec = await this.records.memberAt(p.gangId, p.index);
      if (rec?.runId === runId) await rm(join(this.records.gangDir(p.gangId), `member.${p.index}.json`), { force: true });
      if ((await this.records.members(p.gangId)).length === 0) await rm(this.records.gangDir(p.gangId), { recursive: true, force: true });
    }
    await rm(join(this.records.membersDir, runId), { force: true });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watches.close();
  }

  inventory(): Promise<ExecutorNode[]> {
    return this.cli.inventory(this.o.partition, this.o.jobNamePrefix);
  }

  private taskDir(runId: string): string {
    if (!validRunId(runId)) {
      throw invalidArgument(`run id "${String(runId)}" is not usable as a file name`, [
        { field: "runId", message: "invalid run id", expected: "1-200 characters of [A-Za-z0-9._-], not . or ..", got: String(runId) },
      ]);
    }
    return this.records.taskDir(runId);
  }

  /** runsDir's record directories (0700) and the tasks directory (0711: enterable, not listable, by job accounts). */
  private ensureDirs(): Promise<void> {
    this.dirs ??= (async () => {
      await mkdir(this.records.membersDir, { recursive: true, mode: 0o700 });
      await mkdir(this.records.gangsDir, { recursive: true, mode: 0o700 });
      // The shared directory, when this makes it, is 0711 too (the service's umask would leave it 0700, and the job
      // accounts could not reach their task directories); one that exists is the operator's and keeps its mode.
      const shared = dirname(this.o.tasksDir);
      const created = await mkdir(shared, { recursive: true, mode: 0o711 });
      if (created !== undefined || shared === this.o.runsDir) await chmod(shared, 0o711);
      await mkdir(this.o.tasksDir, { recursive: true, mode: 0o711 });
      await chmod(this.o.tasksDir, 0o711);
    })().catch((err: unknown) => {
      this.dirs = null;
      throw err;
    });
    return this.dirs;
  }
}
