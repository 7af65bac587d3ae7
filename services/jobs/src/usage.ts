/**
 * Accounting per team and user (`Queues.GetUsage`): GPU-hours from the scheduler's accounting (`jobUsage`, per
 * replica run, shares counted as fractions, clipped to the window) and queueing time as the jobs service measures
 * it (`queued_ms`, accumulated at each placement, plus the current wait of a queued job).
 */
import { jobUsage, type JobRecord } from "@switchyard/scheduler";
import type { JobSummary, ReplicaRow } from "./job-rows.js";

export interface UsageLine {
  team: string;
  user: string;
  jobs: number;
  gpuHours: number;
  queuedHours: number;
  avgQueueSeconds: number;
  preemptions: number;
}

/** A job as the scheduler's accounting sees it: one run per replica run that started, its GPUs by fraction. */
export function jobRecord(job: JobSummary, replicas: readonly ReplicaRow[]): JobRecord {
  const runs: JobRecord["runs"] = [];
  for (const r of replicas) {
    if (r.start_time === null) continue;
    runs.push({ startedAtMs: r.start_time, ...(r.end_time !== null ? { endedAtMs: r.end_time } : {}), gpus: r.gpus.length * (r.gpu_milli ? r.gpu_milli / 1000 : 1) });
  }
  return { uid: job.uid, team: job.team, ...(job.user ? { user: job.user } : {}), submittedAtMs: job.created_at, runs, ...(job.completion_time !== null ? { finishedAtMs: job.completion_time } : {}) };
}

/** One line per team and user, sorted, over the jobs given (those not finished before `sinceMs`). */
export function usageLines(jobs: readonly { job: JobSummary; replicas: readonly ReplicaRow[] }[], sinceMs: number, nowMs: number): UsageLine[] {
  const rows = new Map<string, { team: string; user: string; jobs: number; gpuMs: number; queuedMs: number; preemptions: number }>();
  for (const { job: j, replicas } of jobs) {
    const key = `${j.team}\u0000${j.user}`;
    const row = rows.get(key) ?? { team: j.team, user: j.user, jobs: 0, gpuMs: 0, queuedMs: 0, preemptions: 0 };
    row.gpuMs += jobUsage(jobRecord(j, replicas), nowMs, { fromMs: sinceMs }).gpuMs;
    row.jobs++;
    row.queuedMs += j.queued_ms + (j.phase === "Queued" ? nowMs - j.queued_at : 0);
    row.preemptions += j.preemptions;
    rows.set(key, row);
  }
  return [...rows.values()]
    .sort((a, b) => a.team.localeCompare(b.team) || a.user.localeCompare(b.user))
    .map((r) => ({ team: r.team, user: r.user, jobs: r.jobs, gpuHours: r.gpuMs / 3.6e6, queuedHours: r.queuedMs / 3.6e6, avgQueueSeconds: r.jobs ? r.queuedMs / r.jobs / 1000 : 0, preemptions: r.preemptions }));
}
