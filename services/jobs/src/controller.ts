import { Code, SwitchyardError, nameSuffix, newUid, noopLogger, systemClock, type Clock, type Logger } from "@switchyard/core";
import { findFreePort, pytorchEnv, type Executor, type GpuDevice, type ReplicaState } from "@switchyard/executors";
import { limitsOf, type NodeInfo, type PendingJob, type QueuesConfig, type ReplicaPlacement, type RunningJob, type Scheduler } from "@switchyard/scheduler";
import type { JobSpec, ParsedJobManifest } from "@switchyard/specs";
import { decideOnFailure } from "./exit-policy.js";
import { ENDED, FINAL } from "./phases.js";
import type { JobRow, JobStore, ReplicaRow } from "./job-store.js";
import type { JobIsolation, JobPlacement } from "./job-isolation.js";
import { checkSecretRefs, resolveSecretEnv, sealJobSecrets, secretEnvOf } from "./job-secrets.js";
import type { SecretBox } from "./secret-box.js";
import type { SecretStore } from "./secret-store.js";
import { MetricsCollector } from "./metrics-sink.js";
import type { MetricsStore } from "./metrics-store.js";

export interface ControllerOptions {
  store: JobStore;
  executor: Executor;
  scheduler: Scheduler;
  gpus: GpuDevice[];
  node: { name: string; cpuMilli: number; memoryMb: number };
  /** Who runs each job and where its own directory is (`<jobsDir>/<uid>/{output,checkpoints,home}`). */
  isolation: JobIsolation;
  /** Teams' secrets (job env `secretKeyRef`s) and the box that seals inline secret values at rest. */
  secrets: SecretStore;
  secretBox: SecretBox;
  /** Jobs' metric series, bounded by downsampling. */
  metricSeries: MetricsStore;
  /** SIGTERM → SIGKILL grace for cancel, deadlines and failed gangs. */
  graceMs: number;
  clock?: Clock;
  logger?: Logger;
  /** Fault injection for crash tests: the process SIGKILLs itself on reaching this named point. */
  crashAt?: string;
}

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface SubmitInput {
  /** The manifest as read (ManifestParser: parsed once, in bounded time). */
  parsed: ParsedJobManifest;
  /** The manifest text to store: inline secret values already replaced by "(secret)". */
  manifest: string;
  requestId?: string;
  generateName?: boolean;
  /** The verified user who submits (accounting); empty for internal callers. */
  user?: string;
}


/**
 * The jobs state machine: Queued → Starting → Running → Succeeded | Failed | Cancelled (with Retrying).
 * Every transition is persisted before it is acted on; `recover()` reconciles the database with what really runs.
 */
export class JobController {
  private readonly o: ControllerOptions;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly chains = new Map<string, Promise<void>>();
  private readonly watches = new Map<string, () => void>();
  private readonly deadlines = new Map<string, ReturnType<Clock["setTimeout"]>>();
  private readonly waitingReason = new Map<string, string>();
  readonly metrics: MetricsCollector;
  private cycleRunning = false;
  private reviewTimer: ReturnType<Clock["setTimeout"]> | undefined;
  private reviewAtMs = Infinity;
  /** The queues in force (newest applied configuration); the same object until the next apply. */
  queues: QueuesConfig | undefined;
  private cycleAgain = false;
  private closed = false;

  constructor(options: ControllerOptions) {
    this.o = options;
    this.clock = options.clock ?? systemClock;
    this.log = options.logger ?? noopLogger;
    this.metrics = new MetricsCollector(options.store, options.executor, this.log, options.metricSeries, (queue) => limitsOf(this.queues, queue).metricPoints);
  }

  private get store(): JobStore {
    return this.o.store;
  }

  private crashPoint(name: string): void {
    if (this.o.crashAt === name) {
      this.log.warn({ point: name }, "crash point reached: SIGKILL");
      process.kill(process.pid, "SIGKILL");
    }
  }

  /** Runs `fn` after every earlier action on the same job: one job's transitions never interleave. */
  private serial(uid: string, fn: () => Promise<void>): Promise<void> {
    const prev = this.chains.get(uid) ?? Promise.resolve();
    const next = prev.then(fn).catch((err: unknown) => this.log.error({ uid, err: String(err), stack: (err as Error).stack }, "job action failed"));
    this.chains.set(uid, next);
    void next.then(() => {
      if (this.chains.get(uid) === next) this.chains.delete(uid);
    });
    return next;
  }

  jobDir(uid: string, which: "output" | "checkpoints"): string {
    return this.o.isolation.jobDir(uid, which);
  }

  // ---- submission -------------------------------------------------------------------------------------------------

  async submit(input: SubmitInput): Promise<{ job: JobRow; warnings: string[]; replayed: boolean }> {
    if (input.requestId) {
      const seen = await this.store.byRequestId(input.requestId);
      if (seen) return { job: seen, warnings: [], replayed: true };
    }
    const parsed = input.parsed;
    const spec = parsed.spec;
    let name = spec.name;
    if (input.generateName || !name) {
      const prefix = spec.generateName ?? (name ? `${name}-` : "job-");
      name = `${prefix}${nameSuffix()}`;
    }
    const existing = await this.store.find(name, spec.team);
    if (existing.length > 0) {
      throw new SwitchyardError(
        Code.AlreadyExists,
        `job "${name}" already exists in team "${spec.team}": choose another metadata.name, delete or rename the old one, or submit with --generate-name to add a random suffix`,
      );
    }
    // With queues in force, a job must belong to one (its queue by name, or its team's): said now, not by a job that
    // waits forever.
    const queues = this.queues?.queues ?? [];
    if (queues.length > 0 && !queues.some((q) => q.name === spec.queue || q.team === spec.team)) {
      throw new SwitchyardError(Code.InvalidArgument, `spec.queue: no queue "${spec.queue}" for team "${spec.team}": the queues are ${queues.map((q) => `${q.name} (team ${q.team})`).join(", ")}`, {
        details: [{ field: "spec.queue", message: "is not a queue", expected: queues.map((q) => q.name).join(" | "), got: spec.queue, hint: "set spec.queue to one of the queues (or ask an admin to add one with `switchyard apply -f queues.yaml`)" }],
      });
    }
    const uid = newUid();
    // Secret variables: refs must name existing secrets of the job's team; inline values are sealed (bound to this job)
    // before anything is stored, and the stored manifest keeps "(secret)" in their place.
    await checkSecretRefs(spec, spec.team, this.o.secrets);
    const stored = await sealJobSecrets(spec, uid, this.o.secretBox);
    const now = this.clock.now();
    const phase = "Queued";
    const reason = spec.suspend ? "Suspended" : "Submitted";
    try {
      await this.store.db.transaction().execute(async (tx) => {
        await tx
          .insertInto("jobs")
          .values({
            uid,
            name,
            team: spec.team,
            queue: spec.queue,
            priority: spec.priority,
            phase,
            reason,
            message: spec.suspend ? "spec.suspend is true: the job waits until it is resumed" : "",
            spec: JSON.stringify(stored),
            manifest: input.manifest,
            source: parsed.source,
            request_id: input.requestId || null,
            created_at: now,
            start_time: null,
            completion_time: null,
            attempt: 0,
            cancel_requested: 0,
            deadline_exceeded: 0,
            master_port: null,
            attained_gpu_ms: 0,
            user: input.user ?? "",
            retries: 0,
            preemptions: 0,
            preemptible: 0,
            queued_at: now,
            queued_ms: 0,
          })
          .execute();
        await tx.insertInto("events").values({ job_uid: uid, time: now, type: "Queued", message: `submitted to queue ${spec.queue} (team ${spec.team}, priority ${spec.priority})`, attempt: 0, replica: -1 }).execute();
      });
    } catch (err) {
      // Two concurrent submissions of the same request id or name: the unique constraints decide.
      if (input.requestId) {
        const seen = await this.store.byRequestId(input.requestId);
        if (seen) return { job: seen, warnings: [], replayed: true };
      }
      if (String(err).includes("UNIQUE")) throw new SwitchyardError(Code.AlreadyExists, `job "${name}" already exists in team "${spec.team}"`, { cause: err });
      throw err;
    }
    if (!spec.suspend) this.kick();
    return { job: (await this.store.byUid(uid))!, warnings: parsed.warnings, replayed: false };
  }

  // ---- scheduling -------------------------------------------------------------------------------------------------

  /** Asks for a scheduling cycle soon; cycles never overlap and coalesce while one runs. */
  kick(): void {
    if (this.closed) return;
    if (this.cycleRunning) {
      this.cycleAgain = true;
      return;
    }
    this.cycleRunning = true;
    setImmediate(() => {
      void this.cycleLoop();
    });
  }

  private async cycleLoop(): Promise<void> {
    try {
      do {
        this.cycleAgain = false;
        await this.cycle();
      } while (this.cycleAgain && !this.closed);
    } catch (err) {
      this.log.error({ err: String(err), stack: (err as Error).stack }, "scheduling cycle failed");
    } finally {
      this.cycleRunning = false;
    }
  }

  private nodes(): NodeInfo[] {
    return [{ name: this.o.node.name, gpus: this.o.gpus.map((g) => ({ index: g.index, type: g.name })), cpuMilli: this.o.node.cpuMilli, memoryMb: this.o.node.memoryMb }];
  }

  private async cycle(): Promise<void> {
    const queued = await this.store.queued();
    if (queued.length === 0) return;
    const live = await this.store.liveReplicas();
    const holders = await this.store.byUids(live.map((r) => r.job_uid));
    const running = new Map<string, RunningJob>();
    for (const r of live) {
      let job = running.get(r.job_uid);
      if (!job) {
        const row = holders.get(r.job_uid);
        if (!row) continue;
        const terminating = row.phase === "Preempting" || row.phase === "Retrying" || FINAL.has(row.phase) || row.cancel_requested === 1 || row.deadline_exceeded === 1;
        job = { ...toPending(row), placement: [], startedAtMs: this.clock.now(), preemptible: row.preemptible === 1, ...(terminating ? { terminating } : {}) };
        running.set(r.job_uid, job);
      }
      // The current run started when its first replica did (attained service of earlier runs is in attainedGpuMs).
      if (r.start_time !== null) job.startedAtMs = Math.min(job.startedAtMs, r.start_time);
      job.placement.push({ node: r.node, gpuIndices: JSON.parse(r.gpus) as number[], cpuMilli: r.cpu_milli, memoryMb: r.memory_mb, ...(r.gpu_milli ? { gpuMilli: r.gpu_milli } : {}) });
    }
    const decision = this.o.scheduler.schedule({
      nowMs: this.clock.now(),
      nodes: this.nodes(),
      pending: queued.map(toPending),
      running: [...running.values()],
      // A config without queues (only defaults or teams) sets no quotas: one shared pool, as with none.
      ...(this.queues && this.queues.queues.length > 0 ? { queues: this.queues } : {}),
    });
    this.scheduleReview(decision.nextReviewAtMs);
    for (const p of decision.preempt) await this.serial(p.uid, () => this.preempt(p.uid, p.reason));
    for (const w of decision.waiting) {
      const message = /position/i.test(w.reason) ? w.reason : `${w.reason} (position ${w.position} in the queue)`;
      if (this.waitingReason.get(w.uid) === message) continue;
      this.waitingReason.set(w.uid, message);
      await this.store.updateJob(w.uid, { reason: "Waiting", message });
    }
    for (const s of decision.start) {
      this.waitingReason.delete(s.uid);
      const row = queued.find((j) => j.uid === s.uid);
      if (row) await this.serial(s.uid, () => this.place(row, s.placement, s.preemptible === true));
    }
  }

  /** Persists the placement of a new attempt, then launches its replicas. */
  private async place(row: JobRow, placement: ReplicaPlacement[], preemptible: boolean): Promise<void> {
    const fresh = await this.store.byUid(row.uid);
    if (!fresh || fresh.phase !== "Queued" || fresh.cancel_requested) return;
    const spec = JSON.parse(fresh.spec) as JobSpec;
    const attempt = fresh.attempt + 1;
    const distributed = spec.distributed !== undefined || spec.replicas > 1;
    const masterPort = distributed ? await findFreePort("127.0.0.1") : null;
    const now = this.clock.now();
    const roles = expandRoles(spec);
    await this.store.db.transaction().execute(async (tx) => {
      for (const [i, p] of placement.entries()) {
        await tx
          .insertInto("replicas")
          .values({
            run_id: `${fresh.uid}.a${attempt}.r${i}`,
            job_uid: fresh.uid,
            attempt,
            idx: i,
            role: roles[i] ?? "Worker",
            state: "Pending",
            node: p.node,
            gpus: JSON.stringify(p.gpuIndices),
            gpu_milli: p.gpuMilli ?? 0,
            cpu_milli: p.cpuMilli,
            memory_mb: p.memoryMb,
            exit_code: null,
            pid: null,
            start_time: null,
            end_time: null,
            metrics_offset: 0,
          })
          .execute();
      }
      await tx
        .updateTable("jobs")
        .set({
          phase: "Starting",
          reason: "Placed",
          message: "",
          attempt,
          master_port: masterPort,
          start_time: fresh.start_time ?? now,
          preemptible: preemptible ? 1 : 0,
          queued_ms: fresh.queued_ms + Math.max(0, now - fresh.queued_at),
        })
        .where("uid", "=", fresh.uid)
        .execute();
      const where = placement.map((p, i) => `replica ${i} on ${p.node} ${p.gpuIndices.length ? `GPUs [${p.gpuIndices.join(",")}]${p.gpuMilli ? ` (${p.gpuMilli} milli-GPU)` : ""}` : "(no GPU)"}`).join("; ");
      const note = preemptible ? " — started by backfill ahead of a blocked job: it gives way when that job can start" : "";
      await tx.insertInto("events").values({ job_uid: fresh.uid, time: now, type: "Placed", message: where + note, attempt, replica: -1 }).execute();
    });
    this.crashPoint("after-place");
    await this.launchAttempt(fresh.uid);
  }

  /** Launches every Pending replica of the job's current attempt (idempotent by run id), then marks it Running. */
  private async launchAttempt(uid: string): Promise<void> {
    const job = await this.store.byUid(uid);
    if (!job) return;
    const spec = JSON.parse(job.spec) as JobSpec;
    const replicas = await this.store.replicas(uid, job.attempt);
    let placement: JobPlacement | undefined;
    const limits = limitsOf(this.queues, job.queue);
    for (const r of replicas) {
      if (r.state !== "Pending") continue;
      const role = spec.roles?.find((x) => x.name === r.role);
      const command = [...(role?.command ?? spec.command), ...(role?.args ?? spec.args)];
      const workingDir = role?.workingDir ?? spec.workingDir;
      let state: ReplicaState;
      try {
        // The job's own directory, owned by the account that runs it (made once per attempt, idempotent).
        placement ??= this.o.isolation.prepare(job.uid, job.user, [spec.workingDir, ...(spec.roles ?? []).map((x) => x.workingDir)].filter((w): w is string => w !== undefined));
        const secretVars = await resolveSecretEnv(secretEnvOf(spec, r.role), job.team, job.uid, this.o.secrets, this.o.secretBox);
        const env = this.replicaEnv(job, spec, r, replicas.length, placement.env, secretVars);
        const h = await this.o.executor.launch({
          runId: r.run_id,
          command,
          env,
          gpuIndices: JSON.parse(r.gpus) as number[],
          workingDir: workingDir ?? placement.jobDir,
          visiblePaths: placement.visiblePaths,
          // Enforced by the writer between the replica and its log, also while this service is down.
          logLimits: { headBytes: limits.logHeadBytes, tailBytes: limits.logTailBytes },
          ...(placement.runAs ? { runAs: placement.runAs } : {}),
        });
        state = h.state;
      } catch (err) {
        const e = SwitchyardError.from(err);
        await this.store.updateReplica(r.run_id, { state: "Failed", exit_code: null, end_time: this.clock.now() });
        await this.store.event(uid, "FailedToStart", `replica ${r.idx}: ${e.message}`, job.attempt, r.idx);
        await this.evaluate(uid);
        return;
      }
      if (state.kind === "running") {
        await this.store.updateReplica(r.run_id, { state: "Running", pid: state.shimPid, start_time: state.startedAtMs });
      }
      this.crashPoint("after-launch-replica");
      this.watch(uid, r.run_id);
    }
    const now = await this.store.byUid(uid);
    if (now && now.phase === "Starting") {
      await this.store.updateJob(uid, { phase: "Running", reason: "Started", message: "" });
      await this.store.event(uid, "Started", `${replicas.length} replica(s) started (attempt ${job.attempt})`, job.attempt);
    }
    this.armDeadline(job, spec);
    this.crashPoint("after-running");
  }

  /** A replica's environment (never logged: it holds the secret variables' plaintext). */
  private replicaEnv(job: JobRow, spec: JobSpec, r: ReplicaRow, replicas: number, base: Record<string, string>, secretVars: Record<string, string>): Record<string, string> {
    const role = spec.roles?.find((x) => x.name === r.role);
    const env: Record<string, string> = {
      ...base,
      ...(role?.env ?? spec.env),
      ...secretVars,
      SWITCHYARD_JOB_NAME: job.name,
      SWITCHYARD_JOB_UID: job.uid,
      SWITCHYARD_TEAM: job.team,
      SWITCHYARD_REPLICA_INDEX: String(r.idx),
      SWITCHYARD_ATTEMPT: String(job.attempt),
      SWITCHYARD_OUTPUT_DIR: this.jobDir(job.uid, "output"),
      SWITCHYARD_CHECKPOINT_DIR: this.jobDir(job.uid, "checkpoints"),
    };
    if (job.master_port !== null) {
      Object.assign(env, pytorchEnv({ replicaIndex: r.idx, replicas, nprocPerNode: spec.distributed?.nprocPerNode ?? 1, masterAddr: "127.0.0.1", masterPort: job.master_port }));
    }
    return env;
  }

  // ---- replica exits, retries, cancel, deadlines ------------------------------------------------------------------

  private watch(uid: string, runId: string): void {
    if (this.watches.has(runId) || this.closed) return;
    const stop = this.o.executor.watch(runId, (state) => {
      this.watches.delete(runId);
      void this.serial(uid, () => this.onReplicaEnded(uid, runId, state));
    });
    this.watches.set(runId, stop);
  }

  private async onReplicaEnded(uid: string, runId: string, state: ReplicaState, recovered = false): Promise<void> {
    const job = await this.store.byUid(uid);
    if (!job) return;
    const r = await this.store.replica(runId);
    if (!r || ENDED.has(r.state)) return;
    await this.metrics.collect(r, true);
    const stopping = job.cancel_requested || job.deadline_exceeded || job.phase === "Retrying" || job.phase === "Preempting" || FINAL.has(job.phase);
    let next: string;
    let exitCode: number | null = null;
    let msg: string;
    if (state.kind === "exited") {
      exitCode = state.exitCode;
      next = exitCode === 0 ? "Succeeded" : stopping ? "Terminated" : "Failed";
      msg = `replica ${r.idx} exited with code ${exitCode}${state.signal ? ` (${state.signal})` : ""}`;
    } else if (state.kind === "lost") {
      next = stopping ? "Terminated" : "Lost";
      msg = `replica ${r.idx} was lost: ${state.reason}`;
    } else return;
    await this.store.updateReplica(runId, {
      state: next,
      exit_code: exitCode,
      end_time: state.kind === "exited" ? state.endedAtMs : this.clock.now(),
      ...(state.kind === "exited" && r.start_time === null ? { start_time: state.startedAtMs } : {}),
    });
    await this.store.event(uid, "Exited", recovered ? `${msg} (while the jobs service was down)` : msg, r.attempt, r.idx);
    this.crashPoint("after-exit-recorded");
    await this.evaluate(uid);
    this.kick();
  }

  /** Decides what the job's replicas' states mean: success, failure, retry, or the end of a cancel or deadline. */
  private async evaluate(uid: string): Promise<void> {
    const job = await this.store.byUid(uid);
    if (!job) return;
    const spec = JSON.parse(job.spec) as JobSpec;
    const reps = await this.store.replicas(uid, job.attempt);
    const allEnded = reps.length > 0 && reps.every((r) => ENDED.has(r.state));
    const now = this.clock.now();
    if (FINAL.has(job.phase)) {
      if (!allEnded) this.terminateAll(uid, reps);
      return;
    }
    if (job.cancel_requested || job.deadline_exceeded) {
      if (!allEnded && reps.length > 0) return this.terminateAll(uid, reps);
      const [phase, reason, message] = job.cancel_requested
        ? ["Cancelled", "Cancelled", "cancelled by request"]
        : ["Failed", "DeadlineExceeded", `activeDeadlineSeconds ${spec.activeDeadlineSeconds ?? "?"} passed`];
      await this.finish(job, phase, reason, message, reps);
      return;
    }
    if (job.phase === "Preempting") {
      if (!allEnded) return this.terminateAll(uid, reps);
      await this.store.updateJob(uid, {
        phase: "Queued",
        reason: "Preempted",
        message: `preempted (${job.message}); back in queue ${job.queue}, it restarts with its checkpoint directory`,
        attained_gpu_ms: job.attained_gpu_ms + gpuMs(reps, now),
        queued_at: now,
        preemptible: 0,
      });
      await this.store.event(uid, "Requeued", `all replicas stopped; attempt ${job.attempt + 1} queued`, job.attempt);
      this.kick();
      return;
    }
    if (job.phase === "Retrying") {
      if (!allEnded) return this.terminateAll(uid, reps);
      await this.store.updateJob(uid, {
        phase: "Queued",
        reason: "Retrying",
        message: `attempt ${job.attempt} failed; waiting to start attempt ${job.attempt + 1}`,
        attained_gpu_ms: job.attained_gpu_ms + gpuMs(reps, now),
        queued_at: now,
        preemptible: 0,
      });
      await this.store.event(uid, "Retrying", `attempt ${job.attempt + 1} queued`, job.attempt);
      this.kick();
      return;
    }
    const failed = reps.find((r) => r.state === "Failed" || r.state === "Lost");
    if (failed) {
      const d = decideOnFailure(spec.restartPolicy, failed.exit_code, job.retries, spec.backoffLimit);
      if (d.retry) {
        await this.store.updateJob(uid, { phase: "Retrying", reason: "ReplicaFailed", retries: job.retries + 1, message: `replica ${failed.idx} failed (exit code ${failed.exit_code ?? "unknown"}); ${d.reason}` });
        await this.store.event(uid, "Restarting", `replica ${failed.idx} failed; ${d.reason}`, job.attempt);
        return this.evaluate(uid);
      }
      await this.finish(job, "Failed", failed.state === "Lost" ? "ReplicaLost" : "ReplicaFailed", `replica ${failed.idx} failed with exit code ${failed.exit_code ?? "unknown"}: ${d.reason}`, reps);
      return;
    }
    const masterRole = spec.roles?.[0]?.name === "Master";
    const succeeded = masterRole ? reps[0]?.state === "Succeeded" : allEnded && reps.every((r) => r.state === "Succeeded");
    if (succeeded) await this.finish(job, "Succeeded", "Completed", `all replicas succeeded (attempt ${job.attempt})`, reps);
  }

  private async finish(job: JobRow, phase: string, reason: string, message: string, reps: ReplicaRow[]): Promise<void> {
    const now = this.clock.now();
    await this.store.updateJob(job.uid, { phase, reason, message, completion_time: now, attained_gpu_ms: job.attained_gpu_ms + gpuMs(reps, now) });
    await this.store.event(job.uid, phase, message, job.attempt);
    this.disarmDeadline(job.uid);
    if (!reps.every((r) => ENDED.has(r.state))) this.terminateAll(job.uid, reps);
    this.kick();
  }

  private terminateAll(uid: string, reps: ReplicaRow[]): void {
    for (const r of reps) {
      if (ENDED.has(r.state)) continue;
      if (r.state === "Pending" && !this.watches.has(r.run_id)) {
        // Placed but never launched: nothing to stop.
        void this.serial(uid, async () => {
          const state = await this.o.executor.inspect(r.run_id);
          if (state.kind === "absent") {
            await this.store.updateReplica(r.run_id, { state: "Terminated", end_time: this.clock.now() });
            await this.evaluate(uid);
          } else this.watch(uid, r.run_id);
        });
        continue;
      }
      this.watch(uid, r.run_id);
      void this.o.executor.terminate(r.run_id, this.o.graceMs).catch((err: unknown) => this.log.warn({ runId: r.run_id, err: String(err) }, "terminate failed"));
    }
  }

  /** Stops a running job to make room (the scheduler decided it); it returns to its queue when its replicas are gone. */
  private async preempt(uid: string, reason: string): Promise<void> {
    const job = await this.store.byUid(uid);
    if (!job || (job.phase !== "Running" && job.phase !== "Starting") || job.cancel_requested || job.deadline_exceeded) return;
    await this.store.updateJob(uid, { phase: "Preempting", reason: "Preempted", message: reason, preemptions: job.preemptions + 1 });
    await this.store.event(uid, "Preempted", `${reason}; SIGTERM, then SIGKILL after ${this.o.graceMs} ms; $SWITCHYARD_CHECKPOINT_DIR is kept`, job.attempt);
    this.crashPoint("after-preempt-recorded");
    await this.evaluate(uid);
  }

  /** Runs a cycle when the scheduler says its decision may change with no event (LAS levels, minimum run time). */
  private scheduleReview(atMs: number | undefined): void {
    if (atMs === undefined || !Number.isFinite(atMs) || atMs >= this.reviewAtMs) return;
    if (this.reviewTimer) this.clock.clearTimeout(this.reviewTimer);
    this.reviewAtMs = atMs;
    this.reviewTimer = this.clock.setTimeout(() => {
      this.reviewTimer = undefined;
      this.reviewAtMs = Infinity;
      this.kick();
    }, Math.min(MAX_TIMER_MS, Math.max(0, atMs - this.clock.now())));
  }

  async cancel(uid: string): Promise<void> {
    await this.serial(uid, async () => {
      const job = await this.store.byUid(uid);
      if (!job || FINAL.has(job.phase) || job.cancel_requested) return;
      await this.store.updateJob(uid, { cancel_requested: 1, reason: "Cancelling", message: "stopping every replica" });
      await this.store.event(uid, "Cancelling", "cancel requested", job.attempt);
      if (job.phase === "Queued") {
        await this.finish({ ...job, cancel_requested: 1 }, "Cancelled", "Cancelled", "cancelled while queued", []);
        return;
      }
      await this.evaluate(uid);
    });
  }

  private armDeadline(job: JobRow, spec: JobSpec): void {
    if (!spec.activeDeadlineSeconds || this.deadlines.has(job.uid) || FINAL.has(job.phase)) return;
    const at = (job.start_time ?? this.clock.now()) + spec.activeDeadlineSeconds * 1000;
    // Timers take at most 2^31 − 1 ms (~24.8 days; a longer one fires at once): a far deadline is re-armed on the way.
    const wait = at - this.clock.now();
    if (wait > MAX_TIMER_MS) {
      this.deadlines.set(job.uid, this.clock.setTimeout(() => (this.deadlines.delete(job.uid), this.armDeadline(job, spec)), MAX_TIMER_MS));
      return;
    }
    const t = this.clock.setTimeout(() => {
      this.deadlines.delete(job.uid);
      void this.serial(job.uid, async () => {
        const now = await this.store.byUid(job.uid);
        if (!now || FINAL.has(now.phase) || now.deadline_exceeded) return;
        await this.store.updateJob(job.uid, { deadline_exceeded: 1, reason: "DeadlineExceeded", message: `activeDeadlineSeconds ${spec.activeDeadlineSeconds} passed; stopping` });
        await this.store.event(job.uid, "DeadlineExceeded", `activeDeadlineSeconds ${spec.activeDeadlineSeconds} passed`, now.attempt);
        if (now.phase === "Queued") return this.finish({ ...now, deadline_exceeded: 1 }, "Failed", "DeadlineExceeded", `activeDeadlineSeconds ${spec.activeDeadlineSeconds} passed`, []);
        await this.evaluate(job.uid);
      });
    }, Math.max(0, at - this.clock.now()));
    this.deadlines.set(job.uid, t);
  }

  private disarmDeadline(uid: string): void {
    const t = this.deadlines.get(uid);
    if (t) this.clock.clearTimeout(t);
    this.deadlines.delete(uid);
  }

  // ---- restart ----------------------------------------------------------------------------------------------------

  /** Reconciles the database with what really runs: re-adopts live replicas, records exits that happened meanwhile. */
  async recover(): Promise<void> {
    for (const job of await this.store.unfinished()) {
      await this.serial(job.uid, async () => {
        const spec = JSON.parse(job.spec) as JobSpec;
        const reps = await this.store.replicas(job.uid, job.attempt);
        let launchNeeded = false;
        for (const r of reps) {
          if (ENDED.has(r.state)) continue;
          const state = await this.o.executor.inspect(r.run_id);
          if (state.kind === "running") {
            if (r.state === "Pending") await this.store.updateReplica(r.run_id, { state: "Running", pid: state.shimPid, start_time: state.startedAtMs });
            this.watch(job.uid, r.run_id);
          } else if (state.kind === "exited" || state.kind === "lost") {
            await this.onReplicaEnded(job.uid, r.run_id, state, true);
          } else {
            launchNeeded = true;
          }
        }
        const now = (await this.store.byUid(job.uid))!;
        if (launchNeeded && (now.phase === "Starting" || now.phase === "Running") && !now.cancel_requested && !now.deadline_exceeded) {
          await this.store.event(job.uid, "Recovered", "launching replicas that had not started before the restart", now.attempt);
          await this.launchAttempt(job.uid);
        } else {
          if (now.phase === "Starting" && reps.every((r) => r.state !== "Pending")) {
            await this.store.updateJob(job.uid, { phase: "Running", reason: "Started" });
          }
          if (!FINAL.has(now.phase)) this.armDeadline(now, spec);
          await this.evaluate(job.uid);
        }
      });
    }
    this.metrics.start();
    this.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const stop of this.watches.values()) stop();
    this.watches.clear();
    for (const uid of [...this.deadlines.keys()]) this.disarmDeadline(uid);
    if (this.reviewTimer) this.clock.clearTimeout(this.reviewTimer);
    this.metrics.stop();
    await Promise.all([...this.chains.values()]);
  }
}


function toPending(row: JobRow): PendingJob {
  const spec = JSON.parse(row.spec) as JobSpec;
  const roles = spec.roles && spec.roles.length > 0 ? spec.roles.flatMap((r) => Array.from({ length: r.replicas }, () => r.resources)) : Array.from({ length: spec.replicas }, () => spec.resources);
  return {
    uid: row.uid,
    name: row.name,
    team: row.team,
    queue: row.queue,
    priority: row.priority,
    submittedAtMs: row.created_at,
    seq: row.seq,
    attainedGpuMs: row.attained_gpu_ms,
    queuedAtMs: row.queued_at,
    ...(row.user ? { user: row.user } : {}),
    replicas: roles.map((res) => ({ gpus: res.gpus, cpuMilli: res.cpuMilli, memoryMb: res.memoryMb, ...(res.gpuMilli ? { gpuMilli: res.gpuMilli } : {}), ...(res.gpuType ? { gpuType: res.gpuType } : {}) })),
  };
}

function expandRoles(spec: JobSpec): string[] {
  if (!spec.roles || spec.roles.length === 0) return Array.from({ length: spec.replicas }, (_, i) => (i === 0 && spec.replicas > 1 ? "Master" : "Worker"));
  return spec.roles.flatMap((r) => Array.from({ length: r.replicas }, () => r.name));
}

function gpuMs(reps: ReplicaRow[], now: number): number {
  let total = 0;
  for (const r of reps) {
    const gpus = (JSON.parse(r.gpus) as number[]).length;
    if (gpus === 0 || r.start_time === null) continue;
    total += gpus * ((r.end_time ?? now) - r.start_time) * (r.gpu_milli ? r.gpu_milli / 1000 : 1);
  }
  return total;
}
