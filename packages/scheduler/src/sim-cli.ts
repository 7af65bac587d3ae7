import { invalidArgument } from "@switchyard/core";
import { parseQueuesConfig } from "./queues-config.js";
import type { SwitchyardSchedulerOptions } from "./scheduler-switchyard.js";
import { parseClusterYaml, parseOpenbNodes, uniformCluster, type ClusterFormat } from "./sim/cluster-spec.js";
import { simulateFill } from "./sim/fill.js";
import { POLICIES, policyPlacement, type PolicyName } from "./sim/policies.js";
import { simulate, type SimResult } from "./sim/simulator.js";
import { generatePhilly } from "./sim/synthetic.js";
import { TRACE_FORMATS, parseTrace, type TraceFormat } from "./sim/trace-formats.js";
import { assignTeams, rescaleLoad, type SimJob } from "./sim/workload.js";
import type { NodeInfo, QueuesConfig } from "./types.js";

/** Everything `switchyard simulate` takes. Files are passed as their text: the library does no I/O. */
export interface SimulateCommandOptions {
  /** A trace file's text and format; `file` names it in error messages. */
  trace?: { text: string; format: TraceFormat; file?: string };
  /** A synthetic workload instead of a trace. */
  synthetic?: { kind?: "philly"; jobs: number; seed?: number };
  /** The cluster: a node list or spec file's text, or N nodes × G GPUs. Default 64 × 8. */
  cluster?: { text: string; format: ClusterFormat; file?: string } | { nodes: number; gpusPerNode: number; gpuType?: string };
  /** Team queues: a queues.yaml text, or an already parsed config. */
  queues?: { text: string; file?: string } | QueuesConfig;
  /** Default `switchyard`. */
  policy?: PolicyName;
  /** Rescale arrivals so that the offered GPU load is this fraction of capacity. Default: as in the trace (1.0 for synthetic). */
  load?: number;
  /** Spread jobs over this many teams (by a hash of the job id). */
  teams?: number;
  restartPenaltyS?: number;
  checkpointIntervalS?: number;
  /** The FGD packing experiment instead of a replay. */
  fill?: boolean;
  /** Wall-time guard of a replay, seconds (default 600). */
  maxWallS?: number;
  schedulerOptions?: SwitchyardSchedulerOptions;
}

function buildCluster(c: SimulateCommandOptions["cluster"]): NodeInfo[] {
  if (c === undefined) return uniformCluster(64, 8);
  if ("text" in c) {
    if (c.format === "openb") return parseOpenbNodes(c.text, c.file);
    if (c.format === "yaml") return parseClusterYaml(c.text, c.file);
    throw invalidArgument(`unknown cluster format "${String(c.format)}"`, [{ field: "cluster.format", message: "unknown format", expected: "openb or yaml", got: String(c.format) }]);
  }
  return uniformCluster(c.nodes, c.gpusPerNode, c.gpuType);
}

function buildWorkload(o: SimulateCommandOptions): { jobs: SimJob[]; all: SimJob[]; missingTimeColumns?: string[] } {
  if ((o.trace === undefined) === (o.synthetic === undefined)) {
    throw invalidArgument("give either a trace or a synthetic workload", [
      { field: o.trace === undefined ? "trace" : "synthetic", message: o.trace === undefined ? "no workload" : "both a trace and a synthetic workload", hint: "e.g. --trace openb_pod_list_default.csv --format alibaba-openb, or --synthetic philly --jobs 4000 --seed 1" },
    ]);
  }
  if (o.trace !== undefined) {
    if (!TRACE_FORMATS.includes(o.trace.format)) {
      throw invalidArgument(`unknown trace format "${String(o.trace.format)}"`, [{ field: "trace.format", message: "unknown format", expected: TRACE_FORMATS.join(", "), got: String(o.trace.format) }]);
    }
    const t = parseTrace(o.trace.text, o.trace.format, o.trace.file);
    return { jobs: t.jobs, all: t.all, ...(t.missingTimeColumns !== undefined ? { missingTimeColumns: t.missingTimeColumns } : {}) };
  }
  const s = o.synthetic!;
  if (s.kind !== undefined && s.kind !== "philly") throw invalidArgument(`unknown synthetic workload "${String(s.kind)}"`, [{ field: "synthetic.kind", message: "unknown", expected: "philly", got: String(s.kind) }]);
  const jobs = generatePhilly({ jobs: s.jobs, seed: s.seed ?? 1 });
  return { jobs, all: jobs };
}

/** Runs one simulation (or the packing experiment with `fill`) from command options. Throws SwitchyardError on bad input. */
export function simulateFromOptions(o: SimulateCommandOptions): SimResult {
  const policy = o.policy ?? "switchyard";
  if (!POLICIES.includes(policy)) throw invalidArgument(`unknown policy "${String(policy)}"`, [{ field: "policy", message: "unknown policy", expected: POLICIES.join(", "), got: String(policy) }]);
  const nodes = buildCluster(o.cluster);
  const totalGpus = nodes.reduce((s, n) => s + n.gpus.length, 0);
  const workload = buildWorkload(o);
  let { jobs, all } = workload;
  if (o.teams !== undefined) [jobs, all] = [assignTeams(jobs, o.teams), assignTeams(all, o.teams)];
  if (o.fill === true) {
    const f = simulateFill({ jobs: all, nodes, placement: policyPlacement(policy, o.schedulerOptions) });
    return {
      policy,
      jobs: f.offered,
      avgJctS: NaN,
      p50JctS: NaN,
      p95JctS: NaN,
      p99JctS: NaN,
      avgQueueDelayS: NaN,
      p95QueueDelayS: NaN,
      makespanS: NaN,
      gpuUtilization: f.allocatedGpus / f.totalGpus,
      jainFairness: NaN,
      preemptions: 0,
      preemptionsPerJob: 0,
      maxJobPreemptions: 0,
      lostGpuHours: 0,
      lostGpuTimePct: 0,
      refused: [],
      decisionsPerSec: f.decisionsPerSec,
      cycles: 0,
      schedulerMs: 0,
      perTeam: [],
      allocatedGpus: f.allocatedGpus,
      strandedGpus: f.strandedGpus,
      refusedJobs: f.refused,
    };
  }
  if (workload.missingTimeColumns !== undefined) {
    const file = o.trace?.file ?? "the trace";
    throw invalidArgument(`${file} has no ${workload.missingTimeColumns.join(", ")} column${workload.missingTimeColumns.length === 1 ? "" : "s"}: a replay needs arrival and run times`, [
      { field: "trace", message: "no time columns", expected: "creation_time, scheduled_time and deletion_time", got: workload.missingTimeColumns.join(", ") + " missing", hint: "this pod list is for the packing experiment: add --fill" },
    ]);
  }
  const load = o.load ?? (o.synthetic !== undefined ? 1 : undefined);
  if (load !== undefined) jobs = rescaleLoad(jobs, totalGpus, load);
  const queues = o.queues === undefined ? undefined : "text" in o.queues ? parseQueuesConfig(o.queues.text, o.queues.file) : o.queues;
  return simulate({
    jobs,
    nodes,
    policy,
    ...(o.schedulerOptions !== undefined ? { schedulerOptions: o.schedulerOptions } : {}),
    ...(queues !== undefined ? { queues } : {}),
    ...(o.restartPenaltyS !== undefined ? { restartPenaltyS: o.restartPenaltyS } : {}),
    ...(o.checkpointIntervalS !== undefined ? { checkpointIntervalS: o.checkpointIntervalS } : {}),
    ...(o.maxWallS !== undefined ? { maxWallMs: o.maxWallS * 1000 } : {}),
  });
}

/** The table's rows: a figure of a result, or undefined where it has none (a row no result has is left out). */
const ROWS: { get: (r: SimResult) => number | undefined; label: string; fmt: (x: number) => string }[] = [
  { get: (r) => r.jobs, label: "jobs", fmt: (x) => String(x) },
  { get: (r) => r.avgJctS, label: "avg JCT", fmt: duration },
  { get: (r) => r.p50JctS, label: "p50 JCT", fmt: duration },
  { get: (r) => r.p95JctS, label: "p95 JCT", fmt: duration },
  { get: (r) => r.p99JctS, label: "p99 JCT", fmt: duration },
  { get: (r) => r.avgQueueDelayS, label: "avg queueing", fmt: duration },
  { get: (r) => r.p95QueueDelayS, label: "p95 queueing", fmt: duration },
  { get: (r) => r.makespanS, label: "makespan", fmt: duration },
  { get: (r) => r.gpuUtilization, label: "GPU utilization", fmt: (x) => `${(x * 100).toFixed(1)}%` },
  { get: (r) => r.jainFairness, label: "Jain fairness (teams)", fmt: (x) => x.toFixed(3) },
  { get: (r) => r.preemptions, label: "preemptions", fmt: (x) => String(x) },
  { get: (r) => r.preemptionsPerJob, label: "preemptions per job", fmt: (x) => x.toFixed(2) },
  { get: (r) => r.maxJobPreemptions, label: "most of one job", fmt: (x) => String(x) },
  { get: (r) => r.lostGpuTimePct, label: "GPU time lost", fmt: (x) => `${x.toFixed(1)}%` },
  { get: (r) => r.serving?.replicas, label: "serving replicas", fmt: (x) => String(x) },
  { get: (r) => r.serving?.stops, label: "serving stops", fmt: (x) => String(x) },
  { get: (r) => r.serving?.avgWaitS, label: "serving avg wait", fmt: duration },
  { get: (r) => r.serving?.maxWaitS, label: "serving max wait", fmt: duration },
  { get: (r) => r.serving?.waitingAtEnd, label: "serving waiting at end", fmt: (x) => String(x) },
  { get: (r) => r.decisionsPerSec, label: "decisions/s", fmt: (x) => Math.round(x).toLocaleString("en-US") },
  { get: (r) => r.allocatedGpus, label: "allocated GPUs", fmt: (x) => x.toFixed(1) },
  { get: (r) => r.strandedGpus, label: "stranded GPUs", fmt: (x) => x.toFixed(1) },
  { get: (r) => r.refusedJobs, label: "refused jobs", fmt: (x) => String(x) },
];

/** Seconds as `1h 02m`, `3m 20s`, `45s` or `2d 04h`. */
export function duration(s: number): string {
  if (!Number.isFinite(s)) return "—";
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(Math.round(s % 60)).padStart(2, "0")}s`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ${String(Math.round((s % 3600) / 60)).padStart(2, "0")}m`;
  return `${Math.floor(s / 86400)}d ${String(Math.round((s % 86400) / 3600)).padStart(2, "0")}h`;
}

/** A plain-text table of one result, or of several side by side (one column per policy). */
export function formatSimTable(results: SimResult | readonly SimResult[]): string {
  const list = Array.isArray(results) ? (results as readonly SimResult[]) : [results as SimResult];
  const rows = ROWS.filter((r) => list.some((x) => Number.isFinite(r.get(x))));
  const cell = (r: (typeof ROWS)[number], x: SimResult): string => {
    const v = r.get(x);
    return v === undefined ? "—" : r.fmt(v);
  };
  const cells = [["", ...list.map((r) => r.policy)], ...rows.map((r) => [r.label, ...list.map((x) => cell(r, x))])];
  const widths = cells[0]!.map((_, c) => Math.max(...cells.map((row) => row[c]!.length)));
  return cells.map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join("  ")).join("\n");
}
