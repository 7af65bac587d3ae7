import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSwitchyardScheduler } from "./scheduler-switchyard.js";
import { makeJob as makeAnyJob, makeNodes, makeRunning, replica } from "./testing.js";
import type { PendingJob, QueuesConfig, ReplicaPlacement, RunningJob, ScheduleInput } from "./types.js";

const H = 3_600_000;
const NOW = 100 * H;
const sy = createSwitchyardScheduler();
let submitted = 0;
/** Jobs submitted just before NOW, so that the starvation guard does not lift them unless a test says so. */
const makeJob = (uid: string, replicas: PendingJob["replicas"], extra: Partial<PendingJob> = {}): PendingJob =>
  makeAnyJob(uid, replicas, { submittedAtMs: NOW - 60_000 + ++submitted, ...extra });
const input = (over: Partial<ScheduleInput>): ScheduleInput => ({ nowMs: NOW, nodes: makeNodes(1, 8), pending: [], running: [], ...over });
const on = (node: string, gpus: number[], extra: Partial<ReplicaPlacement> = {}): ReplicaPlacement => ({ node, gpuIndices: gpus, cpuMilli: 1000, memoryMb: 1024, ...extra });
const range = (from: number, n: number): number[] => Array.from({ length: n }, (_, i) => from + i);
const run = (job: PendingJob, placement: ReplicaPlacement[], startedAtMs = NOW - H, extra: Partial<RunningJob> = {}): RunningJob => makeRunning(job, placement, startedAtMs, extra);

function cohort(a: Record<string, object>, b: Record<string, object>): QueuesConfig {
  return {
    queues: [
      { name: "a", team: "a", cohort: "c", resources: a as QueuesConfig["queues"][number]["resources"] },
      { name: "b", team: "b", cohort: "c", resources: b as QueuesConfig["queues"][number]["resources"] },
    ],
  };
}

describe("switchyard scheduler: quotas and cohorts", () => {
  it("holds a queue without a cohort to its nominal quota", () => {
    const queues: QueuesConfig = { queues: [{ name: "a", team: "a", resources: { gpus: { nominalQuota: 2 } } }] };
    const pending = [1, 2, 3].map((i) => makeJob(`j${i}`, [replica(1)], { queue: "a", team: "a" }));
    const d = sy.schedule(input({ queues, pending }));
    assert.deepEqual(d.start.map((s) => s.uid), ["j1", "j2"]);
    assert.equal(d.waiting[0]?.reason, "queue a is at its gpus quota: 2 in use + 1 needed > its nominal quota 2");
  });

  it("lends unused quota inside a cohort, up to the borrowing limit", () => {
    const queues = cohort({ gpus: { nominalQuota: 2, borrowingLimit: 3 } }, { gpus: { nominalQuota: 6 } });
    const pending = range(0, 7).map((i) => makeJob(`a${i}`, [replica(1)], { queue: "a", team: "a" }));
    const d = sy.schedule(input({ queues, pending }));
    assert.equal(d.start.length, 5);
    assert.match(d.waiting[0]!.reason, /queue a is at its gpus quota: 5 in use \+ 1 needed > nominal 2 \+ borrowing limit 3/);
  });

  it("keeps what a lending limit does not lend", () => {
    const queues = cohort({ gpus: { nominalQuota: 4, lendingLimit: 1 } }, { gpus: { nominalQuota: 4 } });
    const pending = range(0, 8).map((i) => makeJob(`b${i}`, [replica(1)], { queue: "b", team: "b" }));
    const d = sy.schedule(input({ queues, pending }));
    assert.equal(d.start.length, 5, "b uses its 4 and the 1 that a lends");
    assert.match(d.waiting[0]!.reason, /cohort c has no gpus left for queue b/);
  });

  it("reclaims lent quota when the lender's work arrives, from the borrower's most recent job", () => {
    const queues = cohort({ gpus: { nominalQuota: 4 } }, { gpus: { nominalQuota: 4 } });
    const a1 = run(makeJob("a1", [replica(4)], { queue: "a", team: "a" }), [on("local", range(0, 4))], NOW - 2 * H);
    const a2 = run(makeJob("a2", [replica(4)], { queue: "a", team: "a" }), [on("local", range(4, 4))], NOW - H);
    const b1 = makeJob("b1", [replica(4)], { queue: "b", team: "b" });
    const d = sy.schedule(input({ queues, running: [a1, a2], pending: [b1] }));
    assert.deepEqual(d.preempt.map((p) => [p.uid, p.kind, p.forUid]), [["a2", "reclaim", "b1"]]);
    assert.match(d.waiting[0]!.reason, /preempting 1 job to make room \(a2\)/);
    const after = sy.schedule(input({ queues, running: [a1], pending: [b1] }));
    assert.deepEqual(after.start.map((s) => s.uid), ["b1"]);
  });

  it("does not reclaim for a queue that would go over its nominal quota", () => {
    const queues = cohort({ gpus: { nominalQuota: 4 } }, { gpus: { nominalQuota: 4 } });
    const a1 = run(makeJob("a1", [replica(8)], { queue: "a", team: "a" }), [on("local", range(0, 8))]);
    const d = sy.schedule(input({ queues, running: [a1], pending: [makeJob("b1", [replica(6)], { queue: "b", team: "b" })] }));
    assert.deepEqual(d.preempt, []);
  });

  it("says so when a job's queue is not configured", () => {
    const queues: QueuesConfig = { queues: [{ name: "a", team: "a", resources: { gpus: { nominalQuota: 2 } } }] };
    const d = sy.schedule(input({ queues, pending: [makeJob("x", [replica(1)], { queue: "zzz", team: "zzz" })] }));
    assert.equal(d.waiting[0]!.reason, 'queue "zzz" (team zzz) is not in the queues config; queues: a');
  });

  it("counts typed GPU quotas where the job lands", () => {
    const nodes = [...makeNodes(1, 4, { prefix: "t4", type: "T4" }), ...makeNodes(1, 4, { prefix: "a100", type: "A100" })];
    const queues: QueuesConfig = { queues: [{ name: "a", team: "a", resources: { "gpus/A100": { nominalQuota: 2 } } }] };
    const pending = [makeJob("x", [replica(2, { gpuType: "A100" })], { queue: "a" }), makeJob("y", [replica(1, { gpuType: "A100" })], { queue: "a" }), makeJob("z", [replica(2, { gpuType: "T4" })], { queue: "a" })];
    const d = sy.schedule(input({ nodes, queues, pending }));
    assert.deepEqual(d.start.map((s) => s.uid).sort(), ["x", "z"]);
    assert.match(d.waiting[0]!.reason, /gpus\/A100 quota/);
  });

  it("never reclaims a queue below its nominal quota: what it already gives back counts as given", () => {
    const nodes = makeNodes(1, 8);
    const queues: QueuesConfig = {
      queues: [
        { name: "a", team: "a", cohort: "c", resources: { gpus: { nominalQuota: 6 } } },
        { name: "b", team: "b", cohort: "c", resources: { gpus: { nominalQuota: 2 } } },
      ],
    };
    const b0 = run(makeJob("b0", [replica(2)], { queue: "b", team: "b" }), [on("local", [0, 1])]);
    const b1 = run(makeJob("b1", [replica(4)], { queue: "b", team: "b" }), [on("local", [2, 3, 4, 5])]);
    const pending = [makeJob("a1", [replica(4)], { queue: "a", team: "a", submittedAtMs: 1 }), makeJob("a2", [replica(2)], { queue: "a", team: "a", submittedAtMs: 2 })];
    const gpusOf = (uids: string[]) => uids.reduce((n, u) => n + (u === "b0" ? 2 : 4), 0);
    const d = sy.schedule(input({ nodes, queues, running: [b0, b1], pending }));
    const taken = d.preempt.map((p) => p.uid);
    assert.ok(taken.length > 0 && d.preempt.every((p) => p.kind === "reclaim"), JSON.stringify(d.preempt));
    assert.ok(6 - gpusOf(taken) >= 2, `b keeps its nominal 2 GPUs (reclaimed: ${taken.join(", ")})`);
    // Next cycle, the victims stopping: nothing more is taken from b below its nominal.
    const running = [b0, b1].map((r) => (taken.includes(r.uid) ? { ...r, terminating: true, preemptedFor: "a1" } : r));
    const d2 = sy.schedule(input({ nodes, queues, running, pending: [{ ...pending[0]!, reserved: true }, pending[1]!] }));
    assert.ok(6 - gpusOf([...taken, ...d2.preempt.map((p) => p.uid)]) >= 2, JSON.stringify(d2.preempt));
  });

  it("steers a job that names no GPU type to a type its queue still has quota for", () => {
    const nodes = [...makeNodes(1, 4, { prefix: "a100", type: "A100" }), ...makeNodes(1, 4, { prefix: "h100", type: "H100" })];
    const queues: QueuesConfig = { queues: [{ name: "a", team: "a", resources: { "gpus/A100": { nominalQuota: 2 }, "gpus/H100": { nominalQuota: 4 } } }] };
    const held = run(makeJob("held", [replica(2, { gpuType: "A100" })], { queue: "a" }), [on("a100-0", [0, 1])]);
    const d = sy.schedule(input({ nodes, queues, running: [held], pending: [makeJob("any", [replica(2)], { queue: "a" })] }));
    assert.deepEqual(d.start.map((s) => [s.uid, s.placement[0]!.node]), [["any", "h100-0"]], "A100 quota is spent: the job goes to the H100s");
    const full: QueuesConfig = { queues: [{ name: "a", team: "a", resources: { "gpus/A100": { nominalQuota: 2 }, "gpus/H100": { nominalQuota: 0 } } }] };
    const none = sy.schedule(input({ nodes, queues: full, running: [held], pending: [makeJob("any", [replica(2)], { queue: "a" })] }));
    assert.deepEqual(none.start, [], "no type has quota left: it waits");
    assert.match(none.waiting[0]!.reason, /quota/);
  });
});

describe("switchyard scheduler: order", () => {
  it("puts user priority first, then the job that has had less GPU time", () => {
    const pending = [
      makeJob("long", [replica(8)], { attainedGpuMs: 200 * H }),
      makeJob("fresh", [replica(8)]),
      makeJob("urgent-long", [replica(8)], { priority: 1, attainedGpuMs: 500 * H }),
    ];
    const d = sy.schedule(input({ pending }));
    assert.deepEqual(d.start.map((s) => s.uid), ["urgent-long"]);
    assert.deepEqual(d.waiting.map((w) => w.uid), ["fresh", "long"]);
  });

  it("lifts a job that waited too long back up (starvation guard)", () => {
    const starved = makeJob("starved", [replica(8)], { attainedGpuMs: 150 * H, queuedAtMs: NOW - 25 * H });
    const other = makeJob("other", [replica(8)], { attainedGpuMs: 20 * H });
    assert.deepEqual(sy.schedule(input({ pending: [starved, other] })).start.map((s) => s.uid), ["starved"]);
    const fresh = { ...starved, queuedAtMs: NOW - H };
    assert.deepEqual(sy.schedule(input({ pending: [fresh, other] })).start.map((s) => s.uid), ["other"]);
  });

  it("shares across queues by dominant resource: the queue using less goes first", () => {
    const busy = run(makeJob("a0", [replica(2)], { queue: "a" }), [on("local", [0, 1])]);
    const pending = [makeJob("a1", [replica(1)], { queue: "a" }), makeJob("a2", [replica(1)], { queue: "a" }), makeJob("b1", [replica(1)], { queue: "b" }), makeJob("b2", [replica(1)], { queue: "b" })];
    const d = sy.schedule(input({ nodes: makeNodes(1, 4), running: [busy], pending }));
    assert.deepEqual(d.start.map((s) => s.uid), ["b1", "b2"]);
  });
});

describe("switchyard scheduler: backfill and preemption", () => {
  it("backfills a small job ahead of a blocked one, marked preemptible, and takes it back once the head has waited an hour", () => {
    const r = run(makeJob("r", [replica(4)]), [on("local", range(0, 4))]);
    const big = makeJob("big", [replica(8)], { queuedAtMs: NOW });
    const small = makeJob("small", [replica(2)]);
    const d1 = sy.schedule(input({ running: [r], pending: [big, small] }));
    assert.deepEqual(d1.start, [{ uid: "small", placement: [on("local", [4, 5])], preemptible: true }]);
    assert.deepEqual(d1.preempt, []);
    const smallRunning = run(small, d1.start[0]!.placement, NOW, { preemptible: true });
    const early = sy.schedule(input({ nowMs: NOW + 1000, running: [smallRunning], pending: [big] }));
    assert.deepEqual(early.preempt, [], "the head has waited 1 s: backfilled work runs on");
    assert.equal(early.nextReviewAtMs, NOW + 60 * 60_000, "comes back when the head has waited an hour");
    const late = NOW + 61 * 60_000;
    const notCheckpointed = sy.schedule(input({ nowMs: late, running: [{ ...smallRunning, checkpointedAtMs: NOW }], pending: [big] }));
    assert.deepEqual(notCheckpointed.preempt, [], "it would lose all its 61 minutes: it runs on");
    const d2 = sy.schedule(input({ nowMs: late, running: [{ ...smallRunning, checkpointedAtMs: late - 60_000 }], pending: [big] }));
    assert.deepEqual(d2.preempt.map((p) => [p.uid, p.kind, p.forUid]), [["small", "backfill", "big"]]);
    assert.equal(d2.waiting[0]!.cause.kind, "preempting");
    const d3 = sy.schedule(input({ nowMs: late + 1000, pending: [{ ...small, preemptions: 1 }, { ...big, reserved: true }] }));
    assert.deepEqual(d3.start.map((s) => s.uid), ["big"]);
  });

  it("holds what a preemption frees for the job it was made for: no one else starts on it", () => {
    const nodes = makeNodes(1, 8);
    const bf = run(makeJob("bf", [replica(8)], { submittedAtMs: 5, seq: 5 }), [on("local", range(0, 8))], NOW - H, { preemptible: true });
    const head = makeJob("head", [replica(4)], { submittedAtMs: 1, seq: 1, queuedAtMs: NOW - H });
    const other = makeJob("other", [replica(2)], { submittedAtMs: 9, seq: 9 });
    const d = sy.schedule(input({ nodes, running: [bf], pending: [head, other] }));
    assert.deepEqual(d.preempt.map((p) => p.uid), ["bf"]);
    assert.deepEqual(d.start, [], "bf still holds its 8 GPUs while it stops: the 4 head leaves are not given out");
    // While bf stops (terminating, for head), a job first in the order does not take what it frees.
    const first = makeJob("first", [replica(8)], { priority: 5 });
    const d2 = sy.schedule(input({ nodes, running: [{ ...bf, terminating: true, preemptedFor: "head" }], pending: [first, { ...head, reserved: true }] }));
    assert.deepEqual(d2.preempt, []);
    assert.equal(d2.waiting.find((w) => w.uid === "head")!.cause.kind, "preempting");
    assert.equal(d2.waiting.find((w) => w.uid === "first")!.cause.kind, "resources");
  });

  it("never preempts a job twice without its minimum run time in between, nor more than maxPreemptionsPerJob times", () => {
    const low = (extra: Partial<RunningJob>, ranMs: number): RunningJob => run(makeJob("low", [replica(8)], extra), [on("local", range(0, 8))], NOW - ranMs);
    const high = makeJob("high", [replica(8)], { priority: 3 });
    assert.deepEqual(sy.schedule(input({ running: [low({ preemptions: 1 }, 5 * 60_000)], pending: [high] })).preempt, [], "preempted once, ran 5 min since");
    assert.deepEqual(sy.schedule(input({ running: [low({ preemptions: 1 }, 11 * 60_000)], pending: [high] })).preempt.map((p) => p.uid), ["low"]);
    assert.deepEqual(sy.schedule(input({ running: [low({ preemptions: 10 }, 50 * H)], pending: [high] })).preempt, [], "preempted 10 times: runs to its end");
    assert.deepEqual(sy.schedule(input({ running: [low({}, 1000)], pending: [high] })).preempt.map((p) => p.uid), ["low"], "a first preemption is at once");
  });

  it("pauses a long job for a short one only after the minimum run time", () => {
    const long = makeJob("long", [replica(8)], { attainedGpuMs: 500 * H });
    const short = makeJob("short", [replica(8)]);
    const early = sy.schedule(input({ running: [run(long, [on("local", range(0, 8))], NOW - 5 * 60_000)], pending: [short] }));
    assert.deepEqual(early.preempt, []);
    assert.equal(early.nextReviewAtMs, NOW + 5 * 60_000, "comes back when the minimum run time is over");
    const later = sy.schedule(input({ running: [run(long, [on("local", range(0, 8))], NOW - 11 * 60_000)], pending: [short] }));
    assert.deepEqual(later.preempt.map((p) => [p.uid, p.kind, p.forUid]), [["long", "las", "short"]]);
  });

  it("asks to be run again when a running job reaches the next level, or a waiting one climbs back", () => {
    const nearly = run(makeJob("r", [replica(4)], { attainedGpuMs: 36_000_000 - 4 * 60 * 60_000 }), [on("local", range(0, 4))], NOW - 30 * 60_000);
    const waiting = makeJob("w", [replica(8)]);
    assert.equal(sy.schedule(input({ running: [nearly], pending: [waiting] })).nextReviewAtMs, NOW + 30 * 60_000, "4 GPUs reach 10 GPU-hours in 30 more minutes");
    const demoted = makeJob("d", [replica(8)], { attainedGpuMs: 50 * H, queuedAtMs: NOW - 5 * H });
    assert.equal(sy.schedule(input({ running: [run(makeJob("x", [replica(8)], { priority: 9 }), [on("local", range(0, 8))])], pending: [demoted] })).nextReviewAtMs, NOW + 7 * H);
    assert.equal(sy.schedule(input({ pending: [makeJob("fits", [replica(1)])] })).nextReviewAtMs, undefined);
  });

  it("preempts lower user priority at once", () => {
    const low = run(makeJob("low", [replica(8)]), [on("local", range(0, 8))], NOW - 60_000);
    const d = sy.schedule(input({ running: [low], pending: [makeJob("high", [replica(4)], { priority: 3 })] }));
    assert.deepEqual(d.preempt.map((p) => [p.uid, p.kind]), [["low", "priority"]]);
  });

  it("never preempts for a job of lower priority or higher level", () => {
    const r = run(makeJob("r", [replica(8)], { priority: 2 }), [on("local", range(0, 8))]);
    const d = sy.schedule(input({ running: [r], pending: [makeJob("p", [replica(8)], { priority: 1 }), makeJob("q", [replica(8)], { priority: 2, attainedGpuMs: 999 * H })] }));
    assert.deepEqual(d.preempt, []);
  });

  it("takes backfilled work before a higher LAS level, even when that loses more", () => {
    const nodes = makeNodes(2, 4);
    const head = makeJob("head", [replica(4)], { submittedAtMs: 1, seq: 1 });
    const backfilled = run(makeJob("bf", [replica(4)], { submittedAtMs: 2, seq: 2 }), [on("node-0", range(0, 4))], NOW - 5 * H, { preemptible: true, checkpointedAtMs: NOW - 30 * 60_000 });
    const long = run(makeJob("long", [replica(4)], { attainedGpuMs: 500 * H }), [on("node-1", range(0, 4))], NOW - H, { checkpointedAtMs: NOW - 1000 });
    const d = sy.schedule(input({ nodes, running: [backfilled, long], pending: [head] }));
    assert.deepEqual(d.preempt.map((p) => [p.uid, p.kind]), [["bf", "backfill"]]);
  });

  it("among equals, loses the fewest GPU-seconds, then the most recently started", () => {
    const nodes = makeNodes(3, 4);
    const mk = (uid: string, node: string, startedAtMs: number, checkpointedAtMs?: number): RunningJob =>
      run(makeJob(uid, [replica(4)], { attainedGpuMs: 500 * H }), [on(node, range(0, 4))], startedAtMs, checkpointedAtMs !== undefined ? { checkpointedAtMs } : {});
    const running = [mk("old", "node-0", NOW - 3 * H), mk("recent", "node-1", NOW - 2 * H), mk("checkpointed", "node-2", NOW - 4 * H, NOW - 60_000)];
    const d = sy.schedule(input({ nodes, running, pending: [makeJob("p", [replica(4)])] }));
    assert.deepEqual(d.preempt.map((p) => p.uid), ["checkpointed"]);
    const tie = sy.schedule(input({ nodes, running: running.map((r) => ({ ...r, checkpointedAtMs: NOW - 60_000 })), pending: [makeJob("p", [replica(4)])] }));
    assert.deepEqual(tie.preempt.map((p) => p.uid), ["recent"]);
  });

  it("preempts only what the job needs, and only when that makes it fit", () => {
    const nodes = makeNodes(2, 4);
    const running = [0, 1, 2, 3].map((i) => run(makeJob(`r${i}`, [replica(2)], { priority: 0 }), [on(`node-${i >> 1}`, i % 2 === 0 ? [0, 1] : [2, 3])]));
    const d = sy.schedule(input({ nodes, running, pending: [makeJob("p", [replica(4)], { priority: 1 })] }));
    assert.equal(d.preempt.length, 2);
    const freed = new Set(d.preempt.map((p) => running.find((r) => r.uid === p.uid)!.placement[0]!.node));
    assert.equal(freed.size, 1, "both victims on one node: a 4-GPU replica needs one node");
    const gang = sy.schedule(input({ nodes, running, pending: [makeJob("g", [replica(4), replica(4), replica(4)], { priority: 1 })] }));
    assert.deepEqual(gang.preempt, [], "a gang that cannot fit even on an empty cluster preempts nothing");
  });

  it("does not preempt again while earlier victims are stopping", () => {
    const low = run(makeJob("low", [replica(8)]), [on("local", range(0, 8))], NOW - 60_000, { terminating: true });
    const d = sy.schedule(input({ running: [low], pending: [makeJob("high", [replica(8)], { priority: 3 })] }));
    assert.deepEqual(d.preempt, []);
    assert.equal(d.waiting[0]!.reason, "waiting for 1 preempted job to stop");
  });
});

describe("switchyard scheduler: placement", () => {
  it("fills a shared GPU that fits exactly rather than cutting into a free one", () => {
    const shared = run(makeJob("s", [replica(0, { gpuMilli: 600 })]), [on("local", [3], { gpuMilli: 600 })]);
    const d = sy.schedule(input({ nodes: makeNodes(1, 4), running: [shared], pending: [makeJob("x", [replica(0, { gpuMilli: 400 })])] }));
    assert.deepEqual(d.start[0]!.placement[0]!.gpuIndices, [3]);
  });

  it("puts a shared-GPU job on a GPU already shared when it fits there, keeping whole GPUs for whole-GPU jobs", () => {
    const shared = run(makeJob("s", [replica(0, { gpuMilli: 300 })]), [on("node-1", [0], { gpuMilli: 300 })]);
    const pending = [makeJob("x", [replica(0, { gpuMilli: 600 })]), ...range(0, 5).map((i) => makeJob(`w${i}`, [replica(1)], { submittedAtMs: 1e12 + i }))];
    const d = sy.schedule(input({ nodes: makeNodes(2, 4), running: [shared], pending }));
    assert.deepEqual(d.start.find((s) => s.uid === "x")!.placement[0], on("node-1", [0], { gpuMilli: 600 }));
  });
});
