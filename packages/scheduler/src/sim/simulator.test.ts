import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { simulate, type SimResult } from "./simulator.js";
import { simulateFill } from "./fill.js";
import { generatePhilly } from "./synthetic.js";
import { rescaleLoad, assignTeams, simJobGpus, type SimJob } from "./workload.js";
import { uniformCluster } from "./cluster-spec.js";
import type { NodeInfo, QueuesConfig } from "../types.js";

const job = (id: string, submitS: number, durationS: number, gpus: number, extra: Partial<SimJob> = {}): SimJob => ({
  id,
  submitS,
  durationS,
  replicas: [{ gpus, cpuMilli: 1000, memoryMb: 1024 }],
  team: "t",
  priority: 0,
  ...extra,
});
const byId = (r: SimResult): Map<string, NonNullable<SimResult["details"]>[number]> => new Map(r.details!.map((d) => [d.id, d]));
const timeless = ({ decisionsPerSec: _d, schedulerMs: _s, ...rest }: SimResult): object => rest;

describe("simulator", () => {
  it("replays arrivals and completions in simulated time (FIFO on one GPU)", () => {
    const r = simulate({ jobs: [job("a", 0, 100, 1), job("b", 10, 50, 1)], nodes: uniformCluster(1, 1), policy: "fifo", details: true });
    const d = byId(r);
    assert.deepEqual([d.get("a")!.endS, d.get("b")!.firstStartS, d.get("b")!.endS], [100, 100, 150]);
    assert.equal(r.avgJctS, (100 + 140) / 2);
    assert.equal(r.avgQueueDelayS, 45);
    assert.equal(r.makespanS, 150);
    assert.equal(r.gpuUtilization, 1);
  });

  it("charges a preemption the work since the last checkpoint and a restart penalty", () => {
    const jobs = [job("long", 0, 10_000, 1), job("short", 2000, 500, 1)];
    const r = simulate({ jobs, nodes: uniformCluster(1, 1), schedulerOptions: { lasThresholdsGpuS: [1000] }, restartPenaltyS: 30, checkpointIntervalS: 600, details: true });
    const d = byId(r);
    assert.equal(r.preemptions, 1);
    assert.deepEqual([d.get("short")!.firstStartS, d.get("short")!.endS], [2000, 2500]);
    // 2,000 s run, checkpoints every 600 s: 1,800 s kept, 200 s lost; 30 s to restart.
    assert.equal(d.get("long")!.endS, 2500 + 30 + (10_000 - 1800));
    assert.equal(d.get("long")!.queueS, 500);
    assert.equal(r.gpuUtilization, 1, "lost work and restarts still hold the GPU");
  });

  it("backfills ahead of a blocked gang and gives way once the gang has waited an hour, just after a checkpoint", () => {
    const jobs = [job("r", 0, 1000, 4), job("big", 10, 100, 8), job("small", 20, 5000, 2)];
    const nodes = uniformCluster(1, 8);
    const ours = byId(simulate({ jobs, nodes, details: true }));
    // big has waited an hour at 3,610 s; the review grid (60 s) runs the cycle at 3,660 s, 40 s after small's
    // sixth checkpoint (3,620 s): little is lost, so small gives way and big starts at once on what it frees.
    assert.deepEqual([ours.get("small")!.firstStartS, ours.get("big")!.firstStartS, ours.get("big")!.endS], [20, 3660, 3760]);
    assert.equal(ours.get("small")!.endS, 3760 + 30 + (5000 - 3600), "3,640 s run, six checkpoints kept");
    const bestEffort = byId(simulate({ jobs, nodes, policy: "best-effort-fifo", details: true }));
    assert.equal(bestEffort.get("big")!.firstStartS, 5020, "without preemption the gang waits for the backfilled job");
    const fifo = byId(simulate({ jobs, nodes, policy: "fifo", details: true }));
    assert.equal(fifo.get("small")!.firstStartS, 1100, "strict FIFO: no backfill");
  });

  it("reclaims lent quota for the lender's job at once", () => {
    const queues: QueuesConfig = {
      queues: [
        { name: "a", team: "a", cohort: "c", resources: { gpus: { nominalQuota: 4 } } },
        { name: "b", team: "b", cohort: "c", resources: { gpus: { nominalQuota: 4 } } },
      ],
    };
    const jobs = [job("a1", 0, 10_000, 4, { team: "a" }), job("a2", 1, 10_000, 4, { team: "a" }), job("b1", 2402, 100, 4, { team: "b" })];
    const r = simulate({ jobs, nodes: uniformCluster(1, 8), queues, details: true });
    const d = byId(r);
    assert.equal(d.get("b1")!.firstStartS, 2402);
    assert.equal(r.preemptions, 1);
    assert.equal(d.get("a2")!.preemptions, 1, "a2 checkpointed 1 s ago, a1 602 s ago: fewest GPU-seconds lost");
  });

  it("shares the cluster across teams by dominant resource, not by arrival", () => {
    const jobs = [...[1, 2, 3, 4, 5, 6, 7, 8].map((i) => job(`a${i}`, 0, 100 * i, 1, { team: "a" })), job("b1", 1, 50, 1, { team: "b" }), job("b2", 2, 50, 1, { team: "b" })];
    const ours = byId(simulate({ jobs, nodes: uniformCluster(1, 4), details: true }));
    assert.deepEqual([ours.get("b1")!.firstStartS, ours.get("b2")!.firstStartS], [100, 150]);
    const fifo = byId(simulate({ jobs, nodes: uniformCluster(1, 4), policy: "fifo", details: true }));
    assert.ok(fifo.get("b1")!.firstStartS > fifo.get("a8")!.firstStartS);
  });

  it("gives the same schedule for the same seed", () => {
    const jobs = rescaleLoad(generatePhilly({ jobs: 150, seed: 5 }), 32, 1.2);
    const nodes = uniformCluster(4, 8);
    const a = simulate({ jobs: assignTeams(jobs, 3), nodes, details: true });
    const b = simulate({ jobs: assignTeams(rescaleLoad(generatePhilly({ jobs: 150, seed: 5 }), 32, 1.2), 3), nodes, details: true });
    assert.deepEqual(timeless(a), timeless(b));
    assert.ok(a.preemptions > 0 && a.perTeam.length === 3);
    assert.notDeepEqual(timeless(a), timeless(simulate({ jobs: rescaleLoad(generatePhilly({ jobs: 150, seed: 6 }), 32, 1.2), nodes, details: true })));
  });

  it("beats FIFO on average JCT under load without losing utilization", () => {
    const jobs = rescaleLoad(generatePhilly({ jobs: 300, seed: 2 }), 64, 1.3);
    const nodes = uniformCluster(8, 8);
    const fifo = simulate({ jobs, nodes, policy: "fifo" });
    const ours = simulate({ jobs, nodes });
    assert.ok(ours.avgJctS < fifo.avgJctS, `${ours.avgJctS} < ${fifo.avgJctS}`);
    assert.ok(ours.gpuUtilization >= fifo.gpuUtilization * 0.97);
  });

  it("refuses a job that can never fit, and a cluster without GPUs", () => {
    const huge = job("huge", 0, 10, 1, { replicas: [{ gpus: 1, cpuMilli: 10_000_000, memoryMb: 1 }] });
    assert.throws(() => simulate({ jobs: [huge], nodes: uniformCluster(2, 8) }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.InvalidArgument);
      assert.match(e.message, /no job of the workload can ever fit on this cluster \(first: huge: can never fit: needs 10000000 cpuMilli on one node/);
      return true;
    });
    const r = simulate({ jobs: [huge, job("small", 1, 10, 1)], nodes: uniformCluster(2, 8) });
    assert.equal(r.jobs, 1);
    assert.deepEqual(r.refused.map((x) => x.id), ["huge"]);
    const cpuOnly: NodeInfo[] = [{ name: "c", gpus: [], cpuMilli: 1000, memoryMb: 1000 }];
    assert.throws(() => simulate({ jobs: [job("a", 0, 1, 1)], nodes: cpuOnly }), /the cluster has no GPUs/);
    assert.throws(() => simulate({ jobs: [], nodes: uniformCluster(1, 1) }), /the workload has no jobs/);
  });

  it("leaves serving replicas out of the training figures and reports them apart", () => {
    const server = job("server", 0, 0, 2, { serving: true });
    const jobs = [server, job("a", 0, 100, 2), job("b", 10, 50, 2), job("late-server", 20, 0, 2, { serving: true })];
    for (const policy of ["switchyard", "fifo", "tiresias", "srtf-oracle"] as const) {
      const r = simulate({ jobs, nodes: uniformCluster(1, 4), policy, details: true });
      const d = byId(r);
      // b waits for a; the second server waits for a or b to end and then runs to the end, with the first.
      assert.deepEqual([r.jobs, r.avgJctS, r.avgQueueDelayS, r.p95JctS, r.makespanS, r.preemptions], [2, (100 + 140) / 2, 45, 140 - 0.05 * 40, 150, 0], policy);
      assert.deepEqual(r.serving, { replicas: 2, stops: 0, avgWaitS: (0 + 130) / 2, maxWaitS: 130, waitingAtEnd: 0, gpuHours: (2 * 150 + 2 * 0) / 3600 }, policy);
      assert.deepEqual([d.get("server")!.serving, d.get("server")!.runs, Number.isNaN(d.get("server")!.jctS)], [true, [{ startS: 0, endS: 150, preempted: false }], true]);
      assert.equal(r.gpuUtilization, (2 * 150 + 2 * 100 + 2 * 50) / (4 * 150), "serving time counts as allocated");
    }
  });

  it("ends when the training is done: a serving replica still waiting then, or stopped by a higher priority, is reported so", () => {
    const full = simulate({ jobs: [job("s1", 0, 0, 3, { serving: true }), job("a", 1, 100, 1), job("s2", 2, 0, 2, { serving: true })], nodes: uniformCluster(1, 4) });
    assert.deepEqual([full.jobs, full.makespanS], [1, 101]);
    assert.deepEqual(full.serving, { replicas: 2, stops: 0, avgWaitS: 99 / 2, maxWaitS: 99, waitingAtEnd: 1, gpuHours: (3 * 101) / 3600 });
    const urgent = simulate({ jobs: [job("s", 0, 0, 4, { serving: true }), job("big", 10, 100, 4, { priority: 1 })], nodes: uniformCluster(1, 4), details: true });
    assert.deepEqual([urgent.preemptions, urgent.serving!.stops, urgent.serving!.avgWaitS, urgent.avgJctS], [0, 1, 100, 100]);
    assert.deepEqual(byId(urgent).get("s")!.runs, [{ startS: 0, endS: 10, preempted: true }, { startS: 110, endS: 110, preempted: false }]);
    // Serving replicas that hold the room for good stall a training job that needs it: the replay says so.
    assert.throws(() => simulate({ jobs: [job("s", 0, 0, 1, { serving: true }), job("wide", 1, 10, 4)], nodes: uniformCluster(1, 4) }), /the simulation stalled: 1 jobs can never start; first: wide/);
  });

  it("splits a job larger than a node into a gang of node-sized replicas", () => {
    const r = simulate({ jobs: [job("wide", 0, 100, 16)], nodes: uniformCluster(2, 8), details: true });
    assert.equal(r.details![0]!.endS, 100);
  });
});

describe("workloads", () => {
  it("draws philly jobs with the published mix of sizes and durations", () => {
    const jobs = generatePhilly({ jobs: 20_000, seed: 1 });
    const share = (g: number): number => jobs.filter((j) => simJobGpus(j) === g).length / jobs.length;
    assert.ok(Math.abs(share(1) - 0.7) < 0.015 && Math.abs(share(2) - 0.1) < 0.01 && Math.abs(share(4) - 0.15) < 0.01 && Math.abs(share(8) - 0.05) < 0.01);
    const short = jobs.filter((j) => j.durationS < 60_000).length / jobs.length;
    assert.ok(Math.abs(short - 0.8) < 0.015);
    assert.ok(jobs.every((j) => j.durationS >= 60 * 10 ** 1.5 - 1 && j.durationS <= 600_000));
    assert.deepEqual(generatePhilly({ jobs: 50, seed: 9 }), generatePhilly({ jobs: 50, seed: 9 }));
  });

  it("rescales arrivals to the offered load asked for", () => {
    const jobs = rescaleLoad(generatePhilly({ jobs: 500, seed: 3 }), 128, 0.8);
    const span = jobs.at(-1)!.submitS - jobs[0]!.submitS;
    const work = jobs.reduce((s, j) => s + simJobGpus(j) * j.durationS, 0);
    assert.ok(Math.abs(work / (128 * span) - 0.8) < 1e-9);
  });
});

describe("packing experiment (fill)", () => {
  it("keeps CPU-only work off the GPU nodes it would strand, where first-fit does not", () => {
    const nodes: NodeInfo[] = [
      { name: "gpu", gpus: [{ index: 0, type: "T4" }], cpuMilli: 8000, memoryMb: 8192 },
      { name: "cpu", gpus: [], cpuMilli: 8000, memoryMb: 8192 },
    ];
    const jobs = [job("cpu-only", 0, 1, 0, { replicas: [{ gpus: 0, cpuMilli: 8000, memoryMb: 1024 }] }), job("gpu", 0, 1, 1)];
    const ours = simulateFill({ jobs, nodes, placement: "fgd" });
    const ff = simulateFill({ jobs, nodes, placement: "first-fit" });
    assert.deepEqual([ours.placed, ours.allocatedGpus, ours.strandedGpus], [2, 1, 0]);
    assert.deepEqual([ff.placed, ff.allocatedGpus, ff.strandedGpus], [1, 0, 1]);
  });

  it("offers jobs in trace order, cycling, until the requests add up to the cluster's GPUs", () => {
    const r = simulateFill({ jobs: [job("half", 0, 1, 0, { replicas: [{ gpus: 0, gpuMilli: 500, cpuMilli: 1, memoryMb: 1 }] })], nodes: uniformCluster(2, 2), placement: "fgd" });
    assert.deepEqual([r.offered, r.placed, r.allocatedGpus, r.strandedGpus], [8, 8, 4, 0]);
  });
});
