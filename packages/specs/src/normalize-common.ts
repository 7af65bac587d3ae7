/**
 * Normalization shared by the manifest formats: env, resources, process counts, priorities, working directories.
 * Each runs after schema validation, so inputs are well-typed; what is left to report is meaning, not form.
 */
import { isAbsolute, resolve } from "node:path";
import type { JobResources } from "./job-spec.js";
import { JOB_DEFAULTS } from "./job-spec.js";
import { checkCpu, checkGpus, checkMemory, checkQuantity } from "./quantity.js";
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
  /** Take an inline secret value of "(secret)" as it is (a stored, redacted manifest read back) instead of refusing it. */
  readonly acceptRedacted?: boolean;
  /**
   * Where a path of this document is written in the file, for a document embedded in another (an experiment's trial
   * template): warnings then name and point at the outer document's path. Identity when absent.
   */
  readonly sourcePath?: (path: readonly PathSegment[]) => PathSegment[];
  /** Collects the paths of the fields a format ignores instead of adding its one warning (an embedding document lists them in its own). */
  readonly ignored?: PathSegment[][];
}

/** Adds a warning that names its position: `job.yaml:12:7: spec.x: message`. */
export function warnAt(ctx: NormalizeContext, path: readonly PathSegment[], message: string): void {
  const at = ctx.sourcePath?.(path) ?? path;
  const pos = ctx.locator.locate(at);
  const where = pos === undefined ? "" : `${ctx.file !== undefined ? `${ctx.file}:` : ""}${pos.line}:${pos.column}: `;
  ctx.warnings.push(`${where}${formatPath(at)}: ${message}`);
}

export interface K8sResources {
  limits?: Record<string, string | number> | null;
  requests?: Record<string, string | number> | null;
}

const GPU_KEY = "nvidia.com/gpu";
const HONOURED_RESOURCES = new Set([GPU_KEY, "cpu", "memory"]);

type K8sQuantity = string | number;
type UnitsCheck = (input: unknown) => { ok: true; value: number } | { ok: false; reason: string };

interface ResourceRules {
  readonly check: UnitsCheck;
  readonly what: string;
  readonly expected: string;
  readonly hint: string;
}

const CPU_RULES: ResourceRules = { check: checkCpu, what: "CPU", expected: 'CPU cores such as 2 or "500m"', hint: "e.g. `cpu: 4` or `cpu: 500m`" };
const MEMORY_RULES: ResourceRules = { check: checkMemory, what: "memory", expected: 'a size such as "4Gi" or "512Mi"', hint: "e.g. `memory: 16Gi`" };

/**
 * One resource (cpu or memory) as Kubernetes schedules it: the request; the limit where there is no request (Kubernetes
 * defaults a missing request to its limit); undefined where neither is given. Every value given is checked at its own
 * position, and a request above its limit is refused, as the Kubernetes API refuses it.
 */
function k8sAmount(
  key: "cpu" | "memory", rules: ResourceRules, limits: Record<string, K8sQuantity>, requests: Record<string, K8sQuantity>,
  path: readonly PathSegment[], ctx: NormalizeContext,
): number | undefined {
  const checked = (kind: "limits" | "requests", value: K8sQuantity | undefined): number | undefined => {
    if (value === undefined) return undefined;
    const r = rules.check(value);
    if (r.ok) return r.value;
    ctx.violations.add([...path, kind, key], { message: `${rules.what} ${r.reason}`, expected: rules.expected, got: JSON.stringify(value), hint: rules.hint });
    return undefined;
  };
  const limit = checked("limits", limits[key]);
  const request = checked("requests", requests[key]);
  if (request !== undefined && limit !== undefined) {
    // Compared as written (base units, before rounding up to millicores or MiB), as Kubernetes compares quantities.
    const req = checkQuantity(requests[key]);
    const lim = checkQuantity(limits[key]);
    if (req.ok && lim.ok && req.value > lim.value) {
      ctx.violations.add([...path, "requests", key], {
        message: `${rules.what} request is above its limit (${JSON.stringify(limits[key])})`, expected: `at most the limit, ${JSON.stringify(limits[key])}`, got: JSON.stringify(requests[key]),
        hint: `a replica is scheduled by its request and may use up to its limit: lower \`requests.${key}\` or raise \`limits.${key}\``,
      });
    }
  }
  return request ?? limit;
}

/**
 * Replica resources from a Kubernetes container's `resources`, with Kubernetes' meaning: cpu and memory each from
 * its request, else its limit, else none (0: BestEffort); `nvidia.com/gpu` from limits, else requests, else 0. Other
 * resource names are warned.
 */
export function resourcesFromK8s(res: K8sResources | null | undefined, path: readonly PathSegment[], ctx: NormalizeContext): JobResources {
  const limits = res?.limits ?? {};
  const requests = res?.requests ?? {};
  const out: JobResources = { gpus: JOB_DEFAULTS.gpus, gpuMilli: 0, cpuMilli: JOB_DEFAULTS.cpuMilli, memoryMb: JOB_DEFAULTS.memoryMb };
  const gpuKind = limits[GPU_KEY] !== undefined ? "limits" : requests[GPU_KEY] !== undefined ? "requests" : undefined;
  if (gpuKind !== undefined) {
    const value = (gpuKind === "limits" ? limits : requests)[GPU_KEY]!;
    const r = checkGpus(value);
    if (r.ok) Object.assign(out, { gpus: r.gpus, gpuMilli: r.gpuMilli });
    else ctx.violations.add([...path, gpuKind, GPU_KEY], { message: `GPU count ${r.reason}`, expected: "a whole number ≥ 0, or a fraction of one GPU", got: JSON.stringify(value), hint: "e.g. `nvidia.com/gpu: 1`" });
  }
  out.cpuMilli = k8sAmount("cpu", CPU_RULES, limits, requests, path, ctx) ?? JOB_DEFAULTS.cpuMilli;
  out.memoryMb = k8sAmount("memory", MEMORY_RULES, limits, requests, path, ctx) ?? JOB_DEFAULTS.memoryMb;
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
