/**
 * Normalization shared by the manifest formats: env, resources, process counts, priorities, working directories.
 * Each runs after schema validation, so inputs are well-typed; what is left to report is meaning, not form.
 */
import { isAbsolute, resolve } from "node:path";
import type { JobResources } from "./job-spec.js";
import { JOB_DEFAULTS } from "./job-spec.js";
import { checkCpu, checkGpus, checkMemory } from "./quantity.js";
import { formatPath } from "./violations.js";
import type { Locator, PathSegment, Violations } from "./violations.js";

export interface NormalizeContext {
  readonly violations: Violations;
  readonly locator: Locator;
  readonly file?: string;
  readonly baseDir?: string;
  readonly warnings: string[];
  /** The document as read, for listing the fields a format ignores. */
  readonly raw: unknown;
}

/** Adds a warning that names its position: `job.yaml:12:7: spec.x: message`. */
export function warnAt(ctx: NormalizeContext, path: readonly PathSegment[], message: string): void {
  const pos = ctx.locator.locate(path);
  const where = pos === undefined ? "" : `${ctx.file !== undefined ? `${ctx.file}:` : ""}${pos.line}:${pos.column}: `;
  ctx.warnings.push(`${where}${formatPath(path)}: ${message}`);
}

export interface K8sResources {
  limits?: Record<string, string | number> | null;
  requests?: Record<string, string | number> | null;
}

const GPU_KEY = "nvidia.com/gpu";
const HONOURED_RESOURCES = new Set([GPU_KEY, "cpu", "memory"]);

/** Replica resources from Kubernetes limits (requests where a limit is absent); other resource names are warned. */
export function resourcesFromK8s(res: K8sResources | null | undefined, path: readonly PathSegment[], ctx: NormalizeContext): JobResources {
  const limits = res?.limits ?? {};
  const requests = res?.requests ?? {};
  const pick = (k: string): { value: string | number; path: PathSegment[] } | undefined => {
    const l = limits[k];
    if (l !== undefined) return { value: l, path: [...path, "limits", k] };
    const r = requests[k];
    return r === undefined ? undefined : { value: r, path: [...path, "requests", k] };
  };
  const out: JobResources = { gpus: JOB_DEFAULTS.gpus, gpuMilli: 0, cpuMilli: JOB_DEFAULTS.cpuMilli, memoryMb: JOB_DEFAULTS.memoryMb };
  const gpu = pick(GPU_KEY);
  if (gpu !== undefined) {
    const r = checkGpus(gpu.value);
    if (r.ok) Object.assign(out, { gpus: r.gpus, gpuMilli: r.gpuMilli });
    else ctx.violations.add(gpu.path, { message: `GPU count ${r.reason}`, expected: "a whole number ≥ 0, or a fraction of one GPU", got: JSON.stringify(gpu.value), hint: "e.g. `nvidia.com/gpu: 1`" });
  }
  const cpu = pick("cpu");
  if (cpu !== undefined) {
    const r = checkCpu(cpu.value);
    if (r.ok) out.cpuMilli = r.value;
    else ctx.violations.add(cpu.path, { message: `CPU ${r.reason}`, expected: 'CPU cores such as 2 or "500m"', got: JSON.stringify(cpu.value), hint: "e.g. `cpu: 4` or `cpu: 500m`" });
  }
  const mem = pick("memory");
  if (mem !== undefined) {
    const r = checkMemory(mem.value);
    if (r.ok) out.memoryMb = r.value;
    else ctx.violations.add(mem.path, { message: `memory ${r.reason}`, expected: 'a size such as "4Gi" or "512Mi"', got: JSON.stringify(mem.value), hint: "e.g. `memory: 16Gi`" });
  }
  for (const [kind, map] of [["limits", limits], ["requests", requests]] as const) {
    for (const k of Object.keys(map)) {
      if (!HONOURED_RESOURCES.has(k)) warnAt(ctx, [...path, kind, k], `resource ${k} is not managed by this engine and is ignored; only nvidia.com/gpu, cpu and memory are`);
    }
  }
  return out;
}

/**
 * Processes per replica: an integer, "auto" or "gpu" (GPUs per replica, or 1 without whole GPUs),
 * "cpu" (whole CPU cores per replica, at least 1).
 */
export function resolveNproc(value: number | string | null | undefined, resources: JobResources): number {
  if (typeof value === "number") return value;
  if (value !== undefined && value !== null && /^\d+$/.test(value)) return Number(value);
  if (value === "cpu") return Math.max(1, Math.floor(resources.cpuMilli / 1000));
  return Math.max(1, resources.gpus);
}

/** Kubernetes PriorityClass names mapped to our integer priority; an integer-looking name is taken as the number. */
export const PRIORITY_CLASSES: Readonly<Record<string, number>> = { low: -100, default: 0, normal: 0, medium: 500, high: 1000, critical: 10000 };

export function priorityFromClass(name: string, path: readonly PathSegment[], ctx: NormalizeContext): number {
  const known = PRIORITY_CLASSES[name.toLowerCase()];
  if (known !== undefined) return known;
  if (/^[+-]?\d+$/.test(name)) return Number(name);
  warnAt(ctx, path, `priority class ${JSON.stringify(name)} is not known here: using priority 0 (known: ${Object.keys(PRIORITY_CLASSES).join(", ")}, or an integer)`);
  return JOB_DEFAULTS.priority;
}

/** A relative workingDir is taken relative to `baseDir` (the manifest's directory) when one is given. */
export function resolveWorkingDir(dir: string | null | undefined, baseDir: string | undefined): string | undefined {
  if (dir === undefined || dir === null) return undefined;
  if (baseDir === undefined || isAbsolute(dir)) return dir;
  return resolve(baseDir, dir);
}

/** Kueue's labels for the queue and priority class of a Kubernetes workload. */
export const KUEUE_QUEUE_LABEL = "kueue.x-k8s.io/queue-name";
export const KUEUE_PRIORITY_LABEL = "kueue.x-k8s.io/priority-class";
