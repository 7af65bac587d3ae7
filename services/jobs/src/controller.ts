/**
 * The jobs controller: one object the RPC handlers and the composition root talk to, wiring the parts that do the
 * work — submission (job-submission.ts), the scheduling loop (scheduling-loop.ts), the attempt launcher
 * (attempt-launcher.ts), the job actions that carry out the state machine's decisions (job-actions.ts, over the pure
 * job-state.ts) and recovery (job-recovery.ts). It holds the queues in force and nothing else of its own.
 */
import { Code, noopLogger, SwitchyardError, systemClock, type Clock, type Logger } from "@switchyard/core";
import type { Executor, GpuDevice } from "@switchyard/executors";
import type { ParsedJobManifest } from "@switchyard/specs";
import { limitsOf, type NodeInfo, type QueuesConfig, type Scheduler } from "@switchyard/scheduler";
import { AttemptLauncher } from "./attempt-launcher.js";
import { ClusterNodes } from "./cluster-nodes.js";
import { JobActions, type CrashPoint } from "./job-actions.js";
import type { JobIsolation } from "./job-isolation.js";
import { recoverJobs } from "./job-recovery.js";
import type { JobRow } from "./job-rows.js";
import { unsealJobSecrets } from "./job-secrets.js";
import type { JobStore } from "./job-store.js";
import { submitJob, type SubmitInput, type SubmitResult } from "./job-submission.js";
import { MetricsCollector } from "./metrics-sink.js";
import type { MetricsStore } from "./metrics-store.js";
import { SchedulingLoop } from "./scheduling-loop.js";
import type { SecretBox } from "./secret-box.js";
import type { SecretStore } from "./secret-store.js";

export type { SubmitInput } from "./job-submission.js";

export interface ControllerOptions {
  store: JobStore;
  executor: Executor;
  scheduler: Scheduler;
  gpus: GpuDevice[];
  /** This machine's name, CPUs and memory: the one node when the executor has no inventory of its own. */
  node: { name: string; cpuMilli: number; memoryMb: number };
  /** How often an executor's node inventory is read again (cluster-nodes.ts; default 5 s). */
  inventoryRefreshMs?: number;
  /** Who runs each job and where its own directory is (`<jobsDir>/<uid>/{output,checkpoints,home}`). */
  isolation: JobIsolation;
  /** Teams' secrets (job env `secretKeyRef`s) and the box that seals inline secret values at rest. */
  secrets: SecretStore;
  secretBox: SecretBox;
  /** Jobs' metric series, bounded by downsampling. */
  metricSeries: MetricsStore;
  /** SIGTERM → SIGKILL grace for cancel, deadlines and failed gangs. */
  graceMs: number;
  /** Half-life of the past usage fair share weighs (the same the scheduler was made with). */
  usageHalfLifeMs?: number;
  clock?: Clock;
  logger?: Logger;
  /** Fault injection for crash tests only: called at each named crash point (job-actions.ts). */
  onCrashPoint?: (name: CrashPoint) => void;
}

/**
 * The jobs state machine at work: Queued → Starting → Running → Succeeded | Failed | Cancelled (with Retrying and
 * Preempting). Every transition is persisted before it is acted on; `recover()` reconciles the database with what
 * really runs.
 */
export class JobController {
  /** The queues in force (newest applied configuration); the same object until the next apply. */
  queues: QueuesConfig | undefined;
  /** The nodes the scheduler places on: this machine, or the executor's inventory (Slurm's nodes). */
  readonly nodes: ClusterNodes;
  readonly metrics: MetricsCollector;
  private readonly clock: Clock;
  private readonly actions: JobActions;
  private readonly launcher: AttemptLauncher;
  private readonly loop: SchedulingLoop;

  constructor(private readonly o: ControllerOptions) {
    const clock = (this.clock = o.clock ?? systemClock);
    const logger = o.logger ?? noopLogger;
    const queues = () => this.queues;
    const local: NodeInfo = { name: o.node.name, gpus: o.gpus.map((g) => ({ index: g.index, type: g.name })), cpuMilli: o.node.cpuMilli, memoryMb: o.node.memoryMb };
    const inventory = o.executor.inventory?.bind(o.executor);
    this.nodes = new ClusterNodes({ local, clock, logger, onChange: () => this.kick(), ...(inventory ? { inventory } : {}), ...(o.inventoryRefreshMs !== undefined ? { refreshMs: o.inventoryRefreshMs } : {}) });
    this.metrics = new MetricsCollector(o.store, o.executor, logger, o.metricSeries, (queue) => limitsOf(this.queues, queue).metricPoints);
    this.actions = new JobActions({
      store: o.store,
      executor: o.executor,
      clock,
      logger,
      graceMs: o.graceMs,
      launch: (uid) => this.launcher.launchAttempt(uid),
      schedule: () => this.kick(),
      collectMetrics: (r) => this.metrics.collect(r, true),
      ...(o.onCrashPoint ? { onCrashPoint: o.onCrashPoint } : {}),
    });
    this.launcher = new AttemptLauncher({ store: o.store, executor: o.executor, isolation: o.isolation, secrets: o.secrets, secretBox: o.secretBox, clock, queues, actions: this.actions });
    const actions = this.actions;
    this.loop = new SchedulingLoop({
      store: o.store,
      scheduler: o.scheduler,
      nodes: () => this.nodes.available(),
      units: o.executor,
      queues,
      clock,
      logger,
      preempt: (uid, reason) => actions.serial(uid, () => actions.preempt(uid, reason)),
      place: (uid, placement, preemptible) => actions.serial(uid, () => this.launcher.place(uid, placement, preemptible)),
      ...(o.usageHalfLifeMs !== undefined ? { usageHalfLifeMs: o.usageHalfLifeMs } : {}),
    });
  }

  jobDir(uid: string, which: "output" | "checkpoints"): string {
    return this.o.isolation.jobDir(uid, which);
  }

  submit(input: SubmitInput): Promise<SubmitResult> {
    return submitJob({ store: this.o.store, secrets: this.o.secrets, secretBox: this.o.secretBox, clock: this.clock, queues: () => this.queues, nodes: () => this.capacityForAdmission(), units: this.o.executor, schedule: () => this.kick() }, input);
  }

  /** Every node, for admission; UNAVAILABLE (retryable) while the executor's inventory was never read. */
  private capacityForAdmission(): NodeInfo[] {
    if (!this.nodes.known) throw new SwitchyardError(Code.Unavailable, "the executor's node inventory has not been read yet (is its cluster reachable?): try again shortly", { retryable: true });
    return this.nodes.capacity();
  }

  /**
   * Submits `job` again from its stored spec (RerunJob): under its own name, replacing it once it has finished, or
   * under a fresh one (`generateName`). Its inline secret values are opened and sealed again for the new job.
   */
  rerun(job: JobRow, input: Omit<SubmitInput, "parsed" | "manifest" | "replace">): Promise<SubmitResult> {
    const spec = unsealJobSecrets(job.spec, job.uid, this.o.secretBox);
    const { generateName: _prefix, ...named } = spec;
    const parsed = input.generateName ? { ...spec, name: job.name } : { ...named, name: job.name };
    return this.submit({ ...input, parsed: { spec: parsed, warnings: [], source: job.source as ParsedJobManifest["source"] }, manifest: job.manifest, ...(input.generateName ? {} : { replace: "rerun" as const, replaceUid: job.uid }) });
  }

  /** Asks for a scheduling cycle soon; cycles never overlap and coalesce while one runs. */
  kick(): void {
    this.loop.kick();
  }

  cancel(uid: string): Promise<void> {
    return this.actions.cancel(uid);
  }

  /** Reconciles the database with what really runs (job-recovery.ts), then starts collecting metrics and scheduling. */
  async recover(): Promise<void> {
    await this.nodes.start();
    await recoverJobs({ store: this.o.store, executor: this.o.executor, actions: this.actions, launcher: this.launcher, clock: this.clock });
    this.metrics.start();
    this.kick();
  }

  async close(): Promise<void> {
    this.nodes.stop();
    this.loop.close();
    this.metrics.stop();
    await this.actions.close();
  }
}
