/**
 * Carries out the state machine's decisions (job-state.ts): each transition's write is committed in one transaction,
 * then its effects run in order — so every transition is stored before it is acted on. One job's actions run one
 * after another (`serial`: a promise chain per job). Here live what follows a launch: watching replicas, recording
 * their exits, evaluating what they mean (success, failure, retries), preemption, cancel and deadlines.
 */
import type { Clock, Logger } from "@switchyard/core";
import type { Executor, ReplicaState } from "@switchyard/executors";
import { JobDeadlines } from "./job-deadlines.js";
import type { JobRow, ReplicaRow } from "./job-rows.js";
import { replicaTransition, transition, type JobEffect, type Transition } from "./job-state.js";
import type { JobStore } from "./job-store.js";
import { isEnded } from "./phases.js";

/** Named steps at which tests kill the service (`onCrashPoint`): each lies just after a write and before its action. */
export const CRASH_POINTS = ["after-place", "after-launch-replica", "after-running", "after-exit-recorded", "after-preempt-recorded"] as const;
export type CrashPoint = (typeof CRASH_POINTS)[number];

export interface JobActionsOptions {
  store: JobStore;
  executor: Executor;
  clock: Clock;
  logger: Logger;
  /** SIGTERM → SIGKILL grace for cancel, deadlines, preemption and failed gangs. */
  graceMs: number;
  /** Launches the Pending replicas of the job's current attempt (attempt-launcher.ts). */
  launch: (uid: string) => Promise<void>;
  /** Asks for a scheduling cycle (scheduling-loop.ts). */
  schedule: () => void;
  /** Reads what replica 0 wrote last, before its exit is recorded (metrics-sink.ts). */
  collectMetrics: (replica: ReplicaRow) => Promise<void>;
  /** Tests only: called at each crash point (crash-fixture.ts turns it into a SIGKILL). */
  onCrashPoint?: (name: CrashPoint) => void;
}

export class JobActions {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly watches = new Map<string, () => void>();
  private readonly deadlines: JobDeadlines;
  private closed = false;

  constructor(private readonly o: JobActionsOptions) {
    this.deadlines = new JobDeadlines(o.clock, (uid) => void this.serial(uid, () => this.input(uid, (job) => transition(job, { type: "deadline", now: this.o.clock.now() }))));
  }

  crashPoint(name: CrashPoint): void {
    this.o.onCrashPoint?.(name);
  }

  /** Runs `fn` after every earlier action on the same job: one job's transitions never interleave. */
  serial(uid: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(uid) ?? Promise.resolve();
    const next = prev.then(fn).catch((err: unknown) => this.o.logger.error({ uid, err: String(err), stack: (err as Error).stack }, "job action failed"));
    this.chains.set(uid, next);
    void next.then(() => {
      if (this.chains.get(uid) === next) this.chains.delete(uid);
    });
    return next;
  }

  /**
   * Commits a transition of `job` (or of one of its replicas), reaches `crashPoint` if given, then runs its effects
   * in order. A refused transition changes nothing; false then.
   */
  async apply(job: JobRow, t: Transition<string>, o: { crashPoint?: CrashPoint } = {}): Promise<boolean> {
    if (!t.ok) return false;
    await this.o.store.commit(job.uid, t.write, this.o.clock.now());
    if (o.crashPoint) this.crashPoint(o.crashPoint);
    for (const e of t.effects) await this.effect(job, e);
    return true;
  }

  private async effect(job: JobRow, e: JobEffect): Promise<void> {
    switch (e.kind) {
      case "launch":
        return this.o.launch(job.uid);
      case "armDeadline":
        return this.deadlines.arm(job);
      case "disarmDeadline":
        return this.deadlines.disarm(job.uid);
      case "terminate":
        return this.terminateAll(job.uid, e.replicas);
      case "evaluate":
        return this.evaluate(job.uid);
      case "schedule":
        return this.o.schedule();
    }
  }

  /** Reads the job, asks the state machine, applies the answer (call inside `serial`). */
  private async input(uid: string, decide: (job: JobRow) => Transition, o: { crashPoint?: CrashPoint } = {}): Promise<void> {
    const job = await this.o.store.byUid(uid);
    if (job) await this.apply(job, decide(job), o);
  }

  /** Decides what the current attempt's replicas' states mean (call inside `serial`). */
  async evaluate(uid: string): Promise<void> {
    const job = await this.o.store.byUid(uid);
    if (!job) return;
    const replicas = await this.o.store.replicas(uid, job.attempt);
    await this.apply(job, transition(job, { type: "evaluate", replicas, now: this.o.clock.now() }));
  }

  /** Stops a running job to make room (the scheduler decided it); it returns to its queue when its replicas are gone. */
  preempt(uid: string, reason: string): Promise<void> {
    return this.input(uid, (job) => transition(job, { type: "preempt", reason, graceMs: this.o.graceMs }), { crashPoint: "after-preempt-recorded" });
  }

  async cancel(uid: string): Promise<void> {
    await this.serial(uid, () => this.input(uid, (job) => transition(job, { type: "cancel", now: this.o.clock.now() })));
  }

  armDeadline(job: JobRow): void {
    this.deadlines.arm(job);
  }

  watch(uid: string, runId: string): void {
    if (this.watches.has(runId) || this.closed) return;
    const stop = this.o.executor.watch(runId, (state) => {
      this.watches.delete(runId);
      void this.serial(uid, () => this.onReplicaEnded(uid, runId, state));
    });
    this.watches.set(runId, stop);
  }

  /** Records a replica's end (after a last read of its metrics), then evaluates the job (call inside `serial`). */
  async onReplicaEnded(uid: string, runId: string, state: ReplicaState, recovered = false): Promise<void> {
    const job = await this.o.store.byUid(uid);
    if (!job) return;
    const r = await this.o.store.replica(runId);
    if (!r || isEnded(r.state)) return;
    await this.o.collectMetrics(r);
    if (state.kind !== "exited" && state.kind !== "lost") return;
    await this.apply(job, replicaTransition(job, r, { type: "ended", state, recovered, now: this.o.clock.now() }), { crashPoint: "after-exit-recorded" });
  }

  /** SIGTERM, grace, SIGKILL to each live replica; one placed but never launched is marked Terminated instead. */
  private terminateAll(uid: string, reps: readonly ReplicaRow[]): void {
    for (const r of reps) {
      if (isEnded(r.state)) continue;
      if (r.state === "Pending" && !this.watches.has(r.run_id)) {
        void this.serial(uid, async () => {
          const state = await this.o.executor.inspect(r.run_id);
          if (state.kind !== "absent") return this.watch(uid, r.run_id);
          const job = await this.o.store.byUid(uid);
          if (job) await this.apply(job, replicaTransition(job, r, { type: "neverLaunched", now: this.o.clock.now() }));
        });
        continue;
      }
      this.watch(uid, r.run_id);
      void this.o.executor.terminate(r.run_id, this.o.graceMs).catch((err: unknown) => this.o.logger.warn({ runId: r.run_id, err: String(err) }, "terminate failed"));
    }
  }

  /** Stops watching and timing (replicas keep running: they are detached), then waits for every job's actions. */
  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.watches.values()) stop();
    this.watches.clear();
    this.deadlines.close();
    await Promise.all([...this.chains.values()]);
  }
}
