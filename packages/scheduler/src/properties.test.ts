import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createPriorityFifoScheduler } from "./scheduler-priority-fifo.js";
import { createSwitchyardScheduler } from "./scheduler-switchyard.js";
import { serviceLevel } from "./las.js";
import { compileQueues, resolveQueue } from "./quota.js";
import type { NodeInfo, PendingJob, QueuesConfig, ReplicaRequest, RunningJob, ScheduleDecision, ScheduleInput, Scheduler } from "./types.js";

const H = 3_600_000;
const NOW = 1000 * H;
const TYPES = ["A100", "T4"];
const QUEUES = ["a", "b", "c"];

const nodeArb = fc.record({ gpus: fc.integer({ min: 0, max: 8 }), type: fc.constantFrom(...TYPES), cpu: fc.integer({ min: 4, max: 64 }), memGb: fc.integer({ min: 16, max: 512 }) });
const clusterArb = fc.array(nodeArb, { minLength: 1, maxLength: 6 }).map((ns): NodeInfo[] =>
  ns.map((n, i) => ({ name: `n${i}`, gpus: Array.from({ length: n.gpus }, (_, index) => ({ index, type: n.type })), cpuMilli: n.cpu * 1000, memoryMb: n.memGb * 1024 })),
);
const replicaArb: fc.Arbitrary<ReplicaRequest> = fc
  .record({
    kind: fc.constantFrom("whole", "whole", "whole", "shared", "cpu"),
    gpus: fc.integer({ min: 1, max: 4 }),
    milli: fc.integer({ min: 1, max: 999 }),
    type: fc.constantFrom(undefined, undefined, "A100", "T4", "A100|T4"),
    cpu: fc.integer({ min: 1, max: 16 }),
    memGb: fc.integer({ min: 1, max: 64 }),
  })
  .map((r) => {
    const base = { cpuMilli: r.cpu * 1000, memoryMb: r.memGb * 1024 };
    if (r.kind === "cpu") return { gpus: 0, ...base };
    const typed = r.type !== undefined ? { gpuType: r.type } : {};
    return r.kind === "shared" ? { gpus: 0, gpuMilli: r.milli, ...typed, ...base } : { gpus: r.gpus, ...typed, ...base };
  });
const jobArb = fc.record({
  replicas: fc.array(replicaArb, { minLength: 1, maxLength: 3 }),
  priority: fc.integer({ min: 0, max: 2 }),
  queue: fc.constantFrom(...QUEUES),
  attainedH: fc.constantFrom(0, 0, 5, 50, 500),
  waitedH: fc.integer({ min: 0, max: 40 }),
  serving: fc.constantFrom(false, false, false, true),
});
const quotaArb = fc.record({ nominal: fc.integer({ min: 0, max: 12 }), borrow: fc.option(fc.integer({ min: 0, max: 8 })), lend: fc.option(fc.integer({ min: 0, max: 12 })) });
const queuesArb: fc.Arbitrary<QueuesConfig | undefined> = fc.option(
  fc.tuple(quotaArb, quotaArb, quotaArb, fc.boolean()).map(([a, b, c, sameCohort]) => ({
    queues: [a, b, c].map((q, i) => {
      const cohort = i < 2 || sameCohort ? "co" : undefined;
      const gpus = { nominalQuota: q.nominal, ...(cohort !== undefined && q.borrow !== null ? { borrowingLimit: q.borrow } : {}), ...(cohort !== undefined && q.lend !== null ? { lendingLimit: Math.min(q.lend, q.nominal) } : {}) };
      return { name: QUEUES[i]!, team: QUEUES[i]!, ...(cohort !== undefined ? { cohort } : {}), resources: { gpus, gpuMilli: { nominalQuota: 4000 } } };
    }),
  })),
  { nil: undefined },
);

const scenarioArb = fc.record({ nodes: clusterArb, first: fc.array(jobArb, { maxLength: 12 }), second: fc.array(jobArb, { maxLength: 12 }), queues: queuesArb, keep: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }), ranMin: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 12, maxLength: 12 }) });

/** Scenarios where serving replicas are common among the running jobs, and queues always configured (for reclaim). */
const servingScenarioArb = fc.record({
  nodes: clusterArb,
  first: fc.array(fc.tuple(jobArb, fc.boolean()).map(([j, serving]) => ({ ...j, serving })), { minLength: 3, maxLength: 12 }),
  second: fc.array(jobArb, { minLength: 1, maxLength: 12 }),
  // One cohort with small nominal quotas: queues borrow, and reclaim, often.
  queues: fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 3, maxLength: 3 }).map((nominal): QueuesConfig => ({
    queues: QUEUES.map((name, i) => ({ name, team: name, cohort: "co", resources: { gpus: { nominalQuota: nominal[i]! }, gpuMilli: { nominalQuota: 2000 } } })),
  })),
  keep: fc.array(fc.boolean(), { minLength: 12, maxLength: 12 }),
  ranMin: fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 12, maxLength: 12 }),
});

type JobSpec = { replicas: ReplicaRequest[]; priority: number; queue: string; attainedH: number; waitedH: number; serving: boolean };

function toPending(specs: readonly JobSpec[], prefix: string, nowMs: number): PendingJob[] {
  return specs.map((s, i) => ({
    uid: `${prefix}${i}`,
    name: `${prefix}${i}`,
    team: s.queue,
    queue: s.queue,
    priority: s.priority,
    submittedAtMs: nowMs - s.waitedH * H,
    seq: i,
    replicas: s.replicas,
    attainedGpuMs: s.attainedH * H,
    ...(s.serving ? { serving: true } : {}),
  }));
}

type Scenario = typeof scenarioArb extends fc.Arbitrary<infer T> ? T : never;

/** A reachable state: the running jobs are what the scheduler itself started in an earlier cycle. */
function build(s: Scenario, scheduler: Scheduler): ScheduleInput {
  const first = toPending(s.first, "r", NOW - 400 * 60_000);
  const d0 = scheduler.schedule({ nowMs: NOW - 400 * 60_000, nodes: s.nodes, pending: first, running: [], ...(s.queues !== undefined ? { queues: s.queues } : {}) });
  const running: RunningJob[] = [];
  d0.start.forEach((st, i) => {
    if (!s.keep[i % s.keep.length]!) return;
    const job = first.find((j) => j.uid === st.uid)!;
    running.push({ ...job, placement: st.placement, startedAtMs: NOW - s.ranMin[i % s.ranMin.length]! * 60_000, ...(st.preemptible === true ? { preemptible: true } : {}) });
  });
  return { nowMs: NOW, nodes: s.nodes, pending: toPending(s.second, "p", NOW), running, ...(s.queues !== undefined ? { queues: s.queues } : {}) };
}

/** No GPU, share of a GPU, CPU or memory is given out twice (running jobs, victims still stopping, and new starts together). */
function checkCapacity(input: ScheduleInput, d: ScheduleDecision): void {
  const used = new Map<string, number>();
  const whole = new Set<string>();
  const host = new Map<string, { cpu: number; mem: number }>();
  const take = (placement: RunningJob["placement"], replicas: readonly ReplicaRequest[], uid: string): void => {
    assert.equal(placement.length, replicas.length, `${uid}: one placement per replica (gang whole)`);
    placement.forEach((p, i) => {
      const node = input.nodes.find((n) => n.name === p.node);
      assert.ok(node !== undefined, `${uid}: placed on a node that exists`);
      const r = replicas[i]!;
      const shared = r.gpus === 0 && (r.gpuMilli ?? 0) > 0;
      assert.equal(p.gpuIndices.length, shared ? 1 : r.gpus, `${uid}: GPU count of replica ${i}`);
      for (const g of p.gpuIndices) {
        const gpu = node.gpus.find((x) => x.index === g);
        assert.ok(gpu !== undefined, `${uid}: GPU ${g} exists on ${p.node}`);
        if (r.gpuType !== undefined) assert.ok(r.gpuType.split("|").includes(gpu.type), `${uid}: GPU type ${gpu.type} is one of ${r.gpuType}`);
        const key = `${p.node}/${g}`;
        assert.ok(!whole.has(key), `${key} is given out twice`);
        const milli = shared ? p.gpuMilli! : 1000;
        if (!shared) whole.add(key);
        used.set(key, (used.get(key) ?? 0) + milli);
        assert.ok(used.get(key)! <= 1000, `${key}: ${used.get(key)} milli-GPU allocated`);
        if (!shared) assert.equal(used.get(key), 1000, `${key}: a whole GPU shared with a fractional job`);
      }
      const h = host.get(p.node) ?? { cpu: 0, mem: 0 };
      h.cpu += p.cpuMilli;
      h.mem += p.memoryMb;
      host.set(p.node, h);
      assert.ok(h.cpu <= node.cpuMilli && h.mem <= node.memoryMb, `${p.node}: CPU or memory overcommitted`);
    });
  };
  for (const r of input.running) take(r.placement, r.replicas, r.uid);
  for (const st of d.start) take(st.placement, input.pending.find((j) => j.uid === st.uid)!.replicas, st.uid);
}

/** Every queue stays within nominal + borrowing limit, and each cohort within what its members lend. */
function checkQuotas(input: ScheduleInput, d: ScheduleDecision): void {
  if (input.queues === undefined) return;
  const cq = compileQueues(input.queues);
  const usage = new Map<string, number>();
  const add = (job: PendingJob): void => {
    const q = resolveQueue(cq, job);
    assert.ok(q !== undefined);
    usage.set(q.name, (usage.get(q.name) ?? 0) + job.replicas.reduce((s, r) => s + r.gpus, 0));
  };
  for (const r of input.running) add(r);
  for (const st of d.start) add(input.pending.find((j) => j.uid === st.uid)!);
  const pool = new Map<string, number>();
  for (const spec of input.queues.queues) {
    const u = usage.get(spec.name) ?? 0;
    const g = spec.resources["gpus"]!;
    const ceiling = spec.cohort === undefined ? g.nominalQuota : g.nominalQuota + (g.borrowingLimit ?? Infinity);
    assert.ok(u <= ceiling, `queue ${spec.name} uses ${u} GPUs > ${ceiling}`);
    if (spec.cohort !== undefined) {
      const keep = g.nominalQuota - (g.lendingLimit ?? g.nominalQuota);
      pool.set(spec.cohort, (pool.get(spec.cohort) ?? 0) + Math.max(0, u - keep) - (g.lendingLimit ?? g.nominalQuota));
    }
  }
  for (const [c, over] of pool) assert.ok(over <= 1e-9, `cohort ${c} draws ${over} GPUs more than its members lend`);
}

/** Each victim gives way on a ground the order allows, for a waiting job that comes before it. */
function checkPreemptions(input: ScheduleInput, d: ScheduleDecision): void {
  const thresholds = [36_000_000, 360_000_000];
  for (const p of d.preempt) {
    const v = input.running.find((r) => r.uid === p.uid);
    const by = input.pending.find((j) => j.uid === p.forUid);
    assert.ok(v !== undefined && by !== undefined, "victim is running, preemptor is waiting");
    assert.ok(d.waiting.some((w) => w.uid === by.uid), "the preemptor waits for its victims to stop");
    assert.ok(!d.start.some((s) => s.uid === by.uid));
    const gpus = v.replicas.reduce((s, r) => s + (r.gpus > 0 ? r.gpus : (r.gpuMilli ?? 0) / 1000), 0);
    const vLevel = serviceLevel({ thresholdsGpuMs: thresholds, starvationMs: 12 * H }, (v.attainedGpuMs ?? 0) + gpus * (input.nowMs - v.startedAtMs));
    const sameQueue = input.queues === undefined || v.queue === by.queue;
    switch (p.kind) {
      case "backfill":
        assert.equal(v.preemptible, true);
        assert.ok(v.priority <= by.priority);
        break;
      case "reclaim":
        assert.ok(input.queues !== undefined && v.queue !== by.queue);
        break;
      case "las":
        assert.ok(sameQueue && v.priority === by.priority && vLevel > 0, "LAS victims are at a higher level, same priority");
        assert.ok(input.nowMs - v.startedAtMs >= 10 * 60_000, "after the minimum run time");
        break;
      case "priority":
        assert.ok(sameQueue && v.priority < by.priority);
        break;
      default:
        assert.fail(`unknown kind ${String(p.kind)}`);
    }
  }
  assert.equal(new Set(d.preempt.map((p) => p.uid)).size, d.preempt.length, "no job preempted twice");
}

/**
 * Serving replicas: never started as backfill, never a backfill or LAS victim, and never preempted for work of their
 * priority or lower but to reclaim what their queue's serving replicas held beyond its nominal quota (so they keep it).
 */
function checkServing(input: ScheduleInput, d: ScheduleDecision): void {
  for (const st of d.start) if (input.pending.find((j) => j.uid === st.uid)!.serving === true) assert.notEqual(st.preemptible, true, `${st.uid}: a serving replica started as backfill`);
  const reclaimed = new Map<string, RunningJob[]>();
  for (const p of d.preempt) {
    const v = input.running.find((r) => r.uid === p.uid)!;
    if (v.serving !== true) continue;
    const by = input.pending.find((j) => j.uid === p.forUid)!;
    assert.ok(p.kind === "priority" || p.kind === "reclaim", `${v.uid}: a serving replica preempted as ${p.kind}`);
    if (by.priority > v.priority) continue;
    assert.equal(p.kind, "reclaim", `${v.uid} (priority ${v.priority}) preempted for ${by.uid} (priority ${by.priority})`);
    reclaimed.set(v.queue, [...(reclaimed.get(v.queue) ?? []), v]);
  }
  if (reclaimed.size === 0) return;
  const cq = compileQueues(input.queues!);
  const use = (jobs: readonly PendingJob[], resource: "gpus" | "gpuMilli"): number =>
    jobs.reduce((n, j) => n + j.replicas.reduce((m, r) => m + (resource === "gpus" ? r.gpus : r.gpus === 0 ? (r.gpuMilli ?? 0) : 0), 0), 0);
  for (const [queue, victims] of reclaimed) {
    const q = resolveQueue(cq, victims[0]!)!;
    const mine = (j: PendingJob): boolean => j.serving === true && resolveQueue(cq, j) === q;
    const held = [...input.running.filter(mine), ...d.start.map((st) => input.pending.find((j) => j.uid === st.uid)!).filter(mine)];
    const spec = input.queues!.queues.find((x) => x.name === q.name)!;
    for (const resource of ["gpus", "gpuMilli"] as const) {
      if (use(victims, resource) === 0) continue;
      const after = use(held, resource) - use(victims, resource);
      assert.ok(after >= spec.resources[resource]!.nominalQuota, `queue ${queue}: reclaim left its serving replicas ${after} ${resource}, below nominal ${spec.resources[resource]!.nominalQuota}`);
    }
  }
}

function checkAccounted(input: ScheduleInput, d: ScheduleDecision): void {
  const seen = [...d.start.map((s) => s.uid), ...d.waiting.map((w) => w.uid)].sort();
  assert.deepEqual(seen, input.pending.map((j) => j.uid).sort(), "every waiting job is started or given a reason, once");
  d.waiting.forEach((w, i) => assert.equal(w.position, i + 1));
  for (const w of d.waiting) assert.ok(w.reason.length > 0);
}

describe("scheduler properties", () => {
  it("never allocates a GPU or a share of one twice, never places part of a gang, honours GPU types (switchyard)", () => {
    const sy = createSwitchyardScheduler();
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const input = build(s, sy);
        const d = sy.schedule(input);
        checkCapacity(input, d);
        checkAccounted(input, d);
      }),
      { numRuns: 150 },
    );
  });

  it("keeps every queue within nominal quota plus permitted borrowing", () => {
    const sy = createSwitchyardScheduler();
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const input = build(s, sy);
        checkQuotas({ ...input, running: input.running }, { start: [], preempt: [], waiting: [] });
        checkQuotas(input, sy.schedule(input));
      }),
      { numRuns: 150 },
    );
  });

  it("preempts only along the order: backfilled work, borrowed quota, higher LAS levels, lower priority", () => {
    const sy = createSwitchyardScheduler();
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const input = build(s, sy);
        checkPreemptions(input, sy.schedule(input));
      }),
      { numRuns: 150 },
    );
  });

  it("never preempts a serving replica for work of its priority or lower, but to reclaim what serving borrowed beyond nominal", () => {
    const sy = createSwitchyardScheduler();
    let spared = 0;
    let reclaimed = 0;
    fc.assert(
      fc.property(servingScenarioArb, (s) => {
        const input = build(s, sy);
        const d = sy.schedule(input);
        checkServing(input, d);
        const serving = (uid: string): RunningJob | undefined => input.running.find((r) => r.uid === uid && r.serving === true);
        reclaimed += d.preempt.filter((p) => p.kind === "reclaim" && serving(p.uid) !== undefined).length;
        // The same cycle without the class: how often it was what kept a replica running (else the property says nothing).
        const bare = sy.schedule({ ...input, running: input.running.map(({ serving: _s, ...r }) => r) });
        for (const p of bare.preempt) {
          const v = serving(p.uid);
          if (v !== undefined && v.priority >= input.pending.find((j) => j.uid === p.forUid)!.priority && !d.preempt.some((x) => x.uid === p.uid)) spared++;
        }
      }),
      { numRuns: 800 },
    );
    assert.ok(spared > 0 && reclaimed > 0, `generated cycles where the class kept a replica running (${spared}) and where reclaim took what serving borrowed (${reclaimed})`);
  });

  it("decides the same way for the same input", () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const input = build(s, createSwitchyardScheduler());
        assert.deepEqual(createSwitchyardScheduler().schedule(input), createSwitchyardScheduler().schedule(structuredClone(input)));
      }),
      { numRuns: 60 },
    );
  });

  it("holds the same capacity and gang invariants for the FIFO baselines", () => {
    for (const scheduler of [createPriorityFifoScheduler(), createPriorityFifoScheduler({ blocking: false }), createPriorityFifoScheduler({ placement: "first-fit" })]) {
      fc.assert(
        fc.property(scenarioArb, (s) => {
          const input = build({ ...s, queues: undefined }, scheduler);
          const d = scheduler.schedule(input);
          checkCapacity(input, d);
          checkAccounted(input, d);
          assert.deepEqual(d.preempt, []);
        }),
        { numRuns: 60 },
      );
    }
  });
});
