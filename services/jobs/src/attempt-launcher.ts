/**
 * Starts an attempt: its placement is committed first (replica rows with their GPUs, state Pending — job-state.ts
 * `place`), then each replica is launched through the executor as the job's account, in its own directory, with its
 * environment (the spec's, the secrets opened for this launch only, the platform's SWITCHYARD_* variables and the
 * PyTorch rendezvous of a gang) and its queue's log limits. Launches are idempotent by run id, so recovery launches
 * again whatever it is unsure about.
 */
import { SwitchyardError, type Clock } from "@switchyard/core";
import { findFreePort, pytorchEnv, type Executor, type ReplicaState } from "@switchyard/executors";
import { limitsOf, type QueuesConfig, type ReplicaPlacement } from "@switchyard/scheduler";
import type { JobActions } from "./job-actions.js";
import type { JobIsolation, JobPlacement } from "./job-isolation.js";
import type { JobRow, ReplicaRow } from "./job-rows.js";
import { resolveSecretEnv, secretEnvOf } from "./job-secrets.js";
import { replicaTransition, transition } from "./job-state.js";
import type { JobStore } from "./job-store.js";
import type { SecretBox } from "./secret-box.js";
import type { SecretStore } from "./secret-store.js";

export interface AttemptLauncherOptions {
  store: JobStore;
  executor: Executor;
  isolation: JobIsolation;
  secrets: SecretStore;
  secretBox: SecretBox;
  clock: Clock;
  /** The queues in force (log limits per queue). */
  queues: () => QueuesConfig | undefined;
  actions: JobActions;
}

export class AttemptLauncher {
  constructor(private readonly o: AttemptLauncherOptions) {}

  /** Persists the placement of the job's next attempt, then launches its replicas (call inside the job's `serial`). */
  async place(uid: string, placement: readonly ReplicaPlacement[], preemptible: boolean): Promise<void> {
    const job = await this.o.store.byUid(uid);
    if (!job) return;
    // Asked first without a port: a job that may not be placed (no longer Queued, cancelled) takes no port either.
    if (!transition(job, { type: "place", placement, masterPort: null, preemptible, now: 0 }).ok) return;
    const distributed = job.spec.distributed !== undefined || job.spec.replicas > 1;
    const masterPort = distributed ? await findFreePort("127.0.0.1") : null;
    await this.o.actions.apply(job, transition(job, { type: "place", placement, masterPort, preemptible, now: this.o.clock.now() }), { crashPoint: "after-place" });
  }

  /** Launches every Pending replica of the job's current attempt (idempotent by run id), then marks it Running. */
  async launchAttempt(uid: string): Promise<void> {
    const { store, actions } = this.o;
    const job = await store.byUid(uid);
    if (!job) return;
    const spec = job.spec;
    const replicas = await store.replicas(uid, job.attempt);
    let placement: JobPlacement | undefined;
    const limits = limitsOf(this.o.queues(), job.queue);
    // The engine's own time limit, a backstop behind the job's deadline timer (job-deadlines.ts), which fires first and
    // stops the job with its grace: what is left of activeDeadlineSeconds since the first start, and a minute more.
    const deadline = spec.activeDeadlineSeconds;
    const startedAt = job.start_time ?? this.o.clock.now();
    const timeLimit = deadline === undefined ? undefined : Math.max(60, Math.ceil(deadline - (this.o.clock.now() - startedAt) / 1000) + 60);
    for (const r of replicas) {
      if (r.state !== "Pending") continue;
      const role = spec.roles?.find((x) => x.name === r.role);
      const command = [...(role?.command ?? spec.command), ...(role?.args ?? spec.args)];
      const workingDir = role?.workingDir ?? spec.workingDir;
      let state: ReplicaState;
      try {
        // The job's own directory, owned by the account that runs it (made once per attempt, idempotent).
        placement ??= this.o.isolation.prepareJob(job.uid, job.user, [spec.workingDir, ...(spec.roles ?? []).map((x) => x.workingDir)].filter((w): w is string => w !== undefined));
        const secretVars = await resolveSecretEnv(secretEnvOf(spec, r.role), job.team, job.uid, this.o.secrets, this.o.secretBox);
        const env = this.replicaEnv(job, r, replicas.length, placement.env, secretVars);
        const h = await this.o.executor.launch({
          runId: r.run_id,
          command,
          env,
          gpuIndices: r.gpus,
          // Where the scheduler placed it and what it holds there: an engine that runs elsewhere (Slurm) pins the
          // allocation to exactly that; the local engine is the one node already.
          node: r.node,
          cpuMilli: r.cpu_milli,
          memoryMb: r.memory_mb,
          // A gang's replicas start together as one allocation where the engine has allocations (Slurm).
          gang: { id: `${job.uid}.a${job.attempt}`, size: replicas.length, index: r.idx },
          ...(timeLimit !== undefined ? { timeLimitSeconds: timeLimit } : {}),
          workingDir: workingDir ?? placement.jobDir,
          visiblePaths: placement.visiblePaths,
          // Enforced by the writer between the replica and its log, also while this service is down.
          logLimits: { headBytes: limits.logHeadBytes, tailBytes: limits.logTailBytes },
          ...(placement.runAs ? { runAs: placement.runAs } : {}),
        });
        state = h.state;
      } catch (err) {
        const e = SwitchyardError.from(err);
        await actions.apply(job, replicaTransition(job, r, { type: "failedToStart", message: e.message, now: this.o.clock.now() }));
        return;
      }
      if (state.kind === "running") await actions.apply(job, replicaTransition(job, r, { type: "launched", pid: state.shimPid, startedAtMs: state.startedAtMs }));
      actions.crashPoint("after-launch-replica");
      actions.watch(uid, r.run_id);
    }
    const now = await store.byUid(uid);
    if (now) await actions.apply(now, transition(now, { type: "started", replicas: replicas.length }));
    actions.crashPoint("after-running");
  }

  /** A replica's environment (never logged: it holds the secret variables' plaintext). */
  private replicaEnv(job: JobRow, r: ReplicaRow, replicas: number, base: Record<string, string>, secretVars: Record<string, string>): Record<string, string> {
    const spec = job.spec;
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
      SWITCHYARD_OUTPUT_DIR: this.o.isolation.jobDir(job.uid, "output"),
      SWITCHYARD_CHECKPOINT_DIR: this.o.isolation.jobDir(job.uid, "checkpoints"),
    };
    if (job.master_port !== null) {
      Object.assign(env, pytorchEnv({ replicaIndex: r.idx, replicas, nprocPerNode: spec.distributed?.nprocPerNode ?? 1, masterAddr: "127.0.0.1", masterPort: job.master_port }));
    }
    return env;
  }
}
