/**
 * The disk as a whole: what jobs keep, for how long, and how much each team may hold.
 * - Usage: each job's files (its directory: output, checkpoints, home; and its replicas' logs) are measured while it
 *   runs and once after it ends (`disk_bytes`, `disk_measured_at`); a team's usage is the sum over its jobs not yet
 *   collected.
 * - Retention: a finished job's files are deleted once it has been over for its queue's retention (queues.yaml
 *   `limits.retention`, default 30 days) — by a background sweep, or now with `switchyard gc` (CollectGarbage). The
 *   job's record, events and metrics stay (they are small and bounded), marked collected; DeleteJob removes the events and
 *   metrics and hides the record (kept for accounting).
 * - Quotas: a team over its disk quota (queues.yaml `teams.<team>.diskQuota`) gets no new job until it frees space:
 *   refused with how much it uses, of what, and how to fix it — instead of a disk that fills up for everyone.
 */
import { spawn } from "node:child_process";
import { lstat, readdir } from "node:fs/promises";
import { join } from "node:path";
import { Code, SwitchyardError, systemClock, type Clock, type Logger } from "@switchyard/core";
import type { Executor } from "@switchyard/executors";
import { limitsOf, type QueuesConfig } from "@switchyard/scheduler";
import type { JobSummary } from "./job-rows.js";
import type { JobStore } from "./job-store.js";
import { isFinal } from "./phases.js";

export interface RetentionOptions {
  store: JobStore;
  executor: Executor;
  /** `<jobsDir>/<uid>` of a job. */
  jobDir: (uid: string) => string;
  queues: () => QueuesConfig | undefined;
  logger: Logger;
  clock?: Clock;
  /** How often usage is measured (running jobs) and the retention applied; default 60 s. */
  sweepMs?: number;
}

export interface CollectResult {
  jobs: { row: JobSummary; bytes: number }[];
  freedBytes: number;
}

/** Bytes under `path` without following links; bounded by `maxEntries` (a job cannot make the walk run forever). */
export async function diskBytes(path: string, maxEntries = 1_000_000): Promise<number> {
  let total = 0;
  let seen = 0;
  const stack = [path];
  while (stack.length > 0 && seen < maxEntries) {
    const p = stack.pop()!;
    const st = await lstat(p).catch(() => undefined);
    if (!st) continue;
    seen++;
    total += st.blocks * 512;
    if (st.isDirectory()) for (const name of await readdir(p).catch(() => [] as string[])) stack.push(join(p, name));
  }
  return total;
}

const duration = (ms: number) => (ms >= 86_400_000 ? `${+(ms / 86_400_000).toFixed(1)} d` : ms >= 3600_000 ? `${+(ms / 3600_000).toFixed(1)} h` : `${Math.round(ms / 1000)} s`);
const GiB = 1024 ** 3;
const size = (b: number) => (b >= GiB ? `${(b / GiB).toFixed(1)} GiB` : `${(b / 1024 ** 2).toFixed(1)} MiB`);

export class JobRetention {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly clock: Clock;

  constructor(private readonly o: RetentionOptions) {
    this.clock = o.clock ?? systemClock;
  }

  start(): void {
    this.timer = setInterval(() => void this.sweep(), this.o.sweepMs ?? 60_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Measures what changed, then applies each queue's retention. One at a time. */
  async sweep(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await this.measure();
      await this.collect({ dryRun: false });
    } catch (err) {
      this.o.logger.warn({ err: String(err) }, "retention sweep failed");
    } finally {
      this.busy = false;
    }
  }

  /** Measures running jobs, and finished ones not measured since they ended. */
  async measure(): Promise<void> {
    for (const row of await this.o.store.toMeasure()) {
      const bytes = await this.bytesOf(row);
      await this.o.store.setDiskUsage(row.uid, bytes, this.clock.now());
    }
  }

  private async bytesOf(row: JobSummary): Promise<number> {
    let bytes = await diskBytes(this.o.jobDir(row.uid));
    for (const r of await this.o.store.allReplicas(row.uid)) bytes += await this.o.executor.diskBytes(r.run_id);
    return bytes;
  }

  /**
   * Deletes (or, dry, lists) the files of finished, uncollected jobs that ended before their retention (or
   * `olderThanMs`) — in `teams` when given.
   */
  async collect(o: { dryRun: boolean; olderThanMs?: number; teams?: readonly string[] }): Promise<CollectResult> {
    const now = this.clock.now();
    const config = this.o.queues();
    const out: CollectResult = { jobs: [], freedBytes: 0 };
    for (const row of await this.o.store.collectable(o.teams)) {
      if (!isFinal(row.phase) || row.completion_time === null) continue;
      const keepMs = o.olderThanMs ?? limitsOf(config, row.queue).retentionMs;
      if (row.completion_time > now - keepMs) continue;
      const bytes = row.disk_measured_at !== null && row.disk_measured_at >= row.completion_time ? row.disk_bytes : await this.bytesOf(row);
      out.jobs.push({ row, bytes });
      out.freedBytes += bytes;
      if (o.dryRun) continue;
      await removeTree(this.o.jobDir(row.uid));
      for (const r of await this.o.store.allReplicas(row.uid)) await this.o.executor.remove(r.run_id);
      const why = o.olderThanMs !== undefined ? `more than ${duration(o.olderThanMs)} ago (switchyard gc)` : `more than its queue's retention (${duration(keepMs)}) ago`;
      await this.o.store.markCollected(row.uid, now, `logs, artifacts and checkpoints deleted (${size(bytes)}): the job ended ${why}; its record, events and metrics stay`);
      this.o.logger.info({ uid: row.uid, bytes }, "job files collected");
    }
    return out;
  }

  /**
   * Deletes a finished job's files now (DeleteJob with purge): its directory (outputs, checkpoints, home) and its
   * replicas' logs; the bytes freed. Nothing for a job whose files retention already collected.
   */
  async purge(row: JobSummary): Promise<number> {
    if (row.collected_at !== null) return 0;
    const bytes = await this.bytesOf(row);
    await removeTree(this.o.jobDir(row.uid));
    for (const r of await this.o.store.allReplicas(row.uid)) await this.o.executor.remove(r.run_id);
    await this.o.store.markCollected(row.uid, this.clock.now(), `logs, artifacts and checkpoints deleted (${size(bytes)}) with the job (switchyard delete --purge)`);
    this.o.logger.info({ uid: row.uid, bytes }, "job files purged");
    return bytes;
  }

  /** Each team's usage (files of its uncollected jobs) and quota. */
  async usage(): Promise<Map<string, { bytes: number; quotaBytes: number }>> {
    const config = this.o.queues();
    const out = new Map<string, { bytes: number; quotaBytes: number }>();
    for (const [team, bytes] of await this.o.store.diskUsageByTeam()) out.set(team, { bytes, quotaBytes: config?.teams?.[team]?.diskQuotaBytes ?? 0 });
    for (const [team, t] of Object.entries(config?.teams ?? {})) if (!out.has(team)) out.set(team, { bytes: 0, quotaBytes: t.diskQuotaBytes });
    return out;
  }

  /** Refuses new work of a team at or over its disk quota (RESOURCE_EXHAUSTED, with the fix). */
  async checkQuota(team: string): Promise<void> {
    const quota = this.o.queues()?.teams?.[team]?.diskQuotaBytes;
    if (quota === undefined) return;
    const used = (await this.o.store.diskUsageByTeam()).get(team) ?? 0;
    if (used < quota) return;
    throw new SwitchyardError(
      Code.ResourceExhausted,
      `team "${team}" uses ${size(used)} of its ${size(quota)} disk quota (its jobs' outputs, checkpoints and logs): free space with \`switchyard gc --team ${team} --older-than 1d\` (or \`switchyard delete JOB --purge\` for a finished job it no longer needs), or ask an admin to raise teams.${team}.diskQuota in queues.yaml`,
      { details: [{ field: "metadata.team", message: "is over its disk quota", expected: `under ${quota} bytes`, got: `${used} bytes`, hint: `switchyard gc --team ${team}` }], retryable: false },
    );
  }
}

/**
 * Removes a job's directory tree. The job's account owns it and may change it while it is removed (a directory
 * swapped for a link to /etc between a check and a listing): Node's recursive rm walks by path names and would follow
 * such a link as root. GNU rm walks by directory descriptors (fts: openat, O_NOFOLLOW), so a link is removed as a
 * link, never followed; --one-file-system keeps it off other mounts.
 */
export function removeTree(path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn("rm", ["-rf", "--one-file-system", "--", path], { stdio: ["ignore", "ignore", "pipe"] });
    let err = "";
    p.stderr.on("data", (d: Buffer) => void (err += d.toString()));
    p.on("error", reject);
    p.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`could not remove ${path}: ${err.trim() || `rm exited ${code}`}`))));
  });
}
