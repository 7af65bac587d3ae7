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
  type SimResult,
} from "@switchyard/scheduler";

const quick = process.argv.includes("--quick");
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
const cycles = quick ? 4 : 21;
const ours = throughput(() => createSwitchyardScheduler(), cycles);
const base = throughput(() => createPriorityFifoScheduler({ blocking: false }), cycles);
log(`${"scheduler".padEnd(22)}${"decisions/s".padStart(14)}${"cycle p50 ms".padStart(14)}${"cycle p99 ms".padStart(14)}`);
for (const [name, r] of [["switchyard", ours], ["best-effort-fifo", base]] as const) {
  log(`${name.padEnd(22)}${Math.round(r.decisionsPerSec).toLocaleString("en-US").padStart(14)}${r.cycleP50Ms.toFixed(1).padStart(14)}${r.cycleP99Ms.toFixed(1).padStart(14)}`);
}
log(`(${cycles - 1} measured cycles; a decision = one job placed or found unplaceable; ratio to the baseline ${(ours.decisionsPerSec / base.decisionsPerSec).toFixed(2)})`);

// ---- 2. JCT: synthetic Philly, 4,000 jobs, 64 nodes × 8 GPUs, seeds 1–3, loads 0.7 / 0.9 / 1.1 -------------------
log("\n== JCT: synthetic philly, 4,000 jobs, 64 nodes × 8 GPUs, seeds 1–3 ==");
const small = uniformCluster(64, 8);
const LOADS = ["0.7", "0.9", "1.1"] as const;
const SEEDS = quick ? [1] : [1, 2, 3];
const JOBS = 4000;
const POLS: PolicyName[] = ["fifo", "best-effort-fifo", "switchyard"];
const jct: Record<string, Record<string, SimResult[]>> = {};
const meanDuration: Record<string, number[]> = {};
const t0 = performance.now();
log(`${"load".padEnd(6)}${"seed".padEnd(6)}${"policy".padEnd(18)}${"avg JCT s".padStart(11)}${"p95 JCT s".padStart(11)}${"avg wait s".padStart(11)}${"util".padStart(7)}${"preempt".padStart(9)}${"sim s".padStart(7)}`);
for (const load of LOADS) {
  jct[load] = {};
  meanDuration[load] = [];
  for (const seed of SEEDS) {
    const jobs = rescaleLoad(generatePhilly({ jobs: JOBS, seed }), 512, Number(load));
    meanDuration[load]!.push(jobs.reduce((s, j) => s + j.durationS, 0) / jobs.length);
    for (const policy of POLS) {
      const s0 = performance.now();
      const r = simulate({ jobs, nodes: small, policy });
      (jct[load]![policy] ??= []).push(r);
      log(
        `${load.padEnd(6)}${String(seed).padEnd(6)}${policy.padEnd(18)}${Math.round(r.avgJctS).toString().padStart(11)}${Math.round(r.p95JctS).toString().padStart(11)}${Math.round(r.avgQueueDelayS).toString().padStart(11)}${r.gpuUtilization.toFixed(3).padStart(7)}${String(r.preemptions).padStart(9)}${((performance.now() - s0) / 1000).toFixed(1).padStart(7)}`,
      );
    }
  }
}
const ratio = (a: PolicyName, load: string): number => r2(median(jct[load]![a]!.map((r, i) => r.avgJctS / jct[load]!["switchyard"]![i]!.avgJctS)));
const jctVsFifo = Object.fromEntries(LOADS.map((l) => [l, ratio("fifo", l)]));
const jctVsBestEffort = Object.fromEntries(LOADS.map((l) => [l, ratio("best-effort-fifo", l)]));
// No policy beats every job running the moment it arrives: mean JCT ≥ mean run time. So FIFO's JCT / mean run time
// is the largest ratio any scheduler could reach on this workload.
const ceiling = (a: PolicyName): Record<string, number> => Object.fromEntries(LOADS.map((l) => [l, r2(median(jct[l]![a]!.map((r, i) => r.avgJctS / meanDuration[l]![i]!)))]));
const waitRatio = (a: PolicyName): Record<string, number | null> =>
  Object.fromEntries(LOADS.map((l) => [l, jct[l]!["switchyard"]!.every((r) => r.avgQueueDelayS > 0) ? r2(median(jct[l]![a]!.map((r, i) => r.avgQueueDelayS / jct[l]!["switchyard"]![i]!.avgQueueDelayS))) : null]));
const utilVsFifo = Object.fromEntries(LOADS.map((l) => [l, r2(median(jct[l]!["switchyard"]!.map((r, i) => r.gpuUtilization / jct[l]!["fifo"]![i]!.gpuUtilization)))]));
log(`FIFO avg JCT / ours (median of seeds):             ${JSON.stringify(jctVsFifo)}`);
log(`best-effort FIFO avg JCT / ours:                    ${JSON.stringify(jctVsBestEffort)}`);
log(`ceiling (baseline avg JCT / mean run time), FIFO:   ${JSON.stringify(ceiling("fifo"))}`);
log(`ceiling, best-effort FIFO:                          ${JSON.stringify(ceiling("best-effort-fifo"))}`);
log(`avg queueing delay, FIFO / ours:                    ${JSON.stringify(waitRatio("fifo"))}`);
log(`avg queueing delay, best-effort FIFO / ours:        ${JSON.stringify(waitRatio("best-effort-fifo"))}`);
log(`GPU utilization ours / FIFO:                        ${JSON.stringify(utilVsFifo)}`);
log(`(${((performance.now() - t0) / 1000).toFixed(0)} s for ${LOADS.length * SEEDS.length * POLS.length} simulations)`);

// ---- 3. Packing: openb --fill on its 1,213 GPU nodes -------------------------------------------------------------
log("\n== Packing (FGD experiment): alibaba-openb pods on the 1,213 GPU nodes ==");
const dir = join(root, "..", "shared", "data", "traces", "alibaba-openb");
const podsPath = join(dir, "openb_pod_list_default.csv");
const nodesPath = join(dir, "openb_node_list_gpu_node.csv");
let fillStrandedGpus: { ours: number; firstFit: number; bestFit?: number } | null = null;
if (!existsSync(podsPath) || !existsSync(nodesPath)) {
  log(`skipped: the openb trace is not at ${dir} (see shared/data/traces/alibaba-openb/README.md)`);
} else {
  const trace = parseOpenbTrace(readFileSync(podsPath, "utf8"), podsPath);
  const gpuNodes = parseOpenbNodes(readFileSync(nodesPath, "utf8"), nodesPath);
  const fill = (placement: "fgd" | "first-fit" | "best-fit") => simulateFill({ jobs: trace.all, nodes: gpuNodes, placement });
  const [fgd, ff, bf] = [fill("fgd"), fill("first-fit"), fill("best-fit")];
  log(`${"placement".padEnd(22)}${"offered".padStart(9)}${"refused".padStart(9)}${"allocated GPUs".padStart(16)}${"stranded GPUs".padStart(15)}`);
  for (const [name, r] of [["switchyard (fgd)", fgd], ["first-fit", ff], ["best-fit", bf]] as const) {
    log(`${name.padEnd(22)}${String(r.offered).padStart(9)}${String(r.refused).padStart(9)}${r.allocatedGpus.toFixed(1).padStart(16)}${r.strandedGpus.toFixed(1).padStart(15)}`);
  }
  log(`(${fgd.totalGpus} GPUs; stranded = free GPU capacity that no refused job could use)`);
  fillStrandedGpus = { ours: r2(fgd.strandedGpus), firstFit: r2(ff.strandedGpus), bestFit: r2(bf.strandedGpus) };
}

log(
  JSON.stringify({
    decisionsPerSec: Math.round(ours.decisionsPerSec),
    cycleP99Ms: r2(ours.cycleP99Ms),
    jctVsFifo,
    jctVsBestEffort,
    fillStrandedGpus,
    baselineDecisionsPerSec: Math.round(base.decisionsPerSec),
    jctCeilingVsFifo: ceiling("fifo"),
    jctCeilingVsBestEffort: ceiling("best-effort-fifo"),
    queueDelayVsFifo: waitRatio("fifo"),
    queueDelayVsBestEffort: waitRatio("best-effort-fifo"),
    utilizationVsFifo: utilVsFifo,
    quick,
  }),
);
