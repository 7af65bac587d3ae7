import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { CliExit, EXIT } from "./exit.js";
import { withApi } from "./cmd-jobs.js";
import { table } from "./format.js";

const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2));
const bytes = (b: bigint) => (b >= 1024n ** 3n ? `${(Number(b) / 1024 ** 3).toFixed(1)}Gi` : `${(Number(b) / 1024 ** 2).toFixed(1)}Mi`);

/** `7d`, `12h`, `30m` → seconds. */
function durationSeconds(text: string): bigint {
  const m = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!m) throw new CliExit(EXIT.usage, `--older-than must be a duration such as 7d, 12h or 30m (got "${text}")`);
  return BigInt(Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[m[2] as "s" | "m" | "h" | "d"]);
}

/** `switchyard apply -f queues.yaml`, `switchyard queues`, `switchyard usage`. */
export function registerQueueCommands(program: Command): void {
  const apply = program
    .command("apply")
    .description("apply a queues.yaml (team queues, quotas, cohorts); takes effect without a restart")
    .requiredOption("-f, --file <file>", "the queues.yaml");
  apply.action(
    withApi(apply, async (api, _g, o: { file: string }) => {
      let yaml: string;
      try {
        yaml = readFileSync(o.file, "utf8");
      } catch (err) {
        throw new CliExit(EXIT.usage, `cannot read ${o.file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      const res = await api.queues.applyQueues({ yaml, fileName: o.file });
      process.stdout.write(`queues applied (version ${res.version}): ${res.queues.map((q) => q.name).join(", ")}\n`);
    }),
  );

  const queues = program.command("queues").description("quota, lending and borrowing limits, usage, and the pending jobs of each queue, next first").option("--max-pending <n>", "pending jobs listed per queue", "20");
  queues.action(
    withApi(queues, async (api, _g, o: { maxPending: string }) => {
      const max = Number(o.maxPending);
      if (!Number.isInteger(max) || max < 0) throw new CliExit(EXIT.usage, `--max-pending must be a whole number (got "${o.maxPending}")`);
      const res = await api.queues.listQueues({ maxPendingJobs: Math.max(1, max) });
      const rows: string[][] = [];
      for (const q of res.queues) {
        const res0 = q.resources.length ? q.resources : [undefined];
        for (const [i, r] of res0.entries()) {
          rows.push([
            i === 0 ? q.name : "",
            i === 0 ? q.team || "-" : "",
            i === 0 ? q.cohort || "-" : "",
            r ? r.name : "-",
            r ? (r.nominalQuota ? fmt(r.nominalQuota) : "-") : "-",
            r ? (r.borrowingLimit === undefined ? "∞" : fmt(r.borrowingLimit)) : "-",
            r ? (r.lendingLimit === undefined ? "all" : fmt(r.lendingLimit)) : "-",
            r ? fmt(r.used) : "-",
            r ? fmt(r.borrowed) : "-",
            i === 0 ? String(q.pending) : "",
            i === 0 ? String(q.running) : "",
          ]);
        }
      }
      process.stdout.write(
        (res.version === 0n ? "no queues applied: one shared pool (switchyard apply -f queues.yaml sets quotas)\n" : `queues version ${res.version}\n`) +
          (rows.length ? table(["QUEUE", "TEAM", "COHORT", "RESOURCE", "NOMINAL", "BORROW-LIMIT", "LEND-LIMIT", "USED", "BORROWED", "PENDING", "RUNNING"], rows) : "") +
          "\n",
      );
      // The jobs each queue holds back, next first, each with why it waits.
      const pending = res.queues.filter((q) => q.pendingJobs.length > 0);
      if (max > 0 && pending.length > 0) {
        const lines: string[][] = [];
        for (const q of pending) {
          for (const j of q.pendingJobs.slice(0, max)) lines.push([q.name, j.position > 0 ? String(j.position) : "-", j.name, j.team, j.reason, j.message]);
          if (q.pending > Math.min(max, q.pendingJobs.length)) lines.push([q.name, "", `… ${q.pending - Math.min(max, q.pendingJobs.length)} more`, "", "", ""]);
        }
        process.stdout.write("\npending jobs:\n" + table(["QUEUE", "#", "JOB", "TEAM", "REASON", "WHY"], lines) + "\n");
      }
    }),
  );

  const usage = program.command("usage").description("GPU-hours and queueing time per team and user").option("--since <when>", "a duration (24h, 7d) or an RFC 3339 time");
  usage.action(
    withApi(usage, async (api, _g, o: { since?: string }) => {
      const res = await api.queues.getUsage({ since: o.since ?? "" });
      process.stdout.write(
        table(
          ["TEAM", "USER", "JOBS", "GPU-HOURS", "QUEUED-HOURS", "AVG-QUEUE", "PREEMPTIONS"],
          res.rows.map((r) => [r.team, r.user || "-", String(r.jobs), r.gpuHours.toFixed(3), r.queuedHours.toFixed(3), `${r.avgQueueSeconds.toFixed(1)}s`, String(r.preemptions)]),
        ) + "\n",
      );
    }),
  );

  const gc = program
    .command("gc")
    .description("delete the files (logs, artifacts, checkpoints) of finished jobs past their queue's retention, and show each team's disk usage")
    .option("--older-than <duration>", "collect jobs that ended longer ago than this (7d, 12h) instead of their queue's retention")
    .option("--dry-run", "say what would be deleted; delete nothing");
  gc.action(
    withApi(gc, async (api, g, o: { olderThan?: string; dryRun?: boolean }) => {
      const res = await api.jobs.collectGarbage({ team: g.team ?? "", dryRun: o.dryRun === true, olderThanSeconds: o.olderThan ? durationSeconds(o.olderThan) : 0n });
      const verb = res.dryRun ? "would free" : "freed";
      const rows = res.jobs.map((j) => [j.name, j.team, bytes(j.bytes)]);
      process.stdout.write(
        (rows.length ? table(["JOB", "TEAM", "BYTES"], rows) + "\n" : "no finished job is past its retention\n") +
          `${verb} ${bytes(res.freedBytes)} in ${res.jobs.length} job(s)\n\n` +
          table(["TEAM", "DISK", "QUOTA"], res.usage.map((u) => [u.team, bytes(u.bytes), u.quotaBytes > 0n ? bytes(u.quotaBytes) : "-"])) +
          "\n",
      );
    }),
  );
}
