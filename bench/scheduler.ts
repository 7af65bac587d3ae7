// Scheduler benchmark: throughput of one cycle at scale, JCT against FIFO baselines in simulated time, and the FGD
// packing experiment on the Alibaba openb trace. Baselines are measured in the same run. Prints a table; the last
// line is one JSON object.
//   cd /work/main && npx tsc -b packages/scheduler && node --import tsx bench/scheduler.ts   (or: npm run bench -- scheduler)
//   --quick: fewer cycles and jobs (a smoke run, not the figures)
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createPriorityFifoScheduler,
  createSwitchyardScheduler,
  generatePhilly,
  generateShortJobs,
  mulberry32,
  parseOpenbNodes,
  parseOpenbTrace,
  rescaleLoad,
  simulate,
  simulateFill,
  uniformCluster,
  type PendingJob,
  type PolicyName,
  type QueuesConfig,
  type ReplicaRequest,
  type RunningJob,
  type Scheduler,
} from "@switchyard/scheduler";

const quick = process.argv.includes("--quick");
// --opts '{"minRunTimeMs":…}': switchyard scheduler options for the JCT matrix (to try settings; the figures use the defaults).
const optsAt = process.argv.indexOf("--opts");
const syOptions = optsAt >= 0 ? (JSON.parse(process.argv[optsAt + 1] ?? "{}") as Record<string, unknown>) : {};
// --matrix: the JCT matrix alone.
const matrixOnly = process.argv.includes("--matrix");
const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const p = (xs: number[], q: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((q / 100) * xs.length) - 1)]!;
const r2 = (x: number): number => Math.round(x * 100) / 100;
const log = (s = ""): void => void process.stdout.write(`${s}\n`);

// ---- 1. Throughput: 10,000 pending jobs, 20 queues, 1,000 nodes × 8 GPUs ----------------------------------------
const QUEUES = 20;
const PENDING = 10_000;
const nodes = uniformCluster(1000, 8, "A100");
const queues: QueuesConfig = {
  queues: Array.from({ length: QUEUES }, (_, i) => ({
    name: `q${i}`,
    team: `team-${i}`,
    cohort: i < 10 ? "research" : "product",
    resources: { gpus: { nominalQuota: 400, borrowingLimit: 800 }, gpuMilli: { nominalQuota: 20_000 } },
  })),
};

function workload(seed: number): () => PendingJob {
  const rng = mulberry32(seed);
  let seq = 0;
  return () => {
    const u = rng();
    const shape: ReplicaRequest =
      u < 0.05 ? { gpus: 0, gpuMilli: 250 + Math.floor(rng() * 3) * 250, cpuMilli: 2000, memoryMb: 8192 } : { gpus: u < 0.5 ? 1 : u < 0.7 ? 2 : u < 0.87 ? 4 : 8, cpuMilli: 4000, memoryMb: 16384 };
    const gang = rng() < 0.1;
    const replicas = gang ? Array.from({ length: 2 + Math.floor(rng() * 3) }, () => ({ ...shape, gpus: Math.max(shape.gpus, 4) })) : [shape];
    const q = Math.floor(rng() * QUEUES);
    const i = seq++;
    return {
      uid: `j${i}`,
      name: `job-${i}`,
      team: `team-${q}`,
      queue: `q${q}`,
      priority: rng() < 0.9 ? 0 : 1 + Math.floor(rng() * 3),
      submittedAtMs: i,
      seq: i,
      replicas,
      attainedGpuMs: rng() < 0.3 ? Math.floor(rng() * 400_000_000) : 0,
    };
  };
}

function throughput(make: () => Scheduler, cycles: number): { decisionsPerSec: number; cycleP99Ms: number; cycleP50Ms: number; started: number } {
  const next = workload(7);
  const rng = mulberry32(11);
  let pending: PendingJob[] = Array.from({ length: PENDING }, next);
  let running: RunningJob[] = [];
  const s = make();
  const times: number[] = [];
  let decisions = 0;
  let started = 0;
  for (let c = 0; c < cycles; c++) {
    const nowMs = 1_000_000 + c * 60_000;
    const t0 = performance.now();
    const d = s.schedule({ nowMs, nodes, pending, running, queues });
    const ms = performance.now() - t0;
    if (c > 0) times.push(ms); // the first cycle also compiles the topology and warms the JIT
    if (c > 0) decisions += d.start.length + d.waiting.length;
    started += d.start.length;
    const startedIds = new Map(d.start.map((x) => [x.uid, x]));
    const gone = new Set(d.preempt.map((x) => x.uid));
    const nextRunning: RunningJob[] = [];
    for (const r of running) if (!gone.has(r.uid) && rng() > 0.1) nextRunning.push(r); // ~10% finish each cycle
    const nextPending: PendingJob[] = [];
    for (const j of pending) {
      const st = startedIds.get(j.uid);
      if (st === undefined) nextPending.push(j);
      else nextRunning.push({ ...j, placement: st.placement, startedAtMs: nowMs, ...(st.preemptible === true ? { preemptible: true } : {}) });
    }
    for (const r of running) if (gone.has(r.uid)) nextPending.push({ ...r, queuedAtMs: nowMs });
    while (nextPending.length < PENDING) nextPending.push(next());
    pending = nextPending;
    running = nextRunning;
  }
  const total = times.reduce((a, b) => a + b, 0);
  return { decisionsPerSec: decisions / (total / 1000), cycleP99Ms: p(times, 99), cycleP50Ms: p(times, 50), started };
}

log("== Throughput: 10,000 pending (10% gangs), 20 queues in 2 cohorts, 1,000 nodes × 8 GPUs ==");
const cycles = matrixOnly ? 2 : quick ? 4 : 21;
const ours = throughput(() => createSwitchyardScheduler(), cycles);
const base = throughput(() => createPriorityFifoScheduler({ blocking: false }), cycles);
log(`${"scheduler".padEnd(22)}${"decisions/s".padStart(14)}${"cycle p50 ms".padStart(14)}${"cycle p99 ms".padStart(14)}`);
for (const [name, r] of [["switchyard", ours], ["best-effort-fifo", base]] as const) {
  log(`${name.padEnd(22)}${Math.round(r.decisionsPerSec).toLocaleString("en-US").padStart(14)}${r.cycleP50Ms.toFixed(1).padStart(14)}${r.cycleP99Ms.toFixed(1).padStart(14)}`);
}
log(`(${cycles - 1} measured cycles; a decision = one job placed or found unplaceable; ratio to the baseline ${(ours.decisionsPerSec / base.decisionsPerSec).toFixed(2)})`);

// ---- 2. JCT matrix: clusters × loads × job mixes × seeds, against FIFO, best-effort FIFO, Tiresias and the oracle --
// Cells where FIFO's mean queueing delay is under 10% of the mean run time are shown but not scored: nothing waits
// there, and every ratio is noise.
const SIZES: { gpus: number; nodes: number; perNode: number; jobs: number }[] = [
  { gpus: 8, nodes: 2, perNode: 4, jobs: 150 },
  { gpus: 16, nodes: 2, perNode: 8, jobs: 250 },
  { gpus: 64, nodes: 8, perNode: 8, jobs: 600 },
  { gpus: 512, nodes: 64, perNode: 8, jobs: 2000 },
].filter((c) => !quick || c.gpus <= 64);
const LOADS = [0.7, 1.0, 1.3];
const MIXES = { philly: generatePhilly, short: generateShortJobs } as const;
const SEEDS = quick ? [1] : [1, 2, 3];
const POLS: PolicyName[] = ["fifo", "best-effort-fifo", "switchyard", "tiresias", "srtf-oracle"];
const SHORT_GPU_S = 3600;

interface Cell {
  key: string;
  scored: boolean;
  jct: Record<string, number>;
  fifoWaitShare: number;
  shortP95Wait: Record<string, number>;
  preemptionsPerJob: number;
  tiresiasPreemptionsPerJob: number;
  tiresiasLostGpuTimePct: number;
  lostGpuTimePct: number;
  maxJobPreemptions: number;
}
const cells: Cell[] = [];
const t0 = performance.now();
log("\n== JCT matrix: GPUs × load × mix, seeds " + SEEDS.join(",") + "; avg JCT in s (mean of seeds) ==");
log(`${"cell".padEnd(20)}${POLS.map((p) => p.padStart(17)).join("")}${"fifo wait/run".padStart(15)}${"pre/job".padStart(9)}${"lost%".padStart(7)}${"Tir pre".padStart(9)}${"lost%".padStart(7)}`);
for (const size of SIZES) {
  const nodesOf = uniformCluster(size.nodes, size.perNode);
  for (const [mix, gen] of Object.entries(MIXES)) {
    for (const load of LOADS) {
      const sums: Record<string, number> = {};
      const waits: Record<string, number[]> = {};
      let fifoWait = 0;
      let meanRun = 0;
      let pre = 0;
      let lost = 0;
      let maxPre = 0;
      let tPre = 0;
      let tLost = 0;
      for (const seed of SEEDS) {
        const jobs = rescaleLoad(gen({ jobs: size.jobs, seed }), size.gpus, load);
        const work = new Map(jobs.map((j) => [j.id, j.durationS * j.replicas.reduce((g, r) => g + r.gpus, 0)]));
        meanRun += jobs.reduce((a, j) => a + j.durationS, 0) / jobs.length / SEEDS.length;
        for (const policy of POLS) {
          const r = simulate({ jobs, nodes: nodesOf, policy, details: true, maxWallMs: 15 * 60_000, ...(policy === "switchyard" ? { schedulerOptions: syOptions } : {}) });
          sums[policy] = (sums[policy] ?? 0) + r.avgJctS / SEEDS.length;
          (waits[policy] ??= []).push(...r.details!.filter((d) => (work.get(d.id) ?? Infinity) < SHORT_GPU_S).map((d) => d.queueS));
          if (policy === "fifo") fifoWait += r.avgQueueDelayS / SEEDS.length;
          if (policy === "tiresias") {
            tPre += r.preemptionsPerJob / SEEDS.length;
            tLost += r.lostGpuTimePct / SEEDS.length;
          }
          if (policy === "switchyard") {
            pre += r.preemptionsPerJob / SEEDS.length;
            lost += r.lostGpuTimePct / SEEDS.length;
            maxPre = Math.max(maxPre, r.maxJobPreemptions);
          }
        }
      }
      const key = `${size.gpus}/${load}/${mix}`;
      const share = fifoWait / meanRun;
      const cell: Cell = {
        key,
        scored: share >= 0.1,
        jct: sums,
        fifoWaitShare: share,
        shortP95Wait: Object.fromEntries(Object.entries(waits).map(([k, v]) => [k, v.length > 0 ? p(v, 95) : 0])),
        preemptionsPerJob: pre,
        lostGpuTimePct: lost,
        maxJobPreemptions: maxPre,
        tiresiasPreemptionsPerJob: tPre,
        tiresiasLostGpuTimePct: tLost,
      };
      cells.push(cell);
      log(
        `${(key + (cell.scored ? "" : " (-)")).padEnd(20)}${POLS.map((q) => Math.round(sums[q]!).toString().padStart(17)).join("")}${share.toFixed(2).padStart(15)}${pre.toFixed(2).padStart(9)}${lost.toFixed(1).padStart(7)}${tPre.toFixed(2).padStart(9)}${tLost.toFixed(1).padStart(7)}`,
      );
    }
  }
}
const scored = cells.filter((c) => c.scored);
const perCell = (f: (c: Cell) => number, only: Cell[] = scored): Record<string, number> => Object.fromEntries(only.map((c) => [c.key, r2(f(c))]));
const oracleCells = scored.filter((c) => c.jct["fifo"]! / c.jct["srtf-oracle"]! >= 1.2);
const gainCaptured = perCell((c) => c.jct["srtf-oracle"]! / c.jct["switchyard"]!, oracleCells);
const vsTiresias = perCell((c) => c.jct["tiresias"]! / c.jct["switchyard"]!);
const vsBestEffort = perCell((c) => c.jct["switchyard"]! / c.jct["best-effort-fifo"]!);
const tiresiasGain = perCell((c) => c.jct["srtf-oracle"]! / c.jct["tiresias"]!, oracleCells);
const shortWaitOf = (policy: string) => perCell((c) => (c.shortP95Wait[policy]! > 0 ? c.shortP95Wait["fifo"]! / c.shortP95Wait[policy]! : c.shortP95Wait["fifo"]! > 0 ? 1e6 : 1));
const shortWait = shortWaitOf("switchyard");
const shortWaitOracle = shortWaitOf("srtf-oracle");
const min = (o: Record<string, number>): number => Math.min(...Object.values(o));
const max = (o: Record<string, number>): number => Math.max(...Object.values(o));
const med = (o: Record<string, number>): number => median(Object.values(o));
log(`scored cells: ${scored.length} of ${cells.length}; (-) = FIFO's mean queueing delay under 10% of the mean run time`);
log(`oracle JCT / ours, where the oracle gains ≥ 1.2× over FIFO (goal ≥ 0.8 each): ${JSON.stringify(gainCaptured)}`);
log(`the same for Tiresias (the best published policy without run times):       ${JSON.stringify(tiresiasGain)}`);
log(`Tiresias JCT / ours (goal ≥ 0.98 each, ≥ 1.1 median):                          ${JSON.stringify(vsTiresias)}`);
log(`ours / best-effort FIFO (goal ≤ 1.05 worst):                                  ${JSON.stringify(vsBestEffort)}`);
log(`p95 queueing of jobs under 1 GPU-hour, FIFO / ours (goal ≥ 10):               ${JSON.stringify(shortWait)}`);
log(`the same for the oracle (1e6: it never keeps them waiting):                ${JSON.stringify(shortWaitOracle)}`);
log(`(${((performance.now() - t0) / 1000).toFixed(0)} s for ${cells.length * SEEDS.length * POLS.length} simulations)`);

// ---- 3. Packing: openb --fill on its 1,213 GPU nodes -------------------------------------------------------------
log("\n== Packing (FGD experiment): alibaba-openb pod lists on the 1,213 GPU nodes ==");
const dir = join(root, "..", "shared", "data", "traces", "alibaba-openb");
const nodesPath = join(dir, "openb_node_list_gpu_node.csv");
const LISTS = ["default", "multigpu20", "gpushare40", "gpuspec10"];
const fillStrandedGpus: Record<string, { ours: number; firstFit: number; bestFit: number }> = {};
if (matrixOnly) {
  log("skipped (--matrix)");
} else if (!existsSync(nodesPath)) {
  log(`skipped: the openb trace is not at ${dir} (see shared/data/traces/alibaba-openb/README.md)`);
} else {
  const gpuNodes = parseOpenbNodes(readFileSync(nodesPath, "utf8"), nodesPath);
  log(`${"list".padEnd(12)}${"placement".padEnd(20)}${"offered".padStart(9)}${"refused".padStart(9)}${"allocated GPUs".padStart(16)}${"stranded GPUs".padStart(15)}`);
  for (const list of LISTS) {
    const podsPath = join(dir, `openb_pod_list_${list}.csv`);
    if (!existsSync(podsPath)) {
      log(`${list.padEnd(12)}skipped: ${podsPath} is absent`);
      continue;
    }
    const trace = parseOpenbTrace(readFileSync(podsPath, "utf8"), podsPath);
    const fill = (placement: "fgd" | "first-fit" | "best-fit") => simulateFill({ jobs: trace.all, nodes: gpuNodes, placement });
    const [fgd, ff, bf] = [fill("fgd"), fill("first-fit"), fill("best-fit")];
    for (const [name, r] of [["switchyard (fgd)", fgd], ["first-fit", ff], ["best-fit", bf]] as const) {
      log(`${list.padEnd(12)}${name.padEnd(20)}${String(r.offered).padStart(9)}${String(r.refused).padStart(9)}${r.allocatedGpus.toFixed(1).padStart(16)}${r.strandedGpus.toFixed(1).padStart(15)}`);
    }
    fillStrandedGpus[list] = { ours: r2(fgd.strandedGpus), firstFit: r2(ff.strandedGpus), bestFit: r2(bf.strandedGpus) };
  }
  log("(6,212 GPUs; stranded = free GPU capacity that no refused job could use)");
}

log(
  JSON.stringify({
    decisionsPerSec: Math.round(ours.decisionsPerSec),
    gainCapturedVsOracle: oracleCells.length > 0 ? r2(min(gainCaptured)) : null,
    jctVsTiresias: { worst: r2(min(vsTiresias)), median: r2(med(vsTiresias)) },
    worstVsBestEffort: r2(max(vsBestEffort)),
    shortJobQueueDelayP95VsFifo: { median: r2(med(shortWait)), worst: r2(min(shortWait)) },
    preemptionsPerJob: r2(Math.max(...cells.map((c) => c.preemptionsPerJob))),
    lostGpuTimePct: r2(Math.max(...cells.map((c) => c.lostGpuTimePct))),
    maxJobPreemptions: Math.max(...cells.map((c) => c.maxJobPreemptions)),
    tiresias: {
      gainCapturedVsOracle: oracleCells.length > 0 ? r2(min(tiresiasGain)) : null,
      preemptionsPerJob: r2(Math.max(...cells.map((c) => c.tiresiasPreemptionsPerJob))),
      lostGpuTimePct: r2(Math.max(...cells.map((c) => c.tiresiasLostGpuTimePct))),
    },
    oracleShortJobQueueDelayP95VsFifo: { median: r2(med(shortWaitOracle)), worst: r2(min(shortWaitOracle)) },
    fillStrandedGpus,
    cycleP99Ms: r2(ours.cycleP99Ms),
    baselineDecisionsPerSec: Math.round(base.decisionsPerSec),
    perCell: { gainCapturedVsOracle: gainCaptured, jctVsTiresias: vsTiresias, vsBestEffort, shortJobQueueDelayP95VsFifo: shortWait },
    quick,
  }),
);
