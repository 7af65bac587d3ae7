import { invalidArgument } from "@switchyard/core";
import type { ReplicaRequest } from "../types.js";
import { CellReader, parseCsv } from "./csv.js";
import { defaultReplica, type SimJob } from "./workload.js";

export type TraceFormat = "alibaba-openb" | "tiresias" | "switchyard";
export const TRACE_FORMATS: readonly TraceFormat[] = ["alibaba-openb", "tiresias", "switchyard"];

const OPENB_REQUIRED = ["name", "cpu_milli", "memory_mib", "num_gpu", "gpu_milli"];
/** Optional: the workload variants (`multigpuNN`) are pod lists without times, for the packing experiment only. */
const OPENB_OPTIONAL = ["gpu_spec", "qos", "pod_phase", "creation_time", "deletion_time", "scheduled_time"];
const OPENB_TIME_COLUMNS = ["creation_time", "scheduled_time", "deletion_time"];

export interface ParsedTrace {
  /** Jobs that can be replayed (they have a run time), in arrival order. */
  readonly jobs: SimJob[];
  /** Every job in file order, with or without a run time (the packing experiment needs no run time). */
  readonly all: SimJob[];
  /** Rows left out of replays, and why. */
  readonly skipped: number;
  /** Time columns the file lacks: such a trace can be packed (`--fill`) but not replayed. */
  readonly missingTimeColumns?: string[];
}

/**
 * Alibaba GPU trace v2023 (`openb_pod_list_*.csv`). Run time = deletion_time − scheduled_time, arrival =
 * creation_time. `num_gpu` 1 with `gpu_milli` < 1000 is a share of one GPU. `gpu_spec` (models, `|`-separated)
 * becomes the GPU type. Pods never scheduled in the trace have no run time: kept in `all`, left out of `jobs`. The
 * time columns are optional (the `multigpuNN` variants have none): without them every pod is in `all` only.
 */
export function parseOpenbTrace(text: string, file = "openb_pod_list.csv"): ParsedTrace {
  const t = parseCsv(text, file, OPENB_REQUIRED, OPENB_OPTIONAL, "alibaba-openb");
  const missing = OPENB_TIME_COLUMNS.filter((c) => !t.columns.includes(c));
  const r = new CellReader(file);
  const all: SimJob[] = [];
  const jobs: SimJob[] = [];
  let skipped = 0;
  for (const row of t.rows) {
    const numGpu = r.number(row, "num_gpu", { min: 0, integer: true });
    const gpuMilli = r.number(row, "gpu_milli", { min: 0, default: numGpu > 0 ? 1000 : 0 });
    const cpu = r.number(row, "cpu_milli", { min: 0 });
    const mem = r.number(row, "memory_mib", { min: 0 });
    const created = missing.includes("creation_time") ? 0 : r.number(row, "creation_time", { min: 0 });
    const spec = row.get("gpu_spec");
    const rep: ReplicaRequest =
      numGpu === 1 && gpuMilli > 0 && gpuMilli < 1000 ? { gpus: 0, gpuMilli, cpuMilli: cpu, memoryMb: mem } : { gpus: numGpu, cpuMilli: cpu, memoryMb: mem };
    if (spec !== "" && (rep.gpus > 0 || rep.gpuMilli !== undefined)) rep.gpuType = spec;
    const sched = row.get("scheduled_time");
    const del = row.get("deletion_time");
    let duration = NaN;
    if (sched !== "" && del !== "") duration = r.number(row, "deletion_time") - r.number(row, "scheduled_time");
    const job: SimJob = { id: row.get("name") || `line-${row.line}`, submitS: created, durationS: Number.isFinite(duration) ? Math.max(1, duration) : 0, replicas: [rep], team: "default", priority: 0 };
    all.push(job);
    if (Number.isFinite(duration) && duration >= 0) jobs.push(job);
    else skipped++;
  }
  r.done(`cannot read ${file} as alibaba-openb`);
  return { jobs: byArrival(jobs), all, skipped, ...(missing.length > 0 ? { missingTimeColumns: missing } : {}) };
}

/**
 * Tiresias' simulator trace: `job_id,num_gpu,submit_time,iterations,model_name,duration,interval` (seconds);
 * only job_id, num_gpu, submit_time and duration are needed. Jobs larger than a node become gangs.
 */
export function parseTiresiasTrace(text: string, file = "tiresias.csv"): ParsedTrace {
  const t = parseCsv(text, file, ["job_id", "num_gpu", "submit_time", "duration"], ["iterations", "model_name", "interval"], "tiresias");
  const r = new CellReader(file);
  const jobs: SimJob[] = t.rows.map((row) => ({
    id: row.get("job_id"),
    submitS: r.number(row, "submit_time", { min: 0 }),
    durationS: r.number(row, "duration", { min: 0 }),
    replicas: [defaultReplica(r.number(row, "num_gpu", { min: 0, integer: true }))],
    team: "default",
    priority: 0,
  }));
  r.done(`cannot read ${file} as tiresias`);
  return { jobs: byArrival(jobs), all: jobs, skipped: 0 };
}

export const SWITCHYARD_COLUMNS = ["id", "submit_s", "duration_s", "gpus", "replicas", "gpu_milli", "gpu_type", "cpu_milli", "memory_mb", "team", "user", "priority", "serving"];

/**
 * Switchyard's own trace format, a CSV with a header:
 * `id,submit_s,duration_s,gpus` required; `replicas` (default 1: a gang when more), `gpu_milli` (a share of one GPU
 * when gpus is 0), `gpu_type`, `cpu_milli` and `memory_mb` per replica (default 4000 and 16384 per GPU), `team`,
 * `user`, `priority` optional. `serving` (1 or true) makes the row a model-serving replica: it runs until the replay
 * ends, and its `duration_s` may be empty (it is ignored).
 */
export function parseSwitchyardTrace(text: string, file = "trace.csv"): ParsedTrace {
  const t = parseCsv(text, file, SWITCHYARD_COLUMNS.slice(0, 4), SWITCHYARD_COLUMNS.slice(4), "switchyard");
  const r = new CellReader(file);
  const jobs: SimJob[] = t.rows.map((row) => {
    const serving = r.flag(row, "serving");
    const gpus = r.number(row, "gpus", { min: 0, integer: true });
    const milli = r.number(row, "gpu_milli", { min: 0, default: 0 });
    const base = defaultReplica(gpus);
    const rep: ReplicaRequest = {
      gpus,
      cpuMilli: r.number(row, "cpu_milli", { min: 0, default: base.cpuMilli }),
      memoryMb: r.number(row, "memory_mb", { min: 0, default: base.memoryMb }),
    };
    if (gpus === 0 && milli > 0) rep.gpuMilli = Math.min(999, milli);
    if (row.get("gpu_type") !== "") rep.gpuType = row.get("gpu_type");
    const n = r.number(row, "replicas", { min: 1, integer: true, default: 1 });
    const user = row.get("user");
    return {
      id: row.get("id"),
      submitS: r.number(row, "submit_s", { min: 0 }),
      durationS: r.number(row, "duration_s", serving ? { min: 0, default: 0 } : { min: 0 }),
      replicas: Array.from({ length: n }, () => ({ ...rep })),
      team: row.get("team") || "default",
      ...(user !== "" ? { user } : {}),
      priority: r.number(row, "priority", { integer: true, default: 0 }),
      ...(serving ? { serving: true } : {}),
    };
  });
  r.done(`cannot read ${file} as switchyard`);
  return { jobs: byArrival(jobs), all: jobs, skipped: 0 };
}

export function parseTrace(text: string, format: TraceFormat, file?: string): ParsedTrace {
  switch (format) {
    case "alibaba-openb":
      return parseOpenbTrace(text, file);
    case "tiresias":
      return parseTiresiasTrace(text, file);
    case "switchyard":
      return parseSwitchyardTrace(text, file);
    default:
      throw invalidArgument(`unknown trace format "${String(format)}"`, [{ field: "format", message: "unknown trace format", expected: TRACE_FORMATS.join(", "), got: String(format) }]);
  }
}

function byArrival(jobs: SimJob[]): SimJob[] {
  return jobs.map((j, i) => ({ j, i })).sort((a, b) => a.j.submitS - b.j.submitS || a.i - b.i).map((x) => x.j);
}
