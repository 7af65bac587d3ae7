/**
 * What the deployment formats share: where a model may be read from (`storageUri`), priority classes, plain env,
 * resources in a deployment's units, and the cross-field rules (replicas, batching, model format against command),
 * which run on the raw document through a `DeploymentView` each format extracts, so that they are reported together
 * with the schema's violations.
 */
import * as z from "zod";
import { closestMatch } from "./did-you-mean.js";
import type { DeploymentEnvVar, DeploymentResources } from "./deployment-spec.js";
import { DEPLOYMENT_DEFAULTS, MAX_BATCH_SIZE, MAX_DEPLOYMENT_REPLICAS } from "./deployment-spec.js";
import { isRecord } from "./job-format.js";
import { checkExecString } from "./manifest-dispatch.js";
import { PRIORITY_CLASSES } from "./normalize-common.js";
import type { NormalizeContext } from "./normalize-common.js";
import { checkCpu, checkGpus, checkQuantity } from "./quantity.js";
import { DNS_LABEL, envName, obj } from "./schema-kit.js";
import { describeValue } from "./violations.js";
import type { PathSegment, Violations } from "./violations.js";

export const INT32_MAX = 2 ** 31 - 1;

/** The forms a model location may take, for hints. */
export const STORAGE_URI_FORMS = "`file:///abs/path/model.onnx`, `job://JOB/path/in/its/artifacts`, `models://NAME@VERSION` or `models://NAME` (the latest version)";

const URI_SCHEME = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s;

interface Problem {
  message: string;
  expected: string;
  hint: string;
}

function relativePathProblem(path: string): string | undefined {
  if (path === "") return "has no path after the job name";
  if (path.startsWith("/")) return "has a path starting with `/`: it is relative to the job's artifacts";
  const segments = path.split("/");
  if (segments.some((s) => s === "." || s === "..")) return "has a `.` or `..` segment: it must stay inside the job's artifacts";
  if (segments.some((s) => s === "")) return "has an empty path segment (`//`)";
  return undefined;
}

/** Why `uri` is not a model location this platform reads, or undefined when it is one. */
export function storageUriProblem(uri: string): Problem | undefined {
  const fail = (message: string, hint: string): Problem => ({ message, expected: STORAGE_URI_FORMS, hint });
  if (uri.includes("\0")) return fail("contains a NUL character", `use one of ${STORAGE_URI_FORMS}`);
  const m = URI_SCHEME.exec(uri);
  if (m === null) {
    if (uri.startsWith("/")) return fail("is a path, not a URI", `write it as \`file://${uri}\``);
    return fail("is not a URI", `give an absolute file as \`file:///abs/path/model.onnx\`, or use ${STORAGE_URI_FORMS}`);
  }
  const scheme = (m[1] ?? "").toLowerCase();
  const rest = m[2] ?? "";
  switch (scheme) {
    case "file": {
      if (!rest.startsWith("/")) return fail("names a host or a relative path", `a file on this machine is \`file:///abs/path\` (three slashes), e.g. \`file:///${rest}\``);
      if (rest.length === 1) return fail("names no file", "e.g. `file:///models/resnet/model.onnx`");
      if (rest.split("/").some((s) => s === "..")) return fail("has a `..` segment", "write the absolute path without `..`");
      return undefined;
    }
    case "job": {
      const slash = rest.indexOf("/");
      const job = slash < 0 ? rest : rest.slice(0, slash);
      if (!DNS_LABEL.test(job) || job.length > 63) return fail(`names ${JSON.stringify(job)}, which is not a job name`, "e.g. `job://mnist-train/model.onnx` (a path inside the job's artifacts)");
      const bad = relativePathProblem(slash < 0 ? "" : rest.slice(slash + 1));
      return bad === undefined ? undefined : fail(bad, `e.g. \`job://${job}/model.onnx\` (a path inside the job's artifacts)`);
    }
    case "models": {
      const at = rest.indexOf("@");
      const name = at < 0 ? rest : rest.slice(0, at);
      if (!DNS_LABEL.test(name) || name.length > 63) return fail(`names ${JSON.stringify(name)}, which is not a model name`, "a model name is lowercase letters, digits and '-', e.g. `models://resnet@3`");
      if (at >= 0 && !/^[1-9]\d{0,9}$/.test(rest.slice(at + 1))) return fail("has a version that is not a whole number ≥ 1", `e.g. \`models://${name}@3\`, or \`models://${name}\` for the latest version`);
      return undefined;
    }
    default: {
      const near = closestMatch(scheme, ["file", "job", "models"]);
      return fail(
        `reads from \`${scheme}://\`, which this platform does not`,
        near !== undefined ? `did you mean \`${near}://\`?` : `copy the model to this machine or register it, then use ${STORAGE_URI_FORMS}`,
      );
    }
  }
}

export const storageUriSchema = () =>
  z.string().superRefine((v, ctx) => {
    const p = storageUriProblem(v);
    if (p !== undefined) ctx.addIssue({ code: "custom", message: p.message, input: v, params: { expected: p.expected, hint: p.hint } });
  });

/** A priority class as stored: a known class in lowercase, or an integer as text; undefined when neither. */
export function priorityClassOf(name: string): string | undefined {
  const lower = name.toLowerCase();
  if (PRIORITY_CLASSES[lower] !== undefined) return lower;
  if (/^[+-]?\d{1,10}$/.test(name)) {
    const n = Number(name);
    if (n >= -(2 ** 31) && n <= INT32_MAX) return String(n);
  }
  return undefined;
}

const PRIORITY_NAMES = Object.keys(PRIORITY_CLASSES);

export const priorityClassSchema = () =>
  z.string().superRefine((v, ctx) => {
    if (priorityClassOf(v) !== undefined) return;
    const near = closestMatch(v, PRIORITY_NAMES);
    ctx.addIssue({ code: "custom", message: "is not a known priority class", input: v, params: { expected: `one of ${PRIORITY_NAMES.join(", ")}, or an integer`, hint: near !== undefined ? `did you mean \`${near}\`?` : `use one of ${PRIORITY_NAMES.join(", ")}` } });
  });

/** A variable's value: a string, number or boolean, as a string. A mapping (a secret, in a job's manifest) is refused. */
const envValue = () =>
  z.unknown().transform((v, ctx) => {
    if (typeof v === "string" || typeof v === "number" || typeof v === "boolean") return String(v);
    const secret = typeof v === "object" && v !== null;
    ctx.addIssue({
      code: "custom", input: v, message: secret ? "must be a plain value: deployments do not read secrets yet" : "has no value",
      params: { expected: "a string, a number or true or false", hint: secret ? "write the value itself" : 'write a value, e.g. `value: "1"`, or `""` for an empty one' },
    });
    return z.NEVER;
  });

/** Plain variables only, as a map (`{LR: 0.1}`) or a list (`[{name, value}]`, no value: ""); values become strings. */
export const deploymentEnvSchema = () => z.union([z.record(envName(), envValue()), z.array(obj({ name: envName(), value: envValue().optional() }))]);

export function envList(env: Record<string, string> | readonly { name: string; value?: string | undefined }[]): DeploymentEnvVar[] {
  return Array.isArray(env) ? env.map((e: { name: string; value?: string | undefined }) => ({ name: e.name, value: e.value ?? "" })) : Object.entries(env).map(([name, value]) => ({ name, value }));
}

/** A variable named twice in list form: the second is refused (a map cannot hold two). */
export function checkEnvNames(env: unknown, path: readonly PathSegment[], out: Violations): void {
  if (!Array.isArray(env)) return;
  const seen = new Set<string>();
  env.forEach((e, i) => {
    const name = isRecord(e) ? e["name"] : undefined;
    if (typeof name !== "string") return;
    if (seen.has(name)) out.add([...path, i, "name"], { message: `names ${name} a second time`, expected: "each variable once", got: JSON.stringify(name), hint: "remove one of the two entries" });
    seen.add(name);
  });
}

/** Every argument and `NAME=value` of a custom server short enough to start a process with. */
export function checkExecStrings(
  model: { command?: string[]; args?: string[]; env?: DeploymentEnvVar[] },
  paths: { command: PathSegment[]; args: PathSegment[]; env: (i: number, name: string) => PathSegment[] },
  out: Violations,
): void {
  model.command?.forEach((a, i) => checkExecString(out, [...paths.command, i], a, "an argument"));
  model.args?.forEach((a, i) => checkExecString(out, [...paths.args, i], a, "an argument"));
  model.env?.forEach((e, i) => checkExecString(out, paths.env(i, e.name), `${e.name}=${e.value}`, `environment variable ${e.name}`));
}

/** Resources in a deployment's units from checked amounts (undefined: not given, the default). */
export function deploymentResources(gpus: unknown, cpu: unknown, memory: unknown): DeploymentResources {
  const out: DeploymentResources = { gpus: DEPLOYMENT_DEFAULTS.gpus, cpu: DEPLOYMENT_DEFAULTS.cpu, memoryBytes: DEPLOYMENT_DEFAULTS.memoryBytes };
  const g = gpus === undefined ? undefined : checkGpus(gpus);
  if (g?.ok === true) out.gpus = g.gpus + g.gpuMilli / 1000;
  const c = cpu === undefined ? undefined : checkCpu(cpu);
  if (c?.ok === true) out.cpu = c.value / 1000;
  const m = memory === undefined ? undefined : checkQuantity(memory);
  if (m?.ok === true && m.value > 0) out.memoryBytes = Math.ceil(m.value - 1e-9);
  return out;
}

/** A number at a path of the raw document, with the path; undefined when absent or not a number (the schema says so). */
export interface Field<T> {
  value: T;
  path: PathSegment[];
}

export function numberAt(raw: unknown, path: PathSegment[]): Field<number> | undefined {
  let cur: unknown = raw;
  for (const k of path) {
    if (typeof k === "number" ? !Array.isArray(cur) : !isRecord(cur)) return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return typeof cur === "number" ? { value: cur, path } : undefined;
}

/** What the cross-field rules read, found by each format at its own paths. */
export interface DeploymentView {
  minReplicas?: Field<number>;
  maxReplicas?: Field<number>;
  /** KServe's maxReplicas 0 means "not set". */
  maxZeroIsUnset: boolean;
  replicas?: Field<number>;
  maxBatchSize?: Field<number>;
  /** Default maxBatchSize when batching is on and none is given. */
  defaultMaxBatchSize: number;
  preferredBatchSizes?: Field<number[]>;
}

export function checkReplicas(v: DeploymentView, out: Violations): void {
  if (v.replicas !== undefined && (v.minReplicas !== undefined || v.maxReplicas !== undefined)) {
    out.add(v.replicas.path, {
      message: "cannot be given with `minReplicas` or `maxReplicas`", expected: "either `replicas` (a fixed count) or `minReplicas`/`maxReplicas` (autoscaling)", at: "key",
      hint: "remove `replicas` to autoscale between minReplicas and maxReplicas, or remove minReplicas and maxReplicas for a fixed count",
    });
    return;
  }
  const min = v.minReplicas?.value ?? DEPLOYMENT_DEFAULTS.minReplicas;
  const max = v.maxReplicas !== undefined && !(v.maxZeroIsUnset && v.maxReplicas.value === 0) ? v.maxReplicas : undefined;
  // Only between values the schema accepts: an out-of-range value has its own violation already.
  const inRange = (n: number, low: number) => Number.isInteger(n) && n >= low && n <= MAX_DEPLOYMENT_REPLICAS;
  if (max !== undefined && inRange(min, 0) && inRange(max.value, 1) && max.value < min) {
    out.add(max.path, {
      message: `is below minReplicas (${min})`, expected: `a whole number from ${Math.max(min, 1)} to ${MAX_DEPLOYMENT_REPLICAS}`, got: String(max.value),
      hint: `raise maxReplicas to at least ${Math.max(min, 1)}, or lower minReplicas`,
    });
  }
}

export function checkBatchSizes(v: DeploymentView, out: Violations): void {
  const sizes = v.preferredBatchSizes;
  if (sizes === undefined) return;
  const max = v.maxBatchSize?.value ?? v.defaultMaxBatchSize;
  if (!Number.isInteger(max) || max < 1 || max > MAX_BATCH_SIZE) return;
  const over = sizes.value.find((s) => s > max);
  if (over !== undefined) {
    out.add(sizes.path, {
      message: `has ${over}, above maxBatchSize (${max})${v.maxBatchSize === undefined ? ", its default" : ""}`, expected: `sizes from 1 to ${max}`, got: sizes.value.join(","),
      hint: `drop the sizes above ${max}, or raise maxBatchSize to ${Math.min(sizes.value.reduce((a, b) => Math.max(a, b), 0), MAX_BATCH_SIZE)}`,
    });
  }
  const i = sizes.value.findIndex((s, k) => k > 0 && s <= (sizes.value[k - 1] ?? 0));
  if (i > 0) {
    const sorted = [...new Set(sizes.value)].sort((a, b) => a - b);
    out.add(sizes.path, { message: "is not in ascending order without repeats", expected: "ascending sizes, each once", got: sizes.value.join(","), hint: `write them as ${sorted.join(", ")}` });
  }
}

/** The sizes of `serving.switchyard.io/preferred-batch-sizes` ("8,16,32"), or why they are not sizes. */
export function parseBatchSizes(text: string): { ok: true; sizes: number[] } | { ok: false; got: string } {
  if (text.trim() === "") return { ok: true, sizes: [] };
  const parts = text.split(",").map((s) => s.trim());
  // Ascending, without repeats and at most MAX_BATCH_SIZE each: more sizes than that can never be right.
  if (parts.length > MAX_BATCH_SIZE) return { ok: false, got: `${parts.length} sizes (at most ${MAX_BATCH_SIZE})` };
  const bad = parts.find((p) => !/^[1-9]\d{0,9}$/.test(p));
  if (bad !== undefined) return { ok: false, got: describeValue(bad) };
  return { ok: true, sizes: parts.map(Number) };
}

/** What a deployment format's normalize is given: the jobs' context and the team to use when the manifest names none. */
export interface DeploymentNormalizeContext extends NormalizeContext {
  readonly defaultTeam: string;
}

const OIP = "serves the Open Inference Protocol (KServe v2) over HTTP on $PORT";

/** An onnx model with no location. */
export function requireStorageUri(out: Violations, path: readonly PathSegment[]): void {
  out.add(path, { message: "is required for an onnx model", expected: STORAGE_URI_FORMS, hint: "e.g. `storageUri: models://resnet@3` or `storageUri: job://resnet-train/model.onnx`", at: "key" });
}

/** A field only a custom server has (command, args, env, workingDir) given for an onnx model. */
export function refuseCustomOnly(out: Violations, path: readonly PathSegment[], field: string): void {
  out.add(path, {
    message: `goes with a custom server only: an onnx model is served by the platform`, expected: `no \`${field}\` for an onnx model`, at: "key",
    hint: `remove \`${field}\`, or run your own server: a custom model whose \`command\` ${OIP}`,
  });
}

/** A custom server without a program to run. */
export function requireCommand(out: Violations, path: readonly PathSegment[], hasImage: boolean): void {
  const example = '`command: ["python", "serve.py"]`';
  out.add(path, {
    message: hasImage ? "is required: this platform runs processes, not images" : "is required for a custom server",
    expected: `a list of strings: a program that ${OIP}`, at: "key",
    hint: hasImage ? `add \`command\` (the image's entrypoint), e.g. ${example}` : `add the program that ${OIP}, e.g. ${example}`,
  });
}

/** scaleMetric cpu or memory: KServe allows them (HPA); this autoscaler counts requests. */
export function refuseResourceMetric(out: Violations, path: readonly PathSegment[], metric: string): void {
  out.add(path, {
    message: `${metric} is not a metric this autoscaler scales on: it works on requests`, expected: "concurrency or rps", got: JSON.stringify(metric),
    hint: "use `concurrency` (requests in flight per replica) or `rps` (requests per second per replica)",
  });
}
