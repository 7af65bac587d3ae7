import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseJobManifest, type JobSpec } from "@switchyard/specs";
import type { JobRow, ReplicaRow } from "./job-rows.js";
import { JOB_TRANSITIONS, REPLICA_TRANSITIONS, replicaTransition, transition, type JobInput, type ReplicaInput, type Transition } from "./job-state.js";
import { ENDED_STATES, FINAL_PHASES, JOB_PHASES, REPLICA_STATES, type JobPhase, type ReplicaStateName } from "./phases.js";

const NOW = 10_000;

function spec(extra = ""): JobSpec {
  return parseJobManifest(`apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: t}\nspec:\n  resources: {gpus: 1}\n  command: [x]\n${extra}`).spec;
}

function job(phase: JobPhase, o: Partial<JobRow> = {}): JobRow {
  const started = phase !== "Queued";
  return {
    uid: "u1", name: "t", team: "default", queue: "default", priority: 0, phase, reason: "", message: "", waiting: null, source: "switchyard/v1",
    request_id: null, seq: 1, created_at: 0, start_time: started ? 1000 : null, completion_time: null, attempt: started ? 1 : 0, cancel_requested: 0,
    deadline_exceeded: 0, master_port: null, attained_gpu_ms: 0, user: "", retries: 0, preemptions: 0, preemptible: 0, queued_at: 0, queued_ms: 0,
    collected_at: null, disk_bytes: 0, disk_measured_at: null, deleted_at: null, workload_class: "training", spec: spec(), manifest: "", ...o,
  };
}

function replica(state: ReplicaStateName, o: Partial<ReplicaRow> = {}): ReplicaRow {
  const ended = (ENDED_STATES as readonly string[]).includes(state);
  return {
    run_id: `u1.a1.r${o.idx ?? 0}`, job_uid: "u1", attempt: 1, idx: 0, role: "Worker", state, node: "n", gpus: [0], gpu_milli: 0, cpu_milli: 10, memory_mb: 16,
    exit_code: state === "Succeeded" ? 0 : state === "Failed" ? 1 : null, pid: null, start_time: 1000, end_time: ended ? 3000 : null, metrics_offset: 0, ...o,
  };
}

const placement = [{ node: "n", gpuIndices: [0], cpuMilli: 10, memoryMb: 16 }];
const evaluate = (replicas: ReplicaRow[]): JobInput => ({ type: "evaluate", replicas, now: NOW });

/** What an input does in each phase, flags clear: the phase it moves to, "stay", or "refused". */
type Outcome = JobPhase | "stay" | "refused";
const simple: { input: JobInput; expect: (p: JobPhase) => Outcome }[] = [
  { input: { type: "place", placement, masterPort: null, preemptible: false, now: NOW }, expect: (p) => (p === "Queued" ? "Starting" : "refused") },
  { input: { type: "started", replicas: 1 }, expect: (p) => (p === "Starting" ? "Running" : p === "Running" ? "stay" : "refused") },
  { input: { type: "adopted" }, expect: (p) => (p === "Starting" ? "Running" : "refused") },
  { input: { type: "preempt", reason: "preempted: for x", graceMs: 1000 }, expect: (p) => (p === "Starting" || p === "Running" ? "Preempting" : "refused") },
  { input: { type: "cancel", now: NOW }, expect: (p) => (p === "Queued" ? "Cancelled" : FINAL_PHASES.includes(p) ? "refused" : "stay") },
  { input: { type: "deadline", now: NOW }, expect: (p) => (p === "Queued" ? "Failed" : FINAL_PHASES.includes(p) ? "refused" : "stay") },
];

/** Evaluations: what the current attempt's replicas mean, phase by phase. */
const evaluations: { name: string; phase: JobPhase; job?: Partial<JobRow>; replicas: ReplicaRow[]; expect: Outcome }[] = [
  { name: "every replica succeeded", phase: "Running", replicas: [replica("Succeeded")], expect: "Succeeded" },
  { name: "every replica succeeded while the attempt was still Starting", phase: "Starting", replicas: [replica("Succeeded")], expect: "Succeeded" },
  { name: "a replica still runs", phase: "Running", replicas: [replica("Running")], expect: "stay" },
  { name: "a failure under Never", phase: "Running", replicas: [replica("Failed")], expect: "Failed" },
  { name: "a failure under OnFailure with retries left", phase: "Running", job: { spec: spec("  restartPolicy: OnFailure\n  backoffLimit: 2\n") }, replicas: [replica("Failed")], expect: "Retrying" },
  { name: "a replica that failed to start, with retries left", phase: "Starting", job: { spec: spec("  restartPolicy: OnFailure\n  backoffLimit: 2\n") }, replicas: [replica("Failed")], expect: "Retrying" },
  { name: "a failure with backoffLimit used up", phase: "Running", job: { retries: 2, spec: spec("  restartPolicy: OnFailure\n  backoffLimit: 2\n") }, replicas: [replica("Failed")], expect: "Failed" },
  { name: "a lost replica under Never", phase: "Running", replicas: [replica("Lost")], expect: "Failed" },
  { name: "a retry whose replicas are gone", phase: "Retrying", replicas: [replica("Failed")], expect: "Queued" },
  { name: "a retry whose replicas still stop", phase: "Retrying", replicas: [replica("Running")], expect: "stay" },
  { name: "a preemption whose replicas are gone", phase: "Preempting", replicas: [replica("Terminated")], expect: "Queued" },
  { name: "a preemption whose replicas still stop", phase: "Preempting", replicas: [replica("Running")], expect: "stay" },
  ...(["Starting", "Running", "Retrying", "Preempting"] as const).flatMap((phase) => [
    { name: `a cancel in ${phase} once every replica is gone`, phase, job: { cancel_requested: 1 }, replicas: [replica("Terminated")], expect: "Cancelled" as const },
    { name: `a cancel in ${phase} while a replica still runs`, phase, job: { cancel_requested: 1 }, replicas: [replica("Running")], expect: "stay" as const },
    { name: `a deadline in ${phase} once every replica is gone`, phase, job: { deadline_exceeded: 1 }, replicas: [replica("Terminated")], expect: "Failed" as const },
  ]),
  { name: "a queued job's previous attempt (decided already)", phase: "Queued", job: { attempt: 1, retries: 1, spec: spec("  restartPolicy: OnFailure\n  backoffLimit: 1\n") }, replicas: [replica("Failed")], expect: "stay" },
  { name: "a queued job's previous attempt that exited 0 when preempted", phase: "Queued", job: { attempt: 1 }, replicas: [replica("Succeeded")], expect: "stay" },
  { name: "a queued job whose cancel was interrupted", phase: "Queued", job: { cancel_requested: 1 }, replicas: [], expect: "Cancelled" },
  ...FINAL_PHASES.map((phase) => ({ name: `a ${phase} job whose replicas are gone`, phase, replicas: [replica("Succeeded")], expect: "stay" as const })),
  ...FINAL_PHASES.map((phase) => ({ name: `a ${phase} job with a replica left running`, phase, replicas: [replica("Running")], expect: "stay" as const })),
];

function outcome(t: Transition): Outcome {
  if (!t.ok) return "refused";
  return t.to === t.from ? "stay" : t.to;
}

const seen = new Set<string>();
function check(t: Transition, expected: Outcome, what: string): void {
  assert.equal(outcome(t), expected, `${what}: ${t.ok ? `${t.from} → ${t.to}` : `refused: ${t.refused}`}`);
  if (t.ok && t.to !== t.from) {
    assert.ok(JOB_TRANSITIONS[t.from].includes(t.to), `${what}: ${t.from} → ${t.to} is not an allowed transition`);
    seen.add(`${t.from}>${t.to}`);
  }
}

describe("the job state machine", () => {
  for (const { input, expect } of simple) {
    it(`takes "${input.type}" where it is allowed and refuses it everywhere else`, () => {
      for (const phase of JOB_PHASES) check(transition(job(phase), input), expect(phase), `${input.type} in ${phase}`);
    });
  }

  for (const e of evaluations) {
    it(`evaluates ${e.name} (${e.phase} → ${e.expect})`, () => check(transition(job(e.phase, e.job), evaluate(e.replicas)), e.expect, e.name));
  }

  it("refuses to place a job whose cancel was asked, and to preempt one already stopping", () => {
    check(transition(job("Queued", { cancel_requested: 1 }), simple[0]!.input), "refused", "place after cancel");
    for (const flag of [{ cancel_requested: 1 }, { deadline_exceeded: 1 }]) check(transition(job("Running", flag), simple[3]!.input), "refused", `preempt with ${JSON.stringify(flag)}`);
  });

  it("takes a second cancel or deadline as nothing new", () => {
    const again = transition(job("Running", { cancel_requested: 1 }), { type: "cancel", now: NOW });
    assert.deepEqual(again, { ok: true, from: "Running", to: "Running", write: {}, effects: [] });
    assert.deepEqual(transition(job("Running", { deadline_exceeded: 1 }), { type: "deadline", now: NOW }), { ok: true, from: "Running", to: "Running", write: {}, effects: [] });
  });

  it("reaches every allowed transition in the cases above, and no other", () => {
    const allowed = JOB_PHASES.flatMap((from) => JOB_TRANSITIONS[from].map((to) => `${from}>${to}`));
    assert.deepEqual([...seen].sort(), allowed.sort());
  });

  it("stores a placement (replicas Pending, the attempt, the queueing time) before it says to launch", () => {
    const t = transition(job("Queued", { queued_at: 4000, queued_ms: 500, waiting: { kind: "resources", position: 1, text: "x" } }), { type: "place", placement: [...placement, { node: "n", gpuIndices: [], cpuMilli: 5, memoryMb: 8 }], masterPort: 29500, preemptible: true, now: NOW });
    assert.ok(t.ok);
    assert.deepEqual(t.write.newReplicas?.map((r) => [r.run_id, r.role, r.gpus]), [["u1.a1.r0", "Worker", [0]], ["u1.a1.r1", "Worker", []]]);
    assert.deepEqual(t.write.job, { phase: "Starting", reason: "Placed", message: "", waiting: null, attempt: 1, master_port: 29500, start_time: NOW, preemptible: 1, queued_ms: 500 + 6000 });
    assert.equal(t.write.events?.[0]?.message, "replica 0 on n GPUs [0]; replica 1 on n (no GPU) — started by backfill ahead of a blocked job: it gives way when that job can start");
    assert.deepEqual(t.effects, [{ kind: "launch" }]);
  });

  it("ends a job by storing its end first, then disarming its deadline, stopping what is left and scheduling", () => {
    const running = replica("Running", { idx: 1, run_id: "u1.a1.r1" });
    const t = transition(job("Running", { spec: { ...spec(), roles: [{ ...spec(), name: "Master", replicas: 1 }, { ...spec(), name: "Worker", replicas: 1 }] as JobSpec["roles"] } }), evaluate([replica("Succeeded"), running]));
    assert.ok(t.ok && t.to === "Succeeded");
    assert.deepEqual(t.write.job, { phase: "Succeeded", reason: "Completed", message: "Master succeeded (attempt 1); 1 Worker replica was still running and is being stopped", completion_time: NOW, attained_gpu_ms: 2000 + 9000 });
    assert.deepEqual(t.effects, [{ kind: "disarmDeadline" }, { kind: "terminate", replicas: [running] }, { kind: "schedule" }]);
  });

  it("lets the Master decide a success, and says the Workers it left running were stopped, not that they succeeded", () => {
    // Kubeflow's pytorch_job_sendrecv shape: Master + 3 Workers.
    const roles = [{ ...spec(), name: "Master", replicas: 1 }, { ...spec(), name: "Worker", replicas: 3 }] as JobSpec["roles"];
    const sendrecv = { spec: { ...spec(), replicas: 4, roles } };
    const master = replica("Succeeded", { role: "Master" });
    const worker = (idx: number, state: ReplicaStateName, o: Partial<ReplicaRow> = {}) => replica(state, { idx, run_id: `u1.a1.r${idx}`, ...o });
    const running = [1, 2, 3].map((i) => worker(i, "Running"));

    const t = transition(job("Running", sendrecv), evaluate([master, ...running]));
    assert.ok(t.ok && t.to === "Succeeded");
    const atSuccess = "Master succeeded (attempt 1); 3 Worker replicas were still running and are being stopped";
    assert.equal(t.write.job?.message, atSuccess);
    assert.deepEqual(t.write.events, [{ type: "Succeeded", message: atSuccess, attempt: 1 }]);
    assert.deepEqual(t.effects, [{ kind: "disarmDeadline" }, { kind: "terminate", replicas: running }, { kind: "schedule" }]);

    // Each Worker's exit after our SIGTERM is recorded as Terminated, not as a failure.
    const done = job("Succeeded", { ...sendrecv, reason: "Completed", message: atSuccess });
    const exit143 = replicaTransition(done, running[0]!, { type: "ended", state: { kind: "exited", exitCode: 143, signal: null, startedAtMs: 1000, endedAtMs: 3000 }, recovered: false, now: NOW });
    assert.ok(exit143.ok && exit143.to === "Terminated");
    assert.deepEqual(exit143.write.replicas?.[0]?.patch, { state: "Terminated", exit_code: 143, end_time: 3000 });

    // While one still stops, nothing is rewritten; once all are gone, the message says how they ended, once.
    const stopped = [1, 2, 3].map((i) => worker(i, "Terminated", { exit_code: 143 }));
    assert.deepEqual(transition(done, evaluate([master, ...stopped.slice(0, 2), running[2]!])), { ok: true, from: "Succeeded", to: "Succeeded", write: {}, effects: [{ kind: "terminate", replicas: [running[2]] }] });
    const settled = transition(done, evaluate([master, ...stopped]));
    const final = "Master succeeded (attempt 1); 3 Worker replicas were still running and were stopped (exit 143)";
    assert.deepEqual(settled, { ok: true, from: "Succeeded", to: "Succeeded", write: { job: { message: final } }, effects: [] });
    assert.deepEqual(transition(job("Succeeded", { ...sendrecv, reason: "Completed", message: final }), evaluate([master, ...stopped])), { ok: true, from: "Succeeded", to: "Succeeded", write: {}, effects: [] });
    // One Worker that ended on its own with 0 succeeded; the others were stopped, each with its own exit.
    const mixed = transition(done, evaluate([master, worker(1, "Succeeded"), worker(2, "Terminated", { exit_code: 143 }), worker(3, "Terminated", { exit_code: 137 })]));
    assert.ok(mixed.ok);
    assert.equal(mixed.write.job?.message, "Master succeeded (attempt 1); 2 Worker replicas were still running and were stopped (exit 137, 143)");

    // Workers that finished first: a plain success, as before.
    const all = transition(job("Running", sendrecv), evaluate([master, ...[1, 2, 3].map((i) => worker(i, "Succeeded"))]));
    assert.ok(all.ok && all.to === "Succeeded");
    assert.equal(all.write.job?.message, "all replicas succeeded (attempt 1)");
  });

  it("cancels a queued job in one write: the cancel asked and the job cancelled", () => {
    const t = transition(job("Queued"), { type: "cancel", now: NOW });
    assert.ok(t.ok && t.to === "Cancelled");
    assert.deepEqual(t.write.events?.map((e) => e.type), ["Cancelling", "Cancelled"]);
    assert.equal(t.write.job?.cancel_requested, 1);
    assert.equal(t.write.job?.message, "cancelled while queued");
    assert.deepEqual(t.effects, [{ kind: "disarmDeadline" }, { kind: "schedule" }]);
  });

  it("records a preemption (counted apart from retries) before it stops anything", () => {
    const t = transition(job("Running", { preemptions: 2 }), { type: "preempt", reason: "preempted: for x", graceMs: 1500 });
    assert.ok(t.ok);
    assert.deepEqual(t.write.job, { phase: "Preempting", reason: "Preempted", message: "preempted: for x", preemptions: 3 });
    assert.match(t.write.events?.[0]?.message ?? "", /SIGKILL after 1500 ms/);
    assert.deepEqual(t.effects, [{ kind: "evaluate" }]);
  });

  it("requeues a retried job with the attempt's GPU time, and schedules", () => {
    const t = transition(job("Retrying", { attained_gpu_ms: 100, message: "x" }), evaluate([replica("Failed")]));
    assert.ok(t.ok && t.to === "Queued");
    assert.deepEqual(t.write.job, { phase: "Queued", attained_gpu_ms: 2100, queued_at: NOW, preemptible: 0, reason: "Retrying", message: "attempt 1 failed; waiting to start attempt 2" });
    assert.deepEqual(t.effects, [{ kind: "schedule" }]);
  });
});

describe("the replica state machine", () => {
  const exited = (exitCode: number): Extract<ReplicaInput, { type: "ended" }> => ({ type: "ended", state: { kind: "exited", exitCode, signal: null, startedAtMs: 1000, endedAtMs: 3000 }, recovered: false, now: NOW });
  const lost: ReplicaInput = { type: "ended", state: { kind: "lost", reason: "shim vanished" }, recovered: true, now: NOW };
  const cases: { input: ReplicaInput; job?: Partial<JobRow>; expect: (s: ReplicaStateName) => ReplicaStateName | "refused" }[] = [
    { input: { type: "launched", pid: 7, startedAtMs: 1000 }, expect: (s) => (s === "Pending" ? "Running" : "refused") },
    { input: { type: "failedToStart", message: "no such file", now: NOW }, expect: (s) => (s === "Pending" ? "Failed" : "refused") },
    { input: { type: "neverLaunched", now: NOW }, expect: (s) => (s === "Pending" ? "Terminated" : "refused") },
    { input: exited(0), expect: (s) => (s === "Pending" || s === "Running" ? "Succeeded" : "refused") },
    { input: exited(3), expect: (s) => (s === "Pending" || s === "Running" ? "Failed" : "refused") },
    { input: exited(143), job: { cancel_requested: 1 }, expect: (s) => (s === "Pending" || s === "Running" ? "Terminated" : "refused") },
    // A Worker still running when its Master succeeded is stopped by us: its exit is no failure.
    { input: exited(143), job: { phase: "Succeeded", reason: "Completed" }, expect: (s) => (s === "Pending" || s === "Running" ? "Terminated" : "refused") },
    { input: lost, expect: (s) => (s === "Pending" || s === "Running" ? "Lost" : "refused") },
    { input: lost, job: { phase: "Preempting" }, expect: (s) => (s === "Pending" || s === "Running" ? "Terminated" : "refused") },
  ];
  const reached = new Set<string>();

  for (const c of cases) {
    it(`takes "${c.input.type}"${c.input.type === "ended" ? ` (${c.input.state.kind}${c.input.state.kind === "exited" ? ` ${c.input.state.exitCode}` : ""}${c.job ? `, ${JSON.stringify(c.job)}` : ""})` : ""} only where it is allowed`, () => {
      for (const s of REPLICA_STATES) {
        const t = replicaTransition(job(c.job?.phase ?? "Running", c.job), replica(s), c.input);
        assert.equal(t.ok ? t.to : "refused", c.expect(s), `${c.input.type} in ${s}`);
        if (t.ok) {
          assert.ok(REPLICA_TRANSITIONS[t.from].includes(t.to), `${t.from} → ${t.to}`);
          reached.add(`${t.from}>${t.to}`);
        }
      }
    });
  }

  it("reaches every allowed replica transition, and no other", () => {
    const allowed = REPLICA_STATES.flatMap((from) => REPLICA_TRANSITIONS[from].map((to) => `${from}>${to}`));
    assert.deepEqual([...reached].sort(), allowed.sort());
  });

  it("records an exit seen after a restart as such, then evaluates the job and schedules", () => {
    const t = replicaTransition(job("Running"), replica("Running"), { ...exited(7), recovered: true });
    assert.ok(t.ok);
    assert.deepEqual(t.write.replicas, [{ runId: "u1.a1.r0", patch: { state: "Failed", exit_code: 7, end_time: 3000 } }]);
    assert.deepEqual(t.write.events, [{ type: "Exited", message: "replica 0 exited with code 7 (while the jobs service was down)", attempt: 1, replica: 0 }]);
    assert.deepEqual(t.effects, [{ kind: "evaluate" }, { kind: "schedule" }]);
  });
});
