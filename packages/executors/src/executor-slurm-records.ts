/**
 * The Slurm engine's durable records. The platform's side lives in `runsDir` (private, 0700: no job ever opens a file
 * there), the replica's side in task directories on the shared directory (executor-slurm-script.ts):
 *
 *   runsDir/members/<runId>              `<gangId> <index>`: which gang a run belongs to (written first)
 *   runsDir/gangs/<gangId>/member.<i>.json  the member's record (0600; env names, never values): its launch is committed
 *   runsDir/gangs/<gangId>/batch.sh      the batch script submitted for the gang
 *   runsDir/gangs/<gangId>/intent        `<ms>`, exclusive create just before `sbatch`: a submission may exist
 *   runsDir/gangs/<gangId>/job           the Slurm job id, written as soon as sbatch returned it
 *   runsDir/gangs/<gangId>/error         Slurm's refusal, when it refused the submission (nothing was submitted)
 *   runsDir/gangs/<gangId>/cancelled     `<ms>`: terminated before it was submitted; it never will be
 *
 * Every file is written whole (temp + rename). Files the engine puts into a task directory (which belongs to the
 * job's account) are created under a fresh name with O_EXCL, given to the account, then renamed into place, so that
 * nothing the job planted there (a symlink, a FIFO) is ever followed or opened by the platform.
 */
import { randomBytes } from "node:crypto";
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { chmod, chown, mkdir, open, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import { promisify } from "node:util";
import { dirname, join } from "node:path";
import type { GangMembership } from "./executor.js";
import { integers, readRecord } from "./run-status.js";

export interface MemberRecord {
  runId: string;
  gang: GangMembership;
  launchedAtMs: number;
  command: string[];
  envNames: string[];
  workingDir: string;
  gpus: number;
  node: string | null;
  cpuMilli: number | null;
  memoryMb: number | null;
  timeLimitSeconds: number | null;
  /** The account the replica runs as; null: the platform's own (it is not root). */
  runAs: { uid: number; gid: number; user: string | null } | null;
}

export interface StartedRecord {
  wrapperPid: number;
  startedAtMs: number;
  jobId: string;
  node: string;
}

export interface Owner {
  uid: number;
  gid: number;
}

export class SlurmRecords {
  readonly membersDir: string;
  readonly gangsDir: string;

  constructor(
    runsDir: string,
    /** `<sharedDir>/tasks`. */
    readonly tasksDir: string,
  ) {
    this.membersDir = join(runsDir, "members");
    this.gangsDir = join(runsDir, "gangs");
  }

  taskDir(runId: string): string {
    return join(this.tasksDir, runId);
  }

  gangDir(gangId: string): string {
    return join(this.gangsDir, gangId);
  }

  async pointer(runId: string): Promise<{ gangId: string; index: number } | null> {
    const text = await readRecord(join(this.membersDir, runId));
    const m = text === null ? null : /^(\S+) (\d+)\n?$/.exec(text);
    return m === null ? null : { gangId: m[1]!, index: Number(m[2]) };
  }

  async writePointer(runId: string, gangId: string, index: number): Promise<void> {
    await writePrivate(join(this.membersDir, runId), `${gangId} ${index}\n`);
  }

  /** The committed member record of a run, found through its pointer. */
  async member(runId: string): Promise<MemberRecord | null> {
    const p = await this.pointer(runId);
    if (p === null) return null;
    const rec = await this.memberAt(p.gangId, p.index);
    return rec !== null && rec.runId === runId ? rec : null;
  }

  async memberAt(gangId: string, index: number): Promise<MemberRecord | null> {
    const text = await readRecord(join(this.gangDir(gangId), `member.${index}.json`), 1 << 20);
    try {
      return text === null ? null : (JSON.parse(text) as MemberRecord);
    } catch {
      return null;
    }
  }

  /** Every committed member of the gang, by index. */
  async members(gangId: string): Promise<MemberRecord[]> {
    const names = await readdir(this.gangDir(gangId)).catch(() => [] as string[]);
    const indices = names.flatMap((n) => /^member\.(\d+)\.json$/.exec(n)?.[1] ?? []).map(Number);
    const records = await Promise.all(indices.sort((a, b) => a - b).map((i) => this.memberAt(gangId, i)));
    return records.filter((r): r is MemberRecord => r !== null);
  }

  async writeMember(rec: MemberRecord): Promise<void> {
    await mkdir(this.gangDir(rec.gang.id), { recursive: true, mode: 0o700 });
    await writePrivate(join(this.gangDir(rec.gang.id), `member.${rec.gang.index}.json`), `${JSON.stringify(rec, null, 2)}\n`);
  }

  async gangFile(gangId: string, name: "job" | "intent" | "error" | "cancelled"): Promise<string | null> {
    const text = await readRecord(join(this.gangDir(gangId), name), 64 * 1024);
    return text === null ? null : text.trim();
  }

  async writeGangFile(gangId: string, name: "job" | "error" | "cancelled" | "batch.sh", text: string): Promise<void> {
    await writePrivate(join(this.gangDir(gangId), name), text);
  }

  /** The intent: exclusive create. False when one exists already. */
  async claimIntent(gangId: string, nowMs: number): Promise<boolean> {
    try {
      const file = await open(join(this.gangDir(gangId), "intent"), "wx", 0o600);
      try {
        await file.writeFile(`${nowMs}\n`);
        await file.sync();
      } finally {
        await file.close();
      }
      await syncDir(this.gangDir(gangId));
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "EEXIST") return false;
      throw err;
    }
  }

  /** When the intent file was last changed (its creation: it is written once); now when it is gone. */
  async intentCreatedMs(gangId: string): Promise<number> {
    return (await stat(join(this.gangDir(gangId), "intent")).catch(() => null))?.mtimeMs ?? Date.now();
  }

  async dropIntent(gangId: string): Promise<void> {
    await rm(join(this.gangDir(gangId), "intent"), { force: true });
  }

  async started(runId: string): Promise<StartedRecord | null> {
    const text = await readRecord(join(this.taskDir(runId), "started"));
    const m = text === null ? null : /^(\d+) (\d+) (\d+) (\S+)\s*$/.exec(text);
    return m === null ? null : { wrapperPid: Number(m[1]), startedAtMs: Number(m[2]), jobId: m[3]!, node: m[4]! };
  }

  /** The job id the batch script recorded when the allocation started (first member's task directory). */
  async allocation(runId: string): Promise<string | null> {
    const text = await readRecord(join(this.taskDir(runId), "allocation"));
    return text !== null && /^\d+\s*$/.test(text) ? text.trim() : null;
  }

  async pgid(runId: string): Promise<number | null> {
    const v = integers((await readRecord(join(this.taskDir(runId), "pgid"))) ?? "", 2);
    return v === null || v[0]! <= 1 ? null : v[0]!;
  }

  /**
   * A fresh task directory for a run that has not been committed yet: whatever an earlier, uncommitted try left is
   * removed, the files are written while the directory is still root's, and the directory is given to `owner` last.
   */
  async prepareTaskDir(runId: string, owner: Owner | null, files: Array<{ name: string; text: string; mode: number; owned: boolean }>): Promise<void> {
    const dir = this.taskDir(runId);
    await removeTaskTree(dir);
    await mkdir(dir, { mode: 0o700 });
    for (const f of files) {
      await writeFile(join(dir, f.name), f.text, { flag: "wx", mode: f.mode });
      // The mode as given, whatever the service's umask (the services run with 077: a 0644 log.limits would be 0600,
      // and the wrapper, as the job's account, could not read it).
      await chmod(join(dir, f.name), f.mode);
      if (owner !== null && f.owned) await chown(join(dir, f.name), owner.uid, owner.gid);
    }
    if (owner !== null) await chown(dir, owner.uid, owner.gid);
  }

  /** Writes a file into a task directory the job's account owns, never through anything the job put there. */
  async writeIntoTask(runId: string, name: string, text: string, owner: Owner | null): Promise<void> {
    const dir = this.taskDir(runId);
    const tmp = join(dir, `.${name}.${randomBytes(6).toString("hex")}`);
    // O_EXCL: never through an entry the job made; fchown on the open file: never through one it swapped in since.
    const file = await open(tmp, "wx", 0o644);
    try {
      await file.writeFile(text);
      if (owner !== null) await file.chown(owner.uid, owner.gid);
    } finally {
      await file.close();
    }
    try {
      await rename(tmp, join(dir, name));
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }
}

/**
 * A private record, written whole and durably: temp, fsync, rename, fsync of the directory (0600). The jobs service
 * commits "launched" to its database (fsynced) after these records; without the fsyncs a power loss could keep the
 * commit and lose the record, and the run would read `absent` and be submitted again.
 */
async function writePrivate(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  const file = await open(tmp, "wx", 0o600);
  try {
    await file.writeFile(text);
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(tmp, path);
  await syncDir(dirname(path));
}

async function syncDir(dir: string): Promise<void> {
  const d = await open(dir, "r");
  try {
    await d.sync();
  } finally {
    await d.close();
  }
}

const execFileAsync = promisify(execFile);

/**
 * Removes a task directory, which belongs to the job's account, as root. Not with fs.rm: Node walks by path (lstat,
 * then readdir, then unlink), so the account could swap a subdirectory for a link to /etc between two steps and have
 * root empty it. GNU rm walks with openat from descriptors it holds (fts, never following a link), and stays on the
 * task directory's file system.
 */
export async function removeTaskTree(dir: string): Promise<void> {
  await execFileAsync(existsSync("/bin/rm") ? "/bin/rm" : "rm", ["-rf", "--one-file-system", "--", dir], { timeout: 120_000 });
}
