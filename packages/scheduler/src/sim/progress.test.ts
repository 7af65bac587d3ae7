import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { Code, SwitchyardError } from "@switchyard/core";
import { createSwitchyardScheduler } from "../scheduler-switchyard.js";
import type { ScheduleInput, Scheduler } from "../types.js";
import { uniformCluster } from "./cluster-spec.js";
import { simulate, type SimResult } from "./simulator.js";
import { generateShortJobs } from "./synthetic.js";
import { defaultReplica, rescaleLoad, type SimJob } from "./workload.js";

// The progress guarantee, played against random small busy clusters with short jobs (the workloads on which the
// scheduler used to thrash: a 60-job trace made over a million preemptions on 3 × 4 GPUs).

const MIN_RUN_MS = 10 * 60_000;
const MAX_PREEMPTIONS = 10;

/** The switchyard scheduler, recording each preemption (when, for whom) so that the test can check the preemptor started. */
function recorded(options: Parameters<typeof createSwitchyardScheduler>[0] = {}): { scheduler: Scheduler; preemptions: { atMs: number; uid: string; forUid: string | undefined }[] } {
  const inner = createSwitchyardScheduler(options);
  const preemptions: { atMs: number; uid: string; forUid: string | undefined }[] = [];
  return {
    preemptions,
    scheduler: {
      name: inner.name,
      schedule(input: ScheduleInput) {
        const d = inner.schedule(input);
        for (const p of d.preempt) preemptions.push({ atMs: input.nowMs, uid: p.uid, forUid: p.forUid });
        return d;
      },
    },
  };
}

const workloadArb = fc.record({
  nodes: fc.integer({ min: 1, max: 3 }),
  perNode: fc.constantFrom(2, 4, 8),
  jobs: fc.array(
    fc.record({
      gap: fc.integer({ min: 0, max: 90 }),
      durationS: fc.integer({ min: 30, max: 1500 }),
      gpus: fc.constantFrom(1, 1, 1, 2, 4, 8),
      priority: fc.constantFrom(0, 0, 0, 0, 1),
    }),
    { minLength: 5, maxLength: 50 },
  ),
});

function toJobs(w: { jobs: { gap: number; durationS: number; gpus: number; priority: number }[] }): SimJob[] {
  let t = 0;
  return w.jobs.map((j, i) => {
    t += j.gap;
    return { id: `j${i}`, submitS: t, durationS: j.durationS, replicas: [defaultReplica(j.gpus)], team: "t", priority: j.priority };
  });
}

function checkProgress(r: SimResult, jobs: readonly SimJob[], preemptions: { atMs: number; uid: string; forUid: string | undefined }[]): void {
  const byId = new Map(r.details!.map((d) => [d.id, d]));
  assert.equal(r.details!.length + r.refused.length, jobs.length, "every job is replayed or refused with a reason");
  for (const d of r.details!) {
    assert.ok(Number.isFinite(d.endS), `${d.id} finished`);
    assert.ok(d.preemptions <= MAX_PREEMPTIONS, `${d.id}: ${d.preemptions} preemptions (bound ${MAX_PREEMPTIONS})`);
    const preempted = d.runs.filter((x) => x.preempted);
    assert.equal(preempted.length, d.preemptions);
    // Never preempted twice without having run the minimum run time in between.
    preempted.slice(1).forEach((x, k) => {
      assert.ok(x.endS - x.startS >= MIN_RUN_MS / 1000, `${d.id}: preemption ${k + 2} after a run of ${x.endS - x.startS} s (minimum ${MIN_RUN_MS / 1000} s)`);
    });
  }
  // A preemption is made only for a job that starts at once on what it frees.
  for (const p of preemptions) {
    assert.ok(p.forUid !== undefined, `preemption of ${p.uid} names the job it makes room for`);
    const forJob = byId.get(p.forUid!);
    assert.ok(forJob !== undefined);
    assert.ok(
      forJob.runs.some((x) => x.startS === p.atMs / 1000),
      `${p.uid} was preempted at ${p.atMs / 1000} s for ${p.forUid}, which started at ${forJob.runs.map((x) => x.startS).join(", ")}`,
    );
  }
}

describe("progress guarantee under contention", () => {
  it("every replay of a random small busy cluster ends, with bounded preemptions and minimum runs between them", () => {
    let seen = 0;
    fc.assert(
      fc.property(workloadArb, (w) => {
        const jobs = toJobs(w);
        const { scheduler, preemptions } = recorded({ minRunTimeMs: MIN_RUN_MS, maxPreemptionsPerJob: MAX_PREEMPTIONS });
        const r = simulate({ jobs, nodes: uniformCluster(w.nodes, w.perNode), scheduler, details: true, maxWallMs: 60_000 });
        checkProgress(r, jobs, preemptions);
        seen += preemptions.length;
        const total = w.nodes * w.perNode;
        const tooBig = jobs.filter((j) => j.replicas[0]!.gpus > total).map((j) => j.id);
        assert.deepEqual(r.refused.map((x) => x.id), tooBig, "exactly the jobs larger than the cluster are refused");
      }),
      { numRuns: 120 },
    );
    assert.ok(seen > 0, "the workloads made the scheduler preempt (else the property says nothing)");
  });

  it("holds with any minimum run time and bound the options set", () => {
    let seen = 0;
    let atBound = 0;
    fc.assert(
      fc.property(workloadArb, fc.integer({ min: 0, max: 3 }), fc.integer({ min: 0, max: 1200 }), (w, bound, minRunS) => {
        const jobs = toJobs(w);
        const { scheduler, preemptions } = recorded({ minRunTimeMs: minRunS * 1000, maxPreemptionsPerJob: bound, backfillEvictAfterMs: 0, maxLostShare: 1 });
        const r = simulate({ jobs, nodes: uniformCluster(w.nodes, w.perNode), scheduler, details: true, maxWallMs: 60_000 });
        seen += preemptions.length;
        for (const d of r.details!) {
          if (bound > 0 && d.preemptions === bound) atBound++;
          assert.ok(d.preemptions <= bound, `${d.id}: ${d.preemptions} > ${bound}`);
          d.runs.filter((x) => x.preempted).slice(1).forEach((x) => assert.ok(x.endS - x.startS >= minRunS, `${d.id}: a run of ${x.endS - x.startS} s between preemptions`));
        }
        for (const p of preemptions) assert.ok(r.details!.find((d) => d.id === p.forUid)!.runs.some((x) => x.startS === p.atMs / 1000));
      }),
      { numRuns: 80 },
    );
    assert.ok(seen > 0 && atBound > 0, `the workloads preempted (${seen}) and some job reached its bound (${atBound})`);
  });

  it("replays 60 short jobs on 2 × 4 and 3 × 4 GPUs without thrashing (it made a million preemptions)", () => {
    for (const nodes of [2, 3]) {
      const jobs = rescaleLoad(generateShortJobs({ jobs: 60, seed: 7 }), nodes * 4, 1.2);
      const ours = simulate({ jobs, nodes: uniformCluster(nodes, 4) });
      const bestEffort = simulate({ jobs, nodes: uniformCluster(nodes, 4), policy: "best-effort-fifo" });
      assert.ok(ours.preemptionsPerJob <= 1, `${ours.preemptions} preemptions for 60 jobs`);
      assert.ok(ours.lostGpuTimePct < 5, `${ours.lostGpuTimePct}% of the GPU time lost`);
      // Simulated time, deterministic: not a timing assertion.
      assert.ok(ours.avgJctS <= 1.1 * bestEffort.avgJctS, `avg JCT ${ours.avgJctS} s against best-effort FIFO's ${bestEffort.avgJctS} s`);
    }
  });

  it("refuses a job larger than the cluster with a reason and replays the rest", () => {
    const jobs: SimJob[] = [
      { id: "fits", submitS: 0, durationS: 100, replicas: [defaultReplica(2)], team: "t", priority: 0 },
      { id: "huge", submitS: 1, durationS: 100, replicas: [defaultReplica(64)], team: "t", priority: 0 },
    ];
    const r = simulate({ jobs, nodes: uniformCluster(1, 4), details: true });
    assert.deepEqual(r.details!.map((d) => d.id), ["fits"]);
    assert.equal(r.refused.length, 1);
    assert.equal(r.refused[0]!.id, "huge");
    assert.match(r.refused[0]!.reason, /64|GPU/);
    assert.throws(() => simulate({ jobs: [jobs[1]!], nodes: uniformCluster(1, 4) }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /no job of the workload can ever fit/.test(e.message));
  });

  it("stops at the wall-time guard and says where it stood", () => {
    const jobs = generateShortJobs({ jobs: 200, seed: 1 });
    assert.throws(
      () => simulate({ jobs, nodes: uniformCluster(1, 4), maxWallMs: 0 }),
      (e: unknown) => e instanceof SwitchyardError && e.code === Code.DeadlineExceeded && /stopped after .* at simulated time .* jobs finished/.test(e.message),
    );
  });
});
