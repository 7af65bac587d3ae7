/**
 * The job state machine, pure: given a job (and its replicas) and what happened, `transition` says what to store and
 * what to do next — never does either. The caller (job-actions.ts) stores the write in one transaction, then carries
 * out the effects in order: every transition is persisted before it is acted on.
 *
 *   Queued ──place──▶ Starting ──started──▶ Running ──evaluate──▶ Succeeded | Failed
 *     │                  │                     │
 *     │                  └────────┬────────────┤ preempt ▶ Preempting ─┐ all replicas gone
 *     │                           │            │ failure ▶ Retrying ───┴──────────────────▶ Queued (next attempt)
 *     └─ cancel / deadline ──▶ Cancelled | Failed   (elsewhere: flagged first, final once every replica is gone)
 *
 * Replicas have their own small machine (`replicaTransition`): Pending → Running → Succeeded | Failed | Terminated |
 * Lost. Both are tested exhaustively in job-state.test.ts, allowed and refused transitions alike.
 */
import type { ReplicaState } from "@switchyard/executors";
import type { ReplicaPlacement } from "@switchyard/scheduler";
import type { JobSpec } from "@switchyard/specs";
import { decideOnFailure } from "./exit-policy.js";
import type { JobEventRecord, JobPatch, JobRow, JobWrite, NewReplica, ReplicaRow } from "./job-rows.js";
import { isEnded, isFinal, type JobPhase, type ReplicaStateName } from "./phases.js";

/** The phase changes a transition may make; staying in a phase (flags, reasons, bookkeeping) is not listed. */
export const JOB_TRANSITIONS: Readonly<Record<JobPhase, readonly JobPhase[]>> = {
  Queued: ["Starting", "Cancelled", "Failed"],
  Starting: ["Running", "Retrying", "Preempting", "Succeeded", "Failed", "Cancelled"],
  Running: ["Retrying", "Preempting", "Succeeded", "Failed", "Cancelled"],
  Retrying: ["Queued", "Failed", "Cancelled"],
  Preempting: ["Queued", "Failed", "Cancelled"],
  Succeeded: [],
  Failed: [],
  Cancelled: [],
};

export const REPLICA_TRANSITIONS: Readonly<Record<ReplicaStateName, readonly ReplicaStateName[]>> = {
  Pending: ["Running", "Succeeded", "Failed", "Terminated", "Lost"],
  Running: ["Succeeded", "Failed", "Terminated", "Lost"],
  Succeeded: [],
  Failed: [],
  Terminated: [],
  Lost: [],
};

/** What happened to a job. */
export type JobInput =
  /** The scheduler placed the next attempt (`masterPort`: the rendezvous port of a distributed job). */
  | { type: "place"; placement: readonly ReplicaPlacement[]; masterPort: number | null; preemptible: boolean; now: number }
  /** Every replica of the attempt was launched. */
  | { type: "started"; replicas: number }
  /** Recovery found every replica of a Starting attempt launched (no event: the launch already logged). */
  | { type: "adopted" }
  /** The scheduler preempts the job to make room. */
  | { type: "preempt"; reason: string; graceMs: number }
  | { type: "cancel"; now: number }
  /** activeDeadlineSeconds passed. */
  | { type: "deadline"; now: number }
  /** Decide what the current attempt's replicas' states mean. */
  | { type: "evaluate"; replicas: readonly ReplicaRow[]; now: number };

/** What happened to one replica. */
export type ReplicaInput =
  | { type: "launched"; pid: number | null; startedAtMs: number }
  | { type: "failedToStart"; message: string; now: number }
  /** Placed, never launched, and no longer wanted. */
  | { type: "neverLaunched"; now: number }
  | { type: "ended"; state: Extract<ReplicaState, { kind: "exited" | "lost" }>; recovered: boolean; now: number };

/** What to do once the write is stored, in order. */
export type JobEffect =
  /** Launch the attempt's Pending replicas. */
  | { kind: "launch" }
  | { kind: "armDeadline" }
  | { kind: "disarmDeadline" }
  /** Stop these replicas (SIGTERM, grace, SIGKILL; a Pending one never launched is marked Terminated instead). */
  | { kind: "terminate"; replicas: readonly ReplicaRow[] }
  /** Evaluate the job again (reading what was just stored). */
  | { kind: "evaluate" }
  /** Run a scheduling cycle: resources were freed or a job was queued. */
  | { kind: "schedule" };

export type Transition<S extends string = JobPhase> =
  | { ok: true; from: S; to: S; write: JobWrite; effects: JobEffect[] }
  | { ok: false; from: S; refused: string };

const stay = (phase: JobPhase, write: JobWrite = {}, effects: JobEffect[] = []): Transition => ({ ok: true, from: phase, to: phase, write, effects });
const refuse = <S extends string>(from: S, why: string): Transition<S> => ({ ok: false, from, refused: why });

export function transition(job: JobRow, input: JobInput): Transition {
  const from = job.phase;
  switch (input.type) {
    case "place":
      if (from !== "Queued") return refuse(from, `only a Queued job is placed (it is ${from})`);
      if (job.cancel_requested) return refuse(from, "a cancel was asked");
      return place(job, input);
    case "started":
      if (from === "Running") return stay(from, {}, [{ kind: "armDeadline" }]);
      if (from !== "Starting") return refuse(from, `only a Starting attempt starts (it is ${from})`);
      return moved(job, "Running", {
        job: { phase: "Running", reason: "Started", message: "" },
        events: [{ type: "Started", message: `${input.replicas} replica(s) started (attempt ${job.attempt})`, attempt: job.attempt }],
      }, [{ kind: "armDeadline" }]);
    case "adopted":
      if (from !== "Starting") return refuse(from, `only a Starting attempt is adopted (it is ${from})`);
      return moved(job, "Running", { job: { phase: "Running", reason: "Started" } }, []);
    case "preempt":
      if (from !== "Running" && from !== "Starting") return refuse(from, `only a Starting or Running job is preempted (it is ${from})`);
      if (job.cancel_requested || job.deadline_exceeded) return refuse(from, "it is already stopping (cancel or deadline)");
      return moved(job, "Preempting", {
        job: { phase: "Preempting", reason: "Preempted", message: input.reason, preemptions: job.preemptions + 1 },
        events: [{ type: "Preempted", message: `${input.reason}; SIGTERM, then SIGKILL after ${input.graceMs} ms; $SWITCHYARD_CHECKPOINT_DIR is kept`, attempt: job.attempt }],
      }, [{ kind: "evaluate" }]);
    case "cancel": {
      if (isFinal(from)) return refuse(from, `the job already ended (${from})`);
      if (job.cancel_requested) return stay(from);
      const flag: JobWrite = { job: { cancel_requested: 1, reason: "Cancelling", message: "stopping every replica" }, events: [{ type: "Cancelling", message: "cancel requested", attempt: job.attempt }] };
      if (from === "Queued") return merge(flag, finish({ ...job, cancel_requested: 1 }, "Cancelled", "Cancelled", "cancelled while queued", [], input.now));
      return stay(from, flag, [{ kind: "evaluate" }]);
    }
    case "deadline": {
      if (isFinal(from)) return refuse(from, `the job already ended (${from})`);
      if (job.deadline_exceeded) return stay(from);
      const seconds = job.spec.activeDeadlineSeconds;
      const flag: JobWrite = {
        job: { deadline_exceeded: 1, reason: "DeadlineExceeded", message: `activeDeadlineSeconds ${seconds} passed; stopping` },
        events: [{ type: "DeadlineExceeded", message: `activeDeadlineSeconds ${seconds} passed`, attempt: job.attempt }],
      };
      if (from === "Queued") return merge(flag, finish({ ...job, deadline_exceeded: 1 }, "Failed", "DeadlineExceeded", `activeDeadlineSeconds ${seconds} passed`, [], input.now));
      return stay(from, flag, [{ kind: "evaluate" }]);
    }
    case "evaluate":
      return evaluate(job, input.replicas, input.now);
  }
}

/** What the current attempt's replicas mean: success, failure, a retry, or the end of a cancel, deadline or preemption. */
function evaluate(job: JobRow, reps: readonly ReplicaRow[], now: number): Transition {
  const from = job.phase;
  const spec = job.spec;
  const allEnded = reps.length > 0 && reps.every((r) => isEnded(r.state));
  const stopLive = (): Transition => stay(from, {}, terminate(reps));
  if (isFinal(from)) return allEnded ? settled(job, reps) : stopLive();
  // A Queued job's replicas are its previous attempt's, whose outcome was decided and whose GPU time was counted
  // when it was requeued: only a stop asked meanwhile ends it.
  const counted = from === "Queued" ? [] : reps;
  if (job.cancel_requested || job.deadline_exceeded) {
    if (!allEnded && counted.length > 0) return stopLive();
    return job.cancel_requested
      ? finish(job, "Cancelled", "Cancelled", "cancelled by request", counted, now)
      : finish(job, "Failed", "DeadlineExceeded", `activeDeadlineSeconds ${spec.activeDeadlineSeconds ?? "?"} passed`, counted, now);
  }
  if (from === "Queued") return stay(from);
  if (from === "Preempting" || from === "Retrying") {
    if (!allEnded) return stopLive();
    const requeue: JobPatch = { phase: "Queued", attained_gpu_ms: job.attained_gpu_ms + gpuMs(reps, now), queued_at: now, preemptible: 0 };
    const write: JobWrite =
      from === "Preempting"
        ? {
            job: { ...requeue, reason: "Preempted", message: `preempted (${job.message}); back in queue ${job.queue}, it restarts with its checkpoint directory` },
            events: [{ type: "Requeued", message: `all replicas stopped; attempt ${job.attempt + 1} queued`, attempt: job.attempt }],
          }
        : {
            job: { ...requeue, reason: "Retrying", message: `attempt ${job.attempt} failed; waiting to start attempt ${job.attempt + 1}` },
            events: [{ type: "Retrying", message: `attempt ${job.attempt + 1} queued`, attempt: job.attempt }],
          };
    return moved(job, "Queued", write, [{ kind: "schedule" }]);
  }
  const failed = reps.find((r) => r.state === "Failed" || r.state === "Lost");
  if (failed) {
    const d = decideOnFailure(spec.restartPolicy, failed.exit_code, job.retries, spec.backoffLimit);
    if (d.retry) {
      return moved(job, "Retrying", {
        job: { phase: "Retrying", reason: "ReplicaFailed", retries: job.retries + 1, message: `replica ${failed.idx} failed (exit code ${failed.exit_code ?? "unknown"}); ${d.reason}` },
        events: [{ type: "Restarting", message: `replica ${failed.idx} failed; ${d.reason}`, attempt: job.attempt }],
      }, [{ kind: "evaluate" }]);
    }
    return finish(job, "Failed", failed.state === "Lost" ? "ReplicaLost" : "ReplicaFailed", `replica ${failed.idx} failed with exit code ${failed.exit_code ?? "unknown"}: ${d.reason}`, reps, now);
  }
  const succeeded = masterDecides(spec) ? reps[0]?.state === "Succeeded" : allEnded && reps.every((r) => r.state === "Succeeded");
  if (succeeded) return finish(job, "Succeeded", "Completed", successMessage(job.attempt, reps), reps, now);
  return stay(from);
}

/**
 * Kubeflow's default success policy for a job with a Master role: the job succeeds when the Master does, and the
 * replicas still running then are stopped. Without one, every replica must succeed.
 */
function masterDecides(spec: JobSpec): boolean {
  return spec.roles?.[0]?.name === "Master";
}

/**
 * What a success says. Replicas the Master's success left running are stopped by us (their exits are then recorded as
 * Terminated, not Failed) and said to have been: "Master succeeded (attempt 1); 3 Worker replicas were still running
 * and are being stopped", then, once they are gone, "… and were stopped (exit 143)".
 */
export function successMessage(attempt: number, reps: readonly ReplicaRow[]): string {
  const left = reps.filter((r) => r.idx !== 0 && r.state !== "Succeeded");
  if (left.length === 0) return `all replicas succeeded (attempt ${attempt})`;
  const roles = new Map<string, number>();
  for (const r of left) roles.set(r.role, (roles.get(r.role) ?? 0) + 1);
  const who = [...roles].map(([role, n]) => `${n} ${role} replica${n === 1 ? "" : "s"}`).join(" and ");
  const were = left.length === 1 ? "was" : "were";
  if (left.some((r) => !isEnded(r.state))) return `Master succeeded (attempt ${attempt}); ${who} ${were} still running and ${left.length === 1 ? "is" : "are"} being stopped`;
  const codes = [...new Set(left.flatMap((r) => (r.exit_code === null ? [] : [r.exit_code])))].sort((a, b) => a - b);
  const without = left.filter((r) => r.exit_code === null).length;
  const how = [...(codes.length > 0 ? [`exit ${codes.join(", ")}`] : []), ...(without > 0 ? [`${without} without an exit code`] : [])].join("; ");
  return `Master succeeded (attempt ${attempt}); ${who} ${were} still running and ${were} stopped (${how})`;
}

/**
 * A final job whose replicas are all gone. A success under the Master's policy says how the replicas it stopped ended,
 * once they have (the message written at the success could only say they were being stopped).
 */
function settled(job: JobRow, reps: readonly ReplicaRow[]): Transition {
  if (job.phase !== "Succeeded" || job.reason !== "Completed" || !masterDecides(job.spec)) return stay(job.phase);
  const message = successMessage(job.attempt, reps);
  return message === job.message ? stay(job.phase) : stay(job.phase, { job: { message } });
}

function finish(job: JobRow, phase: "Succeeded" | "Failed" | "Cancelled", reason: string, message: string, reps: readonly ReplicaRow[], now: number): Transition {
  const effects: JobEffect[] = [{ kind: "disarmDeadline" }, ...terminate(reps), { kind: "schedule" }];
  return moved(job, phase, {
    job: { phase, reason, message, completion_time: now, attained_gpu_ms: job.attained_gpu_ms + gpuMs(reps, now) },
    events: [{ type: phase, message, attempt: job.attempt }],
  }, effects);
}

function place(job: JobRow, input: Extract<JobInput, { type: "place" }>): Transition {
  const attempt = job.attempt + 1;
  const roles = expandRoles(job.spec);
  const now = input.now;
  const newReplicas: NewReplica[] = input.placement.map((p, i) => ({
    run_id: `${job.uid}.a${attempt}.r${i}`,
    job_uid: job.uid,
    attempt,
    idx: i,
    role: roles[i] ?? "Worker",
    node: p.node,
    gpus: p.gpuIndices,
    gpu_milli: p.gpuMilli ?? 0,
    cpu_milli: p.cpuMilli,
    memory_mb: p.memoryMb,
  }));
  const where = input.placement.map((p, i) => `replica ${i} on ${p.node} ${p.gpuIndices.length ? `GPUs [${p.gpuIndices.join(",")}]${p.gpuMilli ? ` (${p.gpuMilli} milli-GPU)` : ""}` : "(no GPU)"}`).join("; ");
  const note = input.preemptible ? " — started by backfill ahead of a blocked job: it gives way when that job can start" : "";
  return moved(job, "Starting", {
    newReplicas,
    job: {
      phase: "Starting",
      reason: "Placed",
      message: "",
      waiting: null,
      attempt,
      master_port: input.masterPort,
      start_time: job.start_time ?? now,
      preemptible: input.preemptible ? 1 : 0,
      queued_ms: job.queued_ms + Math.max(0, now - job.queued_at),
    },
    events: [{ type: "Placed", message: where + note, attempt }],
  }, [{ kind: "launch" }]);
}

/** What a replica's change means for its row; the job's evaluation follows where the replica's processes ended. */
export function replicaTransition(job: JobRow, r: ReplicaRow, input: ReplicaInput): Transition<ReplicaStateName> {
  const from = r.state;
  const to = (state: ReplicaStateName, write: JobWrite, effects: JobEffect[]): Transition<ReplicaStateName> => ({ ok: true, from, to: state, write, effects });
  if (isEnded(from)) return refuse(from, `replica ${r.idx} already ended (${from})`);
  switch (input.type) {
    case "launched":
      if (from !== "Pending") return refuse(from, `replica ${r.idx} was already launched`);
      return to("Running", { replicas: [{ runId: r.run_id, patch: { state: "Running", pid: input.pid, start_time: input.startedAtMs } }] }, []);
    case "failedToStart":
      if (from !== "Pending") return refuse(from, `replica ${r.idx} was already launched`);
      return to("Failed", {
        replicas: [{ runId: r.run_id, patch: { state: "Failed", exit_code: null, end_time: input.now } }],
        events: [{ type: "FailedToStart", message: `replica ${r.idx}: ${input.message}`, attempt: job.attempt, replica: r.idx }],
      }, [{ kind: "evaluate" }]);
    case "neverLaunched":
      if (from !== "Pending") return refuse(from, `replica ${r.idx} was launched`);
      return to("Terminated", { replicas: [{ runId: r.run_id, patch: { state: "Terminated", end_time: input.now } }] }, [{ kind: "evaluate" }]);
    case "ended": {
      const s = input.state;
      const stopping = job.cancel_requested || job.deadline_exceeded || job.phase === "Retrying" || job.phase === "Preempting" || isFinal(job.phase);
      const next: ReplicaStateName = s.kind === "exited" ? (s.exitCode === 0 ? "Succeeded" : stopping ? "Terminated" : "Failed") : stopping ? "Terminated" : "Lost";
      const msg = s.kind === "exited" ? `replica ${r.idx} exited with code ${s.exitCode}${s.signal ? ` (${s.signal})` : ""}` : `replica ${r.idx} was lost: ${s.reason}`;
      return to(next, {
        replicas: [{
          runId: r.run_id,
          patch: {
            state: next,
            exit_code: s.kind === "exited" ? s.exitCode : null,
            end_time: s.kind === "exited" ? s.endedAtMs : input.now,
            ...(s.kind === "exited" && r.start_time === null ? { start_time: s.startedAtMs } : {}),
          },
        }],
        events: [{ type: "Exited", message: input.recovered ? `${msg} (while the jobs service was down)` : msg, attempt: r.attempt, replica: r.idx }],
      }, [{ kind: "evaluate" }, { kind: "schedule" }]);
    }
  }
}

function moved(job: JobRow, to: JobPhase, write: JobWrite, effects: JobEffect[]): Transition {
  return { ok: true, from: job.phase, to, write, effects };
}

/** A flag (cancel, deadline) and the final transition it leads to at once, as one write. */
function merge(first: JobWrite, then: Transition): Transition {
  if (!then.ok) return then;
  const events: JobEventRecord[] = [...(first.events ?? []), ...(then.write.events ?? [])];
  return { ...then, write: { ...then.write, job: { ...first.job, ...then.write.job }, events } };
}

function terminate(reps: readonly ReplicaRow[]): JobEffect[] {
  const live = reps.filter((r) => !isEnded(r.state));
  return live.length > 0 ? [{ kind: "terminate", replicas: live }] : [];
}

/** Each replica's role, in placement order: a job's roles expanded, or Master + Workers for a plain gang. */
export function expandRoles(spec: JobSpec): string[] {
  if (!spec.roles || spec.roles.length === 0) return Array.from({ length: spec.replicas }, (_, i) => (i === 0 && spec.replicas > 1 ? "Master" : "Worker"));
  return spec.roles.flatMap((r) => Array.from({ length: r.replicas }, () => r.name));
}

/** GPU-ms used by an attempt's replicas up to `now` (shares counted as fractions). */
export function gpuMs(reps: readonly ReplicaRow[], now: number): number {
  let total = 0;
  for (const r of reps) {
    if (r.gpus.length === 0 || r.start_time === null) continue;
    total += r.gpus.length * ((r.end_time ?? now) - r.start_time) * (r.gpu_milli ? r.gpu_milli / 1000 : 1);
  }
  return total;
}
