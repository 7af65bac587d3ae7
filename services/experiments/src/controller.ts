/**
 * Carries out what the stored experiments say, one pass at a time (woken by a change, else every `intervalMs`):
 *
 * 1. follows each trial's job — its phase, its metrics (trial-metrics.ts), the objective by the metric strategy;
 * 2. stops trials early where the experiment's rule says so (medianstop, ASHA's rungs) — the end is recorded
 *    first, then the job is cancelled (as this service);
 * 3. ends the experiment when the goal is reached (running trials are killed), the trial budget is spent, too many
 *    trials failed, or the algorithm has nothing more to suggest; its grant is then given back;
 * 4. asks the algorithm for as many new trials as `parallelTrialCount` allows, stores them, then submits each as a
 *    job of the owner under the owner's grant, with the trial's id as the request id.
 *
 * Crash safety: every intent is stored before it is acted on, and every act is idempotent — a stored trial without a
 * job is submitted again with the same request id (the jobs service answers with the first job when it had landed),
 * an ended trial's job is cancelled again after a restart, and the algorithm is a pure function of the seed and the
 * stored history (packages/tuning), so a restarted service suggests exactly what the crashed one would have.
 */
import { createHash } from "node:crypto";
import { Code, SwitchyardError, type Clock, type Logger } from "@switchyard/core";
import type { EndUser, UserRole } from "@switchyard/mesh";
import { EXPERIMENT_LABEL, renderTrialManifest, type ExperimentSpec } from "@switchyard/specs";
import { createStoppingRule, createSuggester, type SearchSpace, type StoppingRule, type TrialRecord, type TrialState } from "@switchyard/tuning";
import type { ExperimentRow, ExperimentStore, TrialRow } from "./experiment-store.js";
import type { GrantsPort, JobsPort } from "./ports.js";
import { objectiveOf, readTrialMetrics } from "./trial-metrics.js";

/** The label every trial's job carries (its experiment's name, set by specs' renderTrialManifest): what the owner's grant covers. */
export { EXPERIMENT_LABEL };

export interface ControllerOptions {
  store: ExperimentStore;
  jobs: JobsPort;
  grants: GrantsPort;
  clock: Clock;
  logger: Logger;
  /** A pass every this often when nothing woke the controller (default 1 s). */
  intervalMs?: number;
}

const ACTIVE = new Set(["Pending", "Running"]);
const FINAL_JOB = new Set(["Succeeded", "Failed", "Cancelled"]);

export class Controller {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  /** Trials whose job this process cancelled already (after a restart every ended trial's job is cancelled once more). */
  private readonly cancelled = new Set<string>();

  constructor(private readonly o: ControllerOptions) {}

  start(): void {
    this.stopped = false;
    const tick = () => {
      this.kick();
      this.timer = setTimeout(tick, this.o.intervalMs ?? 1000);
      this.timer.unref();
    };
    tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }

  /** Something changed: look now (a pass in progress is followed by another). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.reconcileOnce()
      .catch((err: unknown) => this.o.logger.error({ err }, "experiments pass failed; the next one tries again"))
      .finally(() => {
        this.running = undefined;
        if (this.again && !this.stopped) {
          this.again = false;
          this.kick();
        }
      });
  }

  /** One pass over every experiment still to be driven. */
  async reconcileOnce(): Promise<void> {
    for (const e of await this.o.store.active()) {
      try {
        await this.drive(e);
      } catch (err) {
        this.o.logger.warn({ err, experiment: e.name, team: e.team }, "driving an experiment failed; the next pass tries again");
      }
    }
  }

  private async drive(e: ExperimentRow): Promise<void> {
    const { store } = this.o;
    const spec = JSON.parse(e.spec) as ExperimentSpec;
    let trials = await store.trials(e.uid);
    if (e.deleting) return this.deleteStep(e, trials);
    if (e.condition !== "Created" && e.condition !== "Running") return this.settle(e, trials);
    if (e.condition === "Created") {
      await store.updateExperiment(e.uid, { condition: "Running", reason: "ExperimentRunning", message: "the experiment is running" });
      e.condition = "Running";
    }
    // 1. Trials: submit those stored without a job, follow the others, cancel again what a crash may have left.
    for (const t of trials) {
      if (ACTIVE.has(t.state) && !t.job_uid) {
        if ((await this.submit(e, spec, t)) === "stop") return;
      } else if (ACTIVE.has(t.state)) await this.follow(e, spec, t);
      else if ((t.state === "EarlyStopped" || t.state === "Killed") && t.job_uid) await this.cancelJob(e, t);
    }
    // A cancel (or a delete) may have come while this pass ran: it is the user's word, and this pass stops here.
    if (!(await this.stillRunning(e))) return;
    trials = await store.trials(e.uid);
    // 2. Early stopping.
    const rules = stoppingRules(spec);
    if (rules.length > 0) {
      const history = trials.map(toRecord);
      let stopped = false;
      for (const [i, t] of trials.entries()) {
        const record = history[i]!;
        if (t.state !== "Running" || !record.curve?.length) continue;
        const decision = rules.map(({ name, rule }) => ({ name, d: rule.shouldStop(record, history) })).find((x) => x.d.stop);
        if (decision === undefined) continue;
        await this.end(e, t, "EarlyStopped", `stopped early by ${decision.name}: ${decision.d.reason ?? "worse than the others at this point"}`);
        stopped = true;
      }
      if (stopped) trials = await store.trials(e.uid);
    }
    // 3. The end of the experiment.
    const done = await this.maybeFinish(e, spec, trials);
    if (done || !(await this.stillRunning(e))) return;
    // 4. New trials.
    const active = trials.filter((t) => ACTIVE.has(t.state)).length;
    const room = Math.min(spec.parallelTrialCount - active, (spec.maxTrialCount ?? Infinity) - trials.length);
    if (room <= 0) return;
    const suggester = createSuggester(spec.algorithm.name, spaceOf(spec), spec.algorithm.settings, e.seed);
    const suggestions = suggester.suggest(trials.map(toRecord), room);
    if (suggestions.length === 0) {
      if (active === 0) await this.finish(e, "Succeeded", "SuggestionEndReached", `the ${spec.algorithm.name} algorithm has nothing more to suggest after ${trials.length} trials`);
      return;
    }
    const now = this.o.clock.now();
    const next = trials.reduce((m, t) => Math.max(m, t.idx), 0) + 1;
    const rows: TrialRow[] = suggestions.map((s, i) => ({
      experiment_uid: e.uid,
      name: trialName(e, next + i),
      idx: next + i,
      assignment: JSON.stringify(s.assignment),
      budget: s.budget ?? null,
      request_id: `${e.uid}-${next + i}`,
      job_uid: "",
      state: "Pending",
      objective: null,
      metrics: "{}",
      curve: "[]",
      message: "submitting its job",
      created_at: now,
      completed_at: null,
    }));
    await store.insertTrials(rows);
    // At once: each is its own idempotent submission, and a trial's start should not wait for its siblings'.
    await Promise.all(rows.map((t) => this.submit(e, spec, t)));
  }

  private async stillRunning(e: ExperimentRow): Promise<boolean> {
    const now = await this.o.store.byUid(e.uid);
    return now !== undefined && !now.deleting && (now.condition === "Running" || now.condition === "Created");
  }

  /**
   * Submits a stored trial's job as the owner (a replay when a crash lost the answer of an earlier submission).
   * "stop" when the experiment ended for it (the owner's grant is gone): nothing more is submitted this pass.
   */
  private async submit(e: ExperimentRow, spec: ExperimentSpec, t: TrialRow): Promise<"stop" | undefined> {
    let manifest: string;
    try {
      manifest = renderTrialManifest(spec, { trialName: t.name, assignment: JSON.parse(t.assignment) as Record<string, number | string> });
    } catch (err) {
      await this.end(e, t, "Failed", `its job could not be written from the trial template: ${(err as Error).message}`);
      return undefined;
    }
    try {
      const job = await this.o.jobs.submit(manifest, t.request_id, ownerOf(e), e.base_dir);
      // Its job is recorded even if a cancel ended the trial meanwhile: the job is then cancelled with the others.
      await this.o.store.updateTrial(e.uid, t.idx, { job_uid: job.uid });
      await this.o.store.updateActiveTrial(e.uid, t.idx, { message: `its job is ${job.phase || "Queued"}` });
      this.o.logger.info({ experiment: e.name, trial: t.name, job: job.name }, "trial submitted");
      return undefined;
    } catch (err) {
      const se = SwitchyardError.from(err);
      if (se.code === Code.PermissionDenied && se.details.some((d) => d.field === "grant")) {
        // The owner's grant is gone (the owner deleted, or no longer in the team): nothing more runs for them.
        await this.end(e, t, "Failed", `not submitted: ${se.message}`);
        await this.finish(e, "Failed", "GrantRevoked", `trials are not submitted any more: ${se.message}`);
        return "stop";
      }
      if (se.code === Code.InvalidArgument || se.code === Code.PermissionDenied || se.code === Code.FailedPrecondition || se.code === Code.AlreadyExists || se.code === Code.NotFound) {
        await this.end(e, t, "Failed", `its job was refused: ${se.message}`);
        return undefined;
      }
      this.o.logger.warn({ err, experiment: e.name, trial: t.name }, "trial submission failed; the next pass tries again");
      await this.o.store.updateActiveTrial(e.uid, t.idx, { message: `submitting its job (the last attempt failed: ${se.message})` });
      return undefined;
    }
  }

  /** A running trial: its job's phase and its metrics. */
  private async follow(e: ExperimentRow, spec: ExperimentSpec, t: TrialRow): Promise<void> {
    const job = await this.o.jobs.get(t.job_uid, e.team);
    if (job === undefined) {
      await this.end(e, t, "Failed", "its job is gone (deleted)");
      return;
    }
    if (job.phase === "Queued" || job.phase === "") {
      await this.o.store.updateActiveTrial(e.uid, t.idx, { message: `its job is Queued${job.message ? ` — ${job.message}` : ""}` });
      return;
    }
    let m;
    try {
      m = await readTrialMetrics(this.o.jobs, spec, t.job_uid, e.team);
    } catch (err) {
      const se = SwitchyardError.from(err);
      // A metrics file too large, or a path the jobs service refuses: reading again will not help.
      if (se.code === Code.InvalidArgument || se.code === Code.ResourceExhausted || se.code === Code.PermissionDenied) {
        await this.end(e, t, "Failed", `its metrics cannot be read (MetricsUnavailable): ${se.message}`);
        return;
      }
      throw err;
    }
    const objective = objectiveOf(spec, m) ?? null;
    const curve = JSON.stringify(m.curve);
    const observed = { objective, metrics: JSON.stringify(m.metrics), ...(curve !== t.curve ? { curve } : {}) };
    if (!FINAL_JOB.has(job.phase)) {
      await this.o.store.updateActiveTrial(e.uid, t.idx, { ...observed, state: "Running", message: `its job is ${job.phase}` });
      return;
    }
    if (!(await this.o.store.updateActiveTrial(e.uid, t.idx, observed))) return;
    if (job.phase === "Succeeded" && objective === null) {
      await this.end(e, t, "Failed", `it reported no ${spec.objective.metric}: print lines like \`${spec.objective.metric}=0.123\` (MetricsUnavailable)`);
    } else if (job.phase === "Succeeded") {
      await this.end(e, t, "Succeeded", `${spec.objective.metric} = ${objective}`);
    } else if (job.phase === "Failed") {
      await this.end(e, t, "Failed", `its job failed${job.message ? `: ${job.message}` : ""}`);
    } else {
      await this.end(e, t, "Killed", `its job was cancelled${job.message ? `: ${job.message}` : ""}`);
    }
  }

  /** Records a trial's end (unless it ended meanwhile), then (for a running one) cancels its job. */
  private async end(e: ExperimentRow, t: TrialRow, state: "Succeeded" | "Failed" | "EarlyStopped" | "Killed", message: string): Promise<void> {
    if (!(await this.o.store.updateActiveTrial(e.uid, t.idx, { state, message, completed_at: this.o.clock.now() }))) return;
    this.o.logger.info({ experiment: e.name, trial: t.name, state, message }, "trial ended");
    if ((state === "EarlyStopped" || state === "Killed") && t.job_uid) await this.cancelJob(e, t);
  }

  private async cancelJob(e: ExperimentRow, t: TrialRow): Promise<void> {
    const key = `${e.uid}/${t.idx}`;
    if (this.cancelled.has(key)) return;
    await this.o.jobs.cancel(t.job_uid, e.team);
    this.cancelled.add(key);
  }

  /** Ends the experiment when its goal, its trial budget, its failure budget says so. */
  private async maybeFinish(e: ExperimentRow, spec: ExperimentSpec, trials: readonly TrialRow[]): Promise<boolean> {
    const count = (s: string) => trials.filter((t) => t.state === s).length;
    const goal = spec.objective.goal;
    if (goal !== undefined) {
      const reached = trials.find((t) => t.state === "Succeeded" && t.objective !== null && (spec.objective.type === "minimize" ? t.objective <= goal : t.objective >= goal));
      if (reached) {
        for (const t of trials) if (ACTIVE.has(t.state)) await this.end(e, t, "Killed", `the experiment reached its goal with ${reached.name}`);
        await this.finish(e, "Succeeded", "GoalReached", `trial ${reached.name} reached the goal: ${spec.objective.metric} = ${reached.objective} (goal ${goal})`);
        return true;
      }
    }
    const failed = count("Failed");
    if (spec.maxFailedTrialCount !== undefined && failed > spec.maxFailedTrialCount) {
      for (const t of trials) if (ACTIVE.has(t.state)) await this.end(e, t, "Killed", "the experiment failed: too many failed trials");
      await this.finish(e, "Failed", "MaxFailedTrialsReached", `${failed} trials failed, more than maxFailedTrialCount ${spec.maxFailedTrialCount}`);
      return true;
    }
    const completed = trials.filter((t) => !ACTIVE.has(t.state)).length;
    if (spec.maxTrialCount !== undefined && completed >= spec.maxTrialCount) {
      await this.finish(e, "Succeeded", "MaxTrialsReached", `all ${spec.maxTrialCount} trials ended (${count("Succeeded")} succeeded, ${failed} failed, ${count("EarlyStopped")} stopped early)`);
      return true;
    }
    return false;
  }

  /** Records the experiment's end, then gives back the owner's grant (nothing more is submitted for them). */
  async finish(e: ExperimentRow, condition: "Succeeded" | "Failed" | "Cancelled", reason: string, message: string): Promise<void> {
    // Only a running experiment ends here: a cancel that came first keeps its word.
    if (!(await this.o.store.endExperiment(e.uid, { condition, reason, message, completed_at: this.o.clock.now() }))) return;
    e.condition = condition;
    this.o.logger.info({ experiment: e.name, team: e.team, condition, reason, message }, "experiment ended");
    await this.o.grants.revoke(e.team, EXPERIMENT_LABEL, e.name).catch((err: unknown) => this.o.logger.warn({ err, experiment: e.name }, "giving back the experiment's grant failed (it is removed with its owner or with the experiment)"));
  }

  /** An ended experiment: its killed and stopped trials' jobs cancelled until none runs, then it is settled. */
  private async settle(e: ExperimentRow, trials: readonly TrialRow[]): Promise<void> {
    let running = 0;
    for (const t of trials) {
      if (ACTIVE.has(t.state)) await this.end(e, t, "Killed", `the experiment ended (${e.condition})`);
      const job = await this.jobOf(e, t);
      if (job === undefined || FINAL_JOB.has(job.phase)) continue;
      running++;
      await this.o.jobs.cancel(job.uid, e.team);
    }
    if (running === 0) {
      await this.o.store.updateExperiment(e.uid, { settled: 1 });
      for (const t of trials) this.cancelled.delete(`${e.uid}/${t.idx}`);
    }
  }

  /**
   * A trial's job: by its uid, or — for one whose submission's answer was lost before the experiment ended — by its
   * name (the trial's), so that no job runs on in the owner's name for an experiment that is over.
   */
  private async jobOf(e: ExperimentRow, t: TrialRow) {
    if (t.job_uid) return this.o.jobs.get(t.job_uid, e.team);
    const found = await this.o.jobs.get(t.name, e.team);
    return found?.name === t.name ? found : undefined;
  }

  /** Deletion: cancel what runs, delete the trials' jobs once they ended, give back the grant, then forget it. */
  private async deleteStep(e: ExperimentRow, trials: readonly TrialRow[]): Promise<void> {
    let left = 0;
    for (const t of trials) {
      const job = await this.jobOf(e, t);
      if (job === undefined) continue;
      if (!FINAL_JOB.has(job.phase)) {
        await this.o.jobs.cancel(job.uid, e.team);
        left++;
        continue;
      }
      await this.o.jobs.remove(job.uid, e.team);
    }
    if (left > 0) return;
    await this.o.grants.revoke(e.team, EXPERIMENT_LABEL, e.name);
    await this.o.store.removeExperiment(e.uid);
    this.o.logger.info({ experiment: e.name, team: e.team }, "experiment deleted");
  }
}

/** `<experiment>-<8 characters>`: derived from the experiment's uid and the trial's index, so a replay names it alike. */
export function trialName(e: Pick<ExperimentRow, "uid" | "name">, idx: number): string {
  const h = createHash("sha256").update(`${e.uid}/${idx}`).digest();
  let s = "";
  for (let i = 0; i < 8; i++) s += "abcdefghijklmnopqrstuvwxyz0123456789"[h[i]! % 36];
  return `${e.name}-${s}`;
}

export function spaceOf(spec: ExperimentSpec): SearchSpace {
  return { parameters: spec.parameters, direction: spec.objective.type };
}

function stoppingRules(spec: ExperimentSpec): { name: string; rule: StoppingRule }[] {
  const rules: { name: string; rule: StoppingRule }[] = [];
  if (spec.earlyStopping) rules.push({ name: spec.earlyStopping.name, rule: createStoppingRule(spec.earlyStopping.name, spaceOf(spec), spec.earlyStopping.settings) });
  if (spec.algorithm.name === "asha") rules.push({ name: "asha", rule: createStoppingRule("asha", spaceOf(spec), spec.algorithm.settings) });
  return rules;
}

const STATES: Record<string, TrialState> = { Pending: "running", Running: "running", Succeeded: "succeeded", Failed: "failed", Killed: "failed", EarlyStopped: "early-stopped" };

/** A stored trial as the algorithms see it. */
export function toRecord(t: TrialRow): TrialRecord {
  const curve = (JSON.parse(t.curve) as [number, number][]).map(([step, value]) => ({ step, value }));
  return {
    name: t.name,
    assignment: JSON.parse(t.assignment) as Record<string, number | string>,
    state: STATES[t.state] ?? "failed",
    ...(t.objective !== null ? { objective: t.objective } : {}),
    ...(curve.length ? { curve } : {}),
    ...(t.budget !== null ? { budget: t.budget } : {}),
  };
}

function ownerOf(e: ExperimentRow): EndUser {
  return { user: e.owner, teams: JSON.parse(e.owner_teams) as string[], role: e.owner_role as UserRole };
}
