import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSwitchyardScheduler } from "./scheduler-switchyard.js";
import { uniformCluster } from "./sim/cluster-spec.js";
import { mulberry32 } from "./sim/prng.js";
import { simulate } from "./sim/simulator.js";
import { defaultReplica, type SimJob } from "./sim/workload.js";
import { makeJob as makeAnyJob, makeNodes, makeRunning, replica } from "./testing.js";
import type { PendingJob, PreemptionKind, QueuesConfig, ReplicaPlacement, RunningJob, ScheduleDecision, ScheduleInput } from "./types.js";

// Serving replicas: a scheduling class that least-attained service, reclaim of its own nominal quota and backfill
// eviction never touch; only a higher priority, or reclaim of what serving borrowed beyond nominal, stops one.

const H = 3_600_000;
const NOW = 100 * H;
const sy = createSwitchyardScheduler();
let submitted = 0;
const makeJob = (uid: string, replicas: PendingJob["replicas"], extra: Partial<PendingJob> = {}): PendingJob =>
  makeAnyJob(uid, replicas, { submittedAtMs: NOW - 60_000 + ++submitted, ...extra });
const input = (over: Partial<ScheduleInput>): ScheduleInput => ({ nowMs: NOW, nodes: makeNodes(1, 8), pending: [], running: [], ...over });
const on = (node: string, gpus: number[]): ReplicaPlacement => ({ node, gpuIndices: gpus, cpuMilli: 1000, memoryMb: 1024 });
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const run = (job: PendingJob, placement: ReplicaPlacement[], startedAtMs = NOW - H, extra: Partial<RunningJob> = {}): RunningJob => makeRunning(job, placement, startedAtMs, extra);
const victims = (d: ScheduleDecision): [string, PreemptionKind | undefined][] => d.preempt.map((p) => [p.uid, p.kind]);
/** The same job as training: what the scheduler would do without the class. */
function asTraining<T extends PendingJob>(job: T): T {
  const { serving: _s, ...rest } = job;
  return rest as T;
}

const cohort: QueuesConfig = {
  queues: [
    { name: "a", team: "a", cohort: "c", resources: { gpus: { nominalQuota: 4 } } },
    { name: "b", team: "b", cohort: "c", resources: { gpus: { nominalQuota: 4 } } },
  ],
};

describe("switchyard scheduler: serving replicas", () => {
  it("is not a least-attained-service victim, however much GPU time it has had, and asks for no level review", () => {
    const server = run(makeJob("server", [replica(8)], { serving: true, attainedGpuMs: 5000 * H }), [on("local", range(0, 8))], NOW - 50 * H);
    const short = makeJob("short", [replica(8)]);
    const d = sy.schedule(input({ running: [server], pending: [short] }));
    assert.deepEqual(d.preempt, []);
    assert.equal(d.nextReviewAtMs, undefined, "no level to reach, no minimum run to wait out");
    assert.deepEqual(victims(sy.schedule(input({ running: [asTraining(server)], pending: [short] }))), [["server", "las"]], "as training it would give way");
  });

  it("is never demoted in the queue: its past service does not put it behind fresh work", () => {
    const server = makeJob("server", [replica(8)], { serving: true, attainedGpuMs: 5000 * H });
    const fresh = makeJob("fresh", [replica(8)]);
    assert.deepEqual(sy.schedule(input({ pending: [fresh, server] })).start.map((s) => s.uid), ["server"], "arrival order at level 0");
    assert.deepEqual(sy.schedule(input({ pending: [fresh, asTraining(server)] })).start.map((s) => s.uid), ["fresh"]);
  });

  it("does not give way to an equal-priority gang that would only fit by preempting it", () => {
    const nodes = makeNodes(2, 8);
    const server = run(makeJob("server", [replica(2)], { serving: true, attainedGpuMs: 500 * H }), [on("node-0", [0, 1])], NOW - 20 * H);
    const long = run(makeJob("long", [replica(6)], { attainedGpuMs: 500 * H }), [on("node-0", range(2, 6))], NOW - 2 * H);
    const gang = makeJob("gang", [replica(8), replica(8)]);
    const d = sy.schedule(input({ nodes, running: [server, long], pending: [gang] }));
    assert.deepEqual(d.preempt, []);
    assert.deepEqual(d.start, []);
    const asTrain = sy.schedule(input({ nodes, running: [asTraining(server), long], pending: [gang] }));
    assert.deepEqual(victims(asTrain).sort(), [["long", "las"], ["server", "las"]], "as training both would give way");
  });

  it("is preempted by higher-priority work in its queue, training victims first", () => {
    const nodes = makeNodes(2, 4);
    const server = run(makeJob("server", [replica(4)], { serving: true }), [on("node-0", range(0, 4))], NOW - 10 * H, { checkpointedAtMs: NOW - 1000 });
    // The training job would lose more (no checkpoint for an hour): training is still taken first.
    const train = run(makeJob("train", [replica(4)]), [on("node-1", range(0, 4))], NOW - 2 * H, { checkpointedAtMs: NOW - H });
    const urgent = makeJob("urgent", [replica(4)], { priority: 5 });
    assert.deepEqual(victims(sy.schedule(input({ nodes, running: [server, train], pending: [urgent] }))), [["train", "priority"]]);
    const higher = run(makeJob("higher", [replica(4)], { priority: 9 }), [on("node-1", range(0, 4))]);
    assert.deepEqual(victims(sy.schedule(input({ nodes, running: [server, higher], pending: [urgent] }))), [["server", "priority"]], "when no training would do, it gives way");
    assert.deepEqual(sy.schedule(input({ nodes, running: [server], pending: [makeJob("same", [replica(8)])] })).preempt, [], "not to equal priority");
  });

  it("keeps its queue's nominal quota from reclaim, gives back what serving borrowed beyond it, training first", () => {
    const inA = { queue: "a", team: "a" };
    const serving = (uid: string, gpus: number[]): RunningJob => run(makeJob(uid, [replica(2)], { ...inA, serving: true }), [on("local", gpus)], NOW - 10 * H, { checkpointedAtMs: NOW - 1000 });
    const s = [serving("s1", [0, 1]), serving("s2", [2, 3]), serving("s3", [4, 5])];
    // The training job loses more (no checkpoint for an hour) than any serving replica would.
    const t1 = run(makeJob("t1", [replica(2)], inA), [on("local", [6, 7])], NOW - 5 * H, { checkpointedAtMs: NOW - H });
    const b = (uid: string, gpus: number): PendingJob => makeJob(uid, [replica(gpus)], { queue: "b", team: "b" });
    // a holds 8 GPUs on a nominal 4, serving 6 of them. b claims 2 of its nominal: the training job goes.
    assert.deepEqual(victims(sy.schedule(input({ queues: cohort, running: [...s, t1], pending: [b("b2", 2)] }))), [["t1", "reclaim"]]);
    const asTrain = sy.schedule(input({ queues: cohort, running: [...s.map((x) => asTraining(x)), t1], pending: [b("b2", 2)] }));
    assert.notDeepEqual(victims(asTrain), [["t1", "reclaim"]], "as training, the cheapest would have gone");
    // b claims all 4: the training job and one serving replica; serving keeps a's nominal 4.
    const four = sy.schedule(input({ queues: cohort, running: [...s, t1], pending: [b("b4", 4)] }));
    assert.ok(four.preempt.every((p) => p.kind === "reclaim" && p.forUid === "b4"), JSON.stringify(four.preempt));
    assert.deepEqual(four.preempt.map((p) => (p.uid.startsWith("s") ? "serving" : p.uid)).sort(), ["serving", "t1"]);
    // Serving within a's nominal (4 of 4), the borrowing training protected by the progress guarantee: nothing is taken.
    const fresh = { preemptions: 1, checkpointedAtMs: NOW - 1000 };
    const within = [s[0]!, s[1]!, run(makeJob("t2", [replica(2)], inA), [on("local", [4, 5])], NOW - 60_000, fresh), run(makeJob("t3", [replica(2)], inA), [on("local", [6, 7])], NOW - 60_000, fresh)];
    assert.deepEqual(sy.schedule(input({ queues: cohort, running: within, pending: [b("b4", 4)] })).preempt, []);
    const withinAsTrain = within.map((x) => asTraining(x));
    assert.deepEqual(victims(sy.schedule(input({ queues: cohort, running: withinAsTrain, pending: [b("b4", 4)] }))).sort(), [["s1", "reclaim"], ["s2", "reclaim"]], "as training they would go");
    // Serving holds 6 of a's nominal 4: the 4-GPU replica, the cheapest to stop, would leave serving 2; the 2-GPU one goes.
    const big = run(makeJob("s-big", [replica(4)], { ...inA, serving: true }), [on("local", range(0, 4))], NOW - 10 * H, { checkpointedAtMs: NOW - 1000 });
    const small = run(makeJob("s-small", [replica(2)], { ...inA, serving: true }), [on("local", [4, 5])], NOW - 10 * H, { checkpointedAtMs: NOW - H });
    const t4 = run(makeJob("t4", [replica(2)], inA), [on("local", [6, 7])], NOW - 60_000, fresh);
    assert.deepEqual(victims(sy.schedule(input({ queues: cohort, running: [big, small, t4], pending: [b("b2", 2)] }))), [["s-small", "reclaim"]]);
  });

  it("is never backfilled: it waits behind a job that does not fit, and is never marked preemptible", () => {
    const r = run(makeJob("r", [replica(4)]), [on("local", range(0, 4))]);
    const big = makeJob("big", [replica(8)], { submittedAtMs: 1 });
    const server = makeJob("server", [replica(2)], { serving: true });
    const small = makeJob("small", [replica(2)]);
    const d = sy.schedule(input({ running: [r], pending: [big, server, small] }));
    assert.deepEqual(d.start.map((s) => [s.uid, s.preemptible]), [["small", true]]);
    const w = d.waiting.find((x) => x.uid === "server")!;
    assert.deepEqual(w.cause, { kind: "behind", blockedBy: "big" });
    assert.match(w.reason, /serving replica is not started ahead of it/);
    // Nothing blocked: it starts, not preemptible.
    assert.deepEqual(sy.schedule(input({ running: [r], pending: [server] })).start.map((s) => [s.uid, s.preemptible]), [["server", undefined]]);
    // A caller that reports one as preemptible anyway does not make it a backfill victim.
    const started = run(server, [on("local", [4, 5])], NOW - 5 * H, { preemptible: true, checkpointedAtMs: NOW - 1000 });
    const head = makeJob("head", [replica(4)], { queuedAtMs: NOW - 2 * H, submittedAtMs: 0 });
    assert.deepEqual(sy.schedule(input({ running: [r, started], pending: [head] })).preempt, []);
    assert.deepEqual(victims(sy.schedule(input({ running: [r, asTraining(started)], pending: [head] }))), [["server", "backfill"]], "as training it would give way");
  });
});

// ---- One serving replica under a steady stream of training, in simulated time ----------------------------------

const STREAM_QUEUES: QueuesConfig = {
  queues: [
    { name: "serve", team: "serve", cohort: "c", resources: { gpus: { nominalQuota: 8 } } },
    { name: "other", team: "other", cohort: "c", resources: { gpus: { nominalQuota: 16 } } },
  ],
};

/** 48 h on 3 × 8 GPUs: the server's team runs short training around it and equal-priority 2 × 8 gangs; another team comes in bursts within its nominal quota. */
function stream(seed: number): SimJob[] {
  const rng = mulberry32(seed);
  const jobs: SimJob[] = [{ id: "model-server", submitS: 0, durationS: 0, replicas: [defaultReplica(2)], team: "serve", priority: 0, serving: true }];
  let t = 60;
  for (let i = 0; t < 48 * 3600; i++) {
    jobs.push({ id: `train-${i}`, submitS: Math.round(t), durationS: 600 + Math.round(rng() * 4800), replicas: [defaultReplica([1, 1, 2, 4][Math.floor(rng() * 4)]!)], team: "serve", priority: 0 });
    t += -Math.log(1 - rng()) * 360;
  }
  for (let k = 0; k < 12; k++) {
    jobs.push({ id: `gang-${k}`, submitS: 1800 + k * 4 * 3600, durationS: 1800, replicas: [defaultReplica(8), defaultReplica(8)], team: "serve", priority: 0 });
    for (let j = 0; j < 4; j++) jobs.push({ id: `other-${k}-${j}`, submitS: 3 * 3600 + k * 4 * 3600 + j, durationS: 3600 + j * 900, replicas: [defaultReplica(4)], team: "other", priority: 0 });
  }
  return jobs.sort((a, b) => a.submitS - b.submitS);
}

describe("a serving replica under a steady stream of training", () => {
  it("is never in a preemption decision, though least-attained service, reclaim and gangs would each have taken it", () => {
    const inner = createSwitchyardScheduler({ lasThresholdsGpuS: [3600, 36_000] });
    const taken: string[] = [];
    // What the same cycle would have done to it as a training job (the pressure it withstood), by kind and preemptor.
    const wouldHave = new Map<string, number>();
    let cycles = 0;
    const scheduler = {
      name: inner.name,
      schedule(i: ScheduleInput): ScheduleDecision {
        const d = inner.schedule(i);
        cycles++;
        for (const p of d.preempt) if (p.uid === "model-server") taken.push(`${i.nowMs / 1000} s: ${p.kind} for ${p.forUid}`);
        if (i.running.some((r) => r.uid === "model-server")) {
          const probe = inner.schedule({ ...i, running: i.running.map((r) => (r.uid === "model-server" ? asTraining(r) : r)) });
          for (const p of probe.preempt) {
            if (p.uid !== "model-server") continue;
            const key = p.forUid?.startsWith("gang-") === true ? "gang" : String(p.kind);
            wouldHave.set(key, (wouldHave.get(key) ?? 0) + 1);
          }
        }
        return d;
      },
    };
    const jobs = stream(11);
    const r = simulate({ jobs, nodes: uniformCluster(3, 8), queues: STREAM_QUEUES, scheduler, details: true });
    assert.deepEqual(taken, [], "the serving replica was preempted");
    assert.ok(cycles > 1000, `${cycles} cycles`);
    const pressure = Object.fromEntries(wouldHave);
    assert.ok((wouldHave.get("las") ?? 0) > 0 && (wouldHave.get("reclaim") ?? 0) > 0 && (wouldHave.get("gang") ?? 0) > 0, `pressure it withstood: ${JSON.stringify(pressure)}`);
    // The report: training figures over training jobs only, the serving replica apart.
    assert.equal(r.jobs, jobs.length - 1);
    assert.deepEqual(r.serving, { replicas: 1, stops: 0, avgWaitS: 0, maxWaitS: 0, waitingAtEnd: 0, gpuHours: (2 * r.makespanS) / 3600 });
    const server = r.details!.find((d) => d.id === "model-server")!;
    assert.equal(server.serving, true);
    assert.deepEqual(server.runs, [{ startS: 0, endS: r.makespanS, preempted: false }]);
    assert.ok(r.preemptions > 0, "training was preempted around it");
  });
});
