/**
 * Restart: the store is reconciled with what really runs before the service serves. For every unfinished job, each
 * replica's durable evidence (the executor's `inspect`) decides — running: watch it again; exited or lost: record
 * the exit ("while the jobs service was down") and evaluate; never launched: launch it now (launches are idempotent
 * by run id). Nothing is started twice, and an exit that happened meanwhile is not lost.
 */
import type { Clock } from "@switchyard/core";
import type { Executor } from "@switchyard/executors";
import type { AttemptLauncher } from "./attempt-launcher.js";
import type { JobActions } from "./job-actions.js";
import type { JobRow } from "./job-rows.js";
import { replicaTransition, transition } from "./job-state.js";
import type { JobStore } from "./job-store.js";
import { isEnded, isFinal } from "./phases.js";

export interface RecoveryDeps {
  store: JobStore;
  executor: Executor;
  actions: JobActions;
  launcher: AttemptLauncher;
  clock: Clock;
}

/** Re-adopts live replicas and records exits that happened while the service was down, job by job. */
export async function recoverJobs(d: RecoveryDeps): Promise<void> {
  for (const job of await d.store.unfinished()) await d.actions.serial(job.uid, () => recoverJob(d, job));
}

async function recoverJob(d: RecoveryDeps, job: JobRow): Promise<void> {
  const { store, actions } = d;
  const reps = await store.replicas(job.uid, job.attempt);
  let launchNeeded = false;
  for (const r of reps) {
    if (isEnded(r.state)) continue;
    const state = await d.executor.inspect(r.run_id);
    if (state.kind === "running") {
      if (r.state === "Pending") await actions.apply(job, replicaTransition(job, r, { type: "launched", pid: state.shimPid, startedAtMs: state.startedAtMs }));
      actions.watch(job.uid, r.run_id);
    } else if (state.kind === "exited" || state.kind === "lost") {
      await actions.onReplicaEnded(job.uid, r.run_id, state, true);
    } else {
      launchNeeded = true;
    }
  }
  const now = await store.byUid(job.uid);
  if (!now) return;
  if (launchNeeded && (now.phase === "Starting" || now.phase === "Running") && !now.cancel_requested && !now.deadline_exceeded) {
    await store.commit(job.uid, { events: [{ type: "Recovered", message: "launching replicas that had not started before the restart", attempt: now.attempt }] }, d.clock.now());
    await d.launcher.launchAttempt(job.uid);
    return;
  }
  // `reps` as read before this pass: a replica that was Pending and is found running now still counts as Pending
  // here, so its job stays Starting (and ends from there) — the attempt is marked Running only when every replica
  // was known launched before the restart.
  if (now.phase === "Starting" && reps.every((r) => r.state !== "Pending")) await actions.apply(now, transition(now, { type: "adopted" }));
  if (!isFinal(now.phase)) actions.armDeadline(now);
  await actions.evaluate(job.uid);
}
