/**
 * A gang's life in Slurm: where it stands (from its records, and Slurm for an intent), its one submission, and its
 * termination. The protocol that keeps a gang from being submitted twice is here (records: executor-slurm-records.ts):
 * an intent record is created exclusively before `sbatch --parsable`, the job id recorded as soon as sbatch returns;
 * a gang with an intent and no id is looked for by its job name (squeue, sacct where accounting works, the ids its
 * tasks recorded) and submitted again only once the intent is older than sbatch's hard limit (sbatch runs under
 * `timeout -s KILL`, so not even an sbatch orphaned by a crash can still be submitting) plus a margin. Operations on one
 * gang are serialized within the process.
 */
import { rm } from "node:fs/promises";
import { join } from "node:path";
import { Code, SwitchyardError, sleep } from "@switchyard/core";
import type { Logger } from "@switchyard/core";
import { jobActive, type SlurmCli } from "./executor-slurm-cli.js";
import type { MemberRecord, Owner, SlurmRecords } from "./executor-slurm-records.js";
import { renderBatchScript } from "./executor-slurm-script.js";
import { parseStatusRecord, readRecord, type StatusRecord } from "./run-status.js";

export type SlurmCrashPoint = "intent-recorded" | "submitted";

/** What the gang operations need of the engine's compiled options. */
export interface SlurmGangOptions {
  readonly logger: Logger;
  readonly tasksDir: string;
  readonly partition: string | undefined;
  readonly jobNamePrefix: string;
  readonly sbatchArgs: readonly string[];
  readonly timeoutCommand: string;
  readonly pollMs: number;
  readonly submitTimeoutMs: number;
  readonly killTimeoutMs: number;
  readonly crashPoint: ((point: SlurmCrashPoint, gangId: string) => void) | undefined;
}

/** Where a gang stands, from its records (and Slurm, for `intent`). */
export type GangStatus =
  | { kind: "incomplete" }
  /** Every member recorded, never submitted. */
  | { kind: "ready" }
  /** An intent without a job id: a submission may exist. */
  | { kind: "intent"; sinceMs: number }
  | { kind: "submitted"; jobId: string }
  | { kind: "refused"; reason: string }
  | { kind: "cancelled" };

/** Margin on top of sbatch's limit before an intent without a job counts as never submitted. */
const INTENT_MARGIN_MS = 5000;
/** How long the wrappers get after the grace to kill their commands and write their status. */
const WRAPPER_SLACK_MS = 2000;

export class SlurmGangs {
  private readonly queue = new Map<string, Promise<unknown>>();

  constructor(
    private readonly o: SlurmGangOptions,
    private readonly cli: SlurmCli,
    private readonly records: SlurmRecords,
  ) {}

  /** Submits the gang when every member is recorded (or resolves an intent); serialized per gang. */
  async submitIfReady(gangId: string, fromLaunch: boolean): Promise<GangStatus> {
    const status = await this.status(gangId);
    if (status.kind !== "ready" && status.kind !== "intent") return status;
    try {
      return await this.serial(gangId, () => this.submitLocked(gangId));
    } catch (err) {
      const e = SwitchyardError.from(err);
      if (e.code === Code.FailedPrecondition) {
        if (fromLaunch) throw e;
        return { kind: "refused", reason: e.message };
      }
      if (e.code !== Code.Unavailable) throw err;
      // Unknown whether Slurm took it: the intent stays, and the next look finds the job by name or resubmits.
      this.o.logger.warn({ gang: gangId, err: e }, "submitting the gang's allocation failed; will look again");
      return await this.status(gangId);
    }
  }

  private async submitLocked(gangId: string): Promise<GangStatus> {
    let status = await this.status(gangId);
    if (status.kind === "intent") {
      const found = await this.findSubmission(gangId, status.sinceMs);
      if (found !== null) {
        await this.records.writeGangFile(gangId, "job", `${found}\n`);
        this.o.logger.info({ gang: gangId, jobId: found }, "found the gang's allocation by name after a restart");
        return { kind: "submitted", jobId: found };
      }
      if (Date.now() - status.sinceMs < this.o.submitTimeoutMs + INTENT_MARGIN_MS) return status;
      this.o.logger.warn({ gang: gangId, intentAgeMs: Date.now() - status.sinceMs }, "an intent without a job that Slurm knows: it was never submitted; submitting now");
      await this.records.dropIntent(gangId);
      status = { kind: "ready" };
    }
    if (status.kind !== "ready") return status;
    const members = await this.records.members(gangId);
    const { sbatchArgs, script } = this.allocation(gangId, members);
    await this.records.writeGangFile(gangId, "batch.sh", script);
    if (!(await this.records.claimIntent(gangId, Date.now()))) return this.status(gangId);
    this.o.crashPoint?.("intent-recorded", gangId);
    const t0 = Date.now();
    let jobId: string;
    try {
      jobId = await this.cli.sbatch([...sbatchArgs, join(this.records.gangDir(gangId), "batch.sh")], this.o.timeoutCommand);
    } catch (err) {
      const e = SwitchyardError.from(err);
      if (e.code === Code.FailedPrecondition) await this.records.writeGangFile(gangId, "error", `${e.message}\n`);
      throw e;
    }
    this.o.crashPoint?.("submitted", gangId);
    await this.records.writeGangFile(gangId, "job", `${jobId}\n`);
    this.o.logger.info({ gang: gangId, jobId, replicas: members.length, sbatchMs: Date.now() - t0 }, "gang submitted to Slurm");
    return { kind: "submitted", jobId };
  }

  /** The sbatch flags and the batch script of a complete gang (members in index order). */
  private allocation(gangId: string, members: readonly MemberRecord[]): { sbatchArgs: string[]; script: string } {
    const cpus = Math.max(1, ...members.map((m) => Math.ceil((m.cpuMilli ?? 1000) / 1000)));
    const memoryMb = Math.max(0, ...members.map((m) => m.memoryMb ?? 0));
    const gpus = Math.max(0, ...members.map((m) => m.gpus));
    const timeS = Math.max(0, ...members.map((m) => m.timeLimitSeconds ?? 0));
    const placed = members.every((m) => m.node !== null) ? members.map((m) => m.node!) : null;
    const nodes = placed === null ? [] : [...new Set(placed)];
    const perNode = Math.max(1, ...nodes.map((n) => placed!.filter((p) => p === n).length));
    const first = this.records.taskDir(members[0]!.runId);
    const perTask = [`--cpus-per-task=${cpus}`, ...(memoryMb > 0 ? [`--mem-per-cpu=${Math.ceil(memoryMb / cpus)}M`] : []), ...(gpus > 0 ? [`--gpus-per-task=${gpus}`] : [])];
    const runAs = members[0]!.runAs;
    const sbatchArgs = [
      "--parsable",
      `--job-name=${this.o.jobNamePrefix}${gangId}`,
      `--comment=${gangId}`,
      "--no-requeue",
      // The batch script starts from sbatch's own environment, which is ours: PATH, LANG, SLURM_CONF (--export=NONE would
      // make slurmd load the account's login environment first, a `su -` costing up to a second per start).
      "--export=ALL",
      `--output=${first}/batch.log`,
      `--chdir=${first}`,
      `--ntasks=${members.length}`,
      ...perTask,
      ...(placed !== null ? [`--nodes=${nodes.length}`, `--nodelist=${nodes.join(",")}`, `--ntasks-per-node=${perNode}`] : []),
      ...(timeS > 0 ? [`--time=${Math.ceil(timeS / 60)}`] : []),
      ...(this.o.partition !== undefined ? [`--partition=${this.o.partition}`] : []),
      ...(process.getuid?.() === 0 && runAs !== null ? [`--uid=${runAs.uid}`, `--gid=${runAs.gid}`] : []),
      ...this.o.sbatchArgs,
    ];
    const script = renderBatchScript({
      gangId,
      tasksDir: this.o.tasksDir,
      runIds: members.map((m) => m.runId),
      hostfile: nodes.length > 1 ? placed : null,
      srunArgs: [`--ntasks=${members.length}`, ...perTask, "--kill-on-bad-exit=0", "--export=ALL", "--quiet"],
    });
    return { sbatchArgs, script };
  }

  /**
   * A submission of the gang that Slurm or the tasks know of: the ids the tasks recorded, then Slurm by job name. The
   * tasks' files are the job's account's to write, and anyone may name a job anything: an id is taken only when Slurm
   * says it carries the gang's job name and runs as the gang's account, so that a forged `allocation` file or a
   * look-alike job never makes the platform adopt — and later scancel as root — someone else's job.
   */
  private async findSubmission(gangId: string, sinceMs: number): Promise<string | null> {
    const members = await this.records.members(gangId);
    const name = `${this.o.jobNamePrefix}${gangId}`;
    const uid = members[0] ? ownerOf(members[0])?.uid : undefined;
    for (const m of members) {
      const id = (await this.records.started(m.runId))?.jobId ?? (await this.records.allocation(m.runId));
      if (id === null || id === undefined) continue;
      const job = await this.cli.job(id);
      if (job !== null && job.name === name && (uid === undefined || job.uid === uid)) return id;
      this.o.logger.warn({ gang: gangId, jobId: id }, "a task recorded a Slurm job id that is not the gang's (another name or user): ignored");
    }
    const ids = await this.cli.jobsNamed(name, sinceMs, uid);
    if (ids.length > 1) this.o.logger.error({ gang: gangId, jobIds: ids }, "Slurm has more than one allocation for one gang");
    return ids[0] ?? null;
  }

  async status(gangId: string): Promise<GangStatus> {
    const job = await this.records.gangFile(gangId, "job");
    if (job !== null && /^\d+$/.test(job)) return { kind: "submitted", jobId: job };
    const error = await this.records.gangFile(gangId, "error");
    if (error !== null) return { kind: "refused", reason: error };
    if ((await this.records.gangFile(gangId, "cancelled")) !== null) return { kind: "cancelled" };
    const intent = await this.records.gangFile(gangId, "intent");
    // An intent that cannot be read as a time (created, but empty after a crash) dates from its file's change time:
    // it waits out the whole window rather than letting a resubmission through at once.
    if (intent !== null) return { kind: "intent", sinceMs: Number(intent) || (await this.records.intentCreatedMs(gangId)) };
    const members = await this.records.members(gangId);
    const size = members[0]?.gang.size ?? 0;
    return size > 0 && members.length === size && members.every((m, i) => m.gang.index === i) ? { kind: "ready" } : { kind: "incomplete" };
  }

  /** Ends the gang's whole allocation: SIGTERM to every task, the wrappers' SIGKILL after the grace, then scancel. */
  async terminate(gangId: string, graceMs: number): Promise<void> {
    let gang = await this.status(gangId);
    while (gang.kind === "intent") {
      // A submission may be under way elsewhere: find it, or wait until it cannot be.
      const found = await this.findSubmission(gangId, gang.sinceMs);
      if (found !== null) {
        await this.records.writeGangFile(gangId, "job", `${found}\n`);
        gang = { kind: "submitted", jobId: found };
      } else if (Date.now() - gang.sinceMs > this.o.submitTimeoutMs + INTENT_MARGIN_MS) {
        await this.records.dropIntent(gangId);
        gang = { kind: "ready" };
      } else await sleep(this.o.pollMs);
    }
    const members = await this.records.members(gangId);
    if (gang.kind === "incomplete" || gang.kind === "ready") {
      await this.records.writeGangFile(gangId, "cancelled", `${Date.now()}\n`);
      this.o.logger.info({ gang: gangId }, "gang terminated before it was submitted; it never will be");
    }
    if (gang.kind !== "submitted") return this.scrub(members);
    const jobId = gang.jobId;
    let job = await this.cli.job(jobId);
    if (job === null || !jobActive(job.state)) return this.scrub(members);
    for (const m of members) {
      await this.records.writeIntoTask(m.runId, "terminate", `${Math.round(graceMs)}\n`, ownerOf(m)).catch((err: unknown) => this.o.logger.warn({ runId: m.runId, err }, "could not write the terminate record"));
    }
    if (job.state === "PENDING") await this.cli.scancel([jobId]);
    else {
      await this.cli.scancel(["--signal=TERM", jobId]);
      this.o.logger.info({ gang: gangId, jobId, graceMs }, "SIGTERM sent to every task of the gang's allocation");
      const graceEnd = Date.now() + graceMs + WRAPPER_SLACK_MS;
      while (Date.now() < graceEnd && !(await this.allEnded(members, jobId))) await sleep(Math.min(this.o.pollMs, 100));
      await this.cli.scancel([jobId]);
    }
    const killEnd = Date.now() + this.o.killTimeoutMs;
    let killed = false;
    for (;;) {
      job = await this.cli.job(jobId);
      if (job === null || !jobActive(job.state)) break;
      if (!killed && Date.now() > killEnd - this.o.killTimeoutMs / 2) {
        await this.cli.scancel(["--signal=KILL", "--full", jobId]);
        killed = true;
      }
      if (Date.now() > killEnd) {
        throw new SwitchyardError(Code.DeadlineExceeded, `Slurm job ${jobId} (gang "${gangId}") is still ${job.state} ${this.o.killTimeoutMs} ms after scancel; check it with scontrol show job ${jobId} and retry terminate`);
      }
      await sleep(100);
    }
    await this.scrub(members);
  }

  private async allEnded(members: readonly MemberRecord[], jobId: string): Promise<boolean> {
    for (const m of members) if ((await this.taskStatus(m.runId)) === null) return !jobActive((await this.cli.job(jobId))?.state ?? "GONE");
    return true;
  }

  /** Command scripts of replicas that never started: their environment leaves the disk. */
  private async scrub(members: readonly MemberRecord[]): Promise<void> {
    await Promise.all(members.map((m) => rm(join(this.records.taskDir(m.runId), "command.sh"), { force: true }).catch(() => undefined)));
  }

  /** Runs `fn` after every earlier operation on the gang (submission, termination) in this process. */
  serial<T>(gangId: string, fn: () => Promise<T>): Promise<T> {
    const before = this.queue.get(gangId) ?? Promise.resolve();
    const p = before.then(fn, fn);
    const settled = p.catch(() => undefined);
    this.queue.set(gangId, settled);
    void settled.then(() => {
      if (this.queue.get(gangId) === settled) this.queue.delete(gangId);
    });
    return p;
  }

  private async taskStatus(runId: string): Promise<StatusRecord | null> {
    return parseStatusRecord((await readRecord(join(this.records.taskDir(runId), "status"))) ?? "");
  }
}

function ownerOf(m: MemberRecord): Owner | null {
  return process.getuid?.() === 0 && m.runAs !== null ? { uid: m.runAs.uid, gid: m.runAs.gid } : null;
}
