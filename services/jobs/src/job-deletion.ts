/**
 * Deleting a job, and what a deletion requires: the job has finished (Succeeded, Failed or Cancelled) and none of
 * its replicas still holds resources — a running or queued job is cancelled first. Used by DeleteJob, by a
 * submission with `replace`, and by RerunJob under the same name. A deleted job is gone from every lookup and its
 * name is free; its files go now only with `purge`, otherwise when its queue's retention (or `switchyard gc`) says;
 * its row and replica runs stay as accounting (job-store.ts `deleteJob`).
 */
import { Code, SwitchyardError, type Clock } from "@switchyard/core";
import type { JobSummary } from "./job-rows.js";
import type { JobStore } from "./job-store.js";
import { isFinal } from "./phases.js";
import type { JobRetention } from "./retention.js";

/** What the caller was about to do, for the refusal's words. */
export type DeleteAction = "delete" | "replace" | "rerun";

/**
 * Throws FAILED_PRECONDITION unless `job` may be deleted now (finished, no replica left holding resources), saying
 * what to do instead.
 */
export function requireDeletable(job: JobSummary, liveReplicas: number, action: DeleteAction): void {
  const name = job.name;
  const then =
    action === "delete"
      ? `then delete it`
      : action === "replace"
        ? `then submit again with --replace, or submit this one under another name (--generate-name)`
        : `then rerun it, or rerun it under a fresh name now (--generate-name)`;
  if (!isFinal(job.phase)) {
    const doing = action === "delete" ? "deleted" : action === "replace" ? "replaced" : "rerun under its own name";
    if (job.cancel_requested === 1) {
      throw new SwitchyardError(Code.FailedPrecondition, `job "${name}" is being cancelled (its replicas are stopping) and cannot be ${doing} before it has finished: wait until it is Cancelled (switchyard get ${name}), ${then}`, { retryable: false });
    }
    throw new SwitchyardError(Code.FailedPrecondition, `job "${name}" is ${job.phase} and cannot be ${doing} until it has finished: cancel it first (switchyard cancel ${name}), ${then}`, { retryable: false });
  }
  if (liveReplicas > 0) {
    throw new SwitchyardError(Code.FailedPrecondition, `job "${name}" has finished (${job.phase}) but ${liveReplicas} of its replicas ${liveReplicas === 1 ? "is" : "are"} still stopping: try again in a few seconds`, { retryable: true });
  }
}

export interface DeleteResult {
  job: JobSummary;
  /** The files are gone: deleted now (purge), or collected by retention before. */
  purged: boolean;
  freedBytes: number;
}

/** Deletes a finished job (refusing as `requireDeletable` says), and with `purge` its files now. */
export async function deleteJob(d: { store: JobStore; retention: JobRetention; clock: Clock }, uid: string, purge: boolean): Promise<DeleteResult | undefined> {
  const job = await d.store.deleteJob(uid, d.clock.now(), (j, live) => requireDeletable(j, live, "delete"));
  if (job === undefined) return undefined;
  if (!purge) return { job, purged: job.collected_at !== null, freedBytes: 0 };
  // After the row: a purge that fails half-way leaves files retention still collects (collected_at stays null), and
  // the deletion itself stands: answered as deleted, not purged, rather than as an error a retry cannot repeat.
  try {
    return { job, purged: true, freedBytes: await d.retention.purge(job) };
  } catch {
    return { job, purged: false, freedBytes: 0 };
  }
}
