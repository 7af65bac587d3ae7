/**
 * `switchyard serve NAME --model … [flags]` → the native Deployment manifest it sends (`apiVersion: switchyard/v1`,
 * `kind: Deployment`), checked flag by flag first, so that a mistake is named by its flag rather than by a line of a
 * manifest the user never wrote. The service validates the manifest again, as it does every manifest.
 */
import { statSync } from "node:fs";
import { resolve } from "node:path";
import { MAX_BATCH_SIZE, MAX_DEPLOYMENT_REPLICAS, parseQuantityCpu, parseQuantityGpu, parseQuantityMemory, storageUriProblem } from "@switchyard/specs";
import { stringify } from "yaml";
import { CliExit, EXIT } from "./exit.js";

/** The flags of `serve` as commander gives them (strings, as typed). */
export interface ServeFlags {
  file?: string;
  model?: string;
  replicas?: string;
  min?: string;
  max?: string;
  gpus?: string;
  cpu?: string;
  memory?: string;
  canary?: string;
  target?: string;
  maxBatchSize?: string;
  maxQueueDelayUs?: string;
  preferredBatchSizes?: string;
  custom?: boolean;
  wait?: boolean;
  timeout?: string;
  dryRun?: boolean;
}

/** The flags that describe the deployment, which a manifest given with `-f` already says. */
const SPEC_FLAGS: ReadonlyArray<[keyof ServeFlags, string]> = [
  ["model", "--model"], ["replicas", "--replicas"], ["min", "--min"], ["max", "--max"], ["gpus", "--gpus"], ["cpu", "--cpu"], ["memory", "--memory"],
  ["target", "--target"], ["maxBatchSize", "--max-batch-size"], ["maxQueueDelayUs", "--max-queue-delay-us"], ["preferredBatchSizes", "--preferred-batch-sizes"], ["custom", "--custom"],
];

export const MODEL_FORMS = "job://JOB/model.onnx (a job's artifact), ./model.onnx or /abs/model.onnx (a file on this machine), or models://NAME[@VERSION] (a registered model)";

const usage = (message: string) => new CliExit(EXIT.usage, message);

/** What a path is on this machine; replaced in tests. */
export type PathKind = (absPath: string) => "file" | "directory" | "missing";

export const pathKind: PathKind = (p) => {
  const s = statSync(p, { throwIfNoEntry: false });
  return s === undefined ? "missing" : s.isDirectory() ? "directory" : "file";
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** The deployment's name: a DNS label, as the manifest wants it. */
export function checkDeploymentName(name: string, what = "a deployment's name"): void {
  if (name.length <= 63 && DNS_LABEL.test(name)) return;
  const fixed = name.toLowerCase().replace(/[^a-z0-9-]+/g, "-").replace(/^-+|-+$/g, "").slice(0, 63);
  throw usage(`"${name}" cannot be ${what}: lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters${fixed ? ` (e.g. "${fixed}")` : ""}`);
}

/**
 * `--model` as a model location the service reads: `job://` and `models://` as given (the service checks the job or
 * model exists); a local path, or a `file://` URL, must be a file on this machine and becomes `file:///absolute/path`.
 */
export function modelUri(text: string, cwd: string, kind: PathKind = pathKind): string {
  const m = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\/(.*)$/s.exec(text);
  if (m !== null) {
    const scheme = m[1]!.toLowerCase();
    const rest = m[2]!;
    if (scheme === "job" || scheme === "models") {
      const p = storageUriProblem(text);
      if (p !== undefined) throw usage(`--model ${text} ${p.message}: ${p.hint}`);
      return text;
    }
    if (scheme !== "file") {
      throw usage(
        `--model ${text}: this platform does not read models from ${scheme}://; give ${MODEL_FORMS}\n` +
          `  hint: copy the file to this machine and pass its path, or register a job's output with \`switchyard models register NAME --from job://JOB/model.onnx\``,
      );
    }
    if (!rest.startsWith("/")) throw usage(`--model ${text}: a file URL names an absolute path (file:///abs/model.onnx, three slashes); or pass the path itself (./model.onnx)`);
    checkLocalFile(text, rest, kind(rest));
    return text;
  }
  if (text === "") throw usage(`--model is empty: give ${MODEL_FORMS}`);
  const abs = resolve(cwd, text);
  const k = kind(abs);
  if (k === "missing" && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(@[1-9]\d*)?$/.test(text)) {
    throw usage(`--model ${text}: no such file (${abs}); a registered model is named models://${text}`);
  }
  checkLocalFile(text, abs, k);
  return `file://${abs}`;
}

function checkLocalFile(text: string, abs: string, k: ReturnType<PathKind>): void {
  if (k === "missing") throw usage(`--model ${text}: no such file (${abs}): give ${MODEL_FORMS}`);
  if (k === "directory") throw usage(`--model ${text}: ${abs} is a directory: name the model file in it (e.g. ${abs.replace(/\/$/, "")}/model.onnx)`);
}

/** A whole-number flag from `min` up (and to `max` when given). */
export function wholeNumber(flag: string, text: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(text.trim()) ? Number(text.trim()) : NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw usage(`${flag} must be a whole number ${max === Number.MAX_SAFE_INTEGER ? `of at least ${min}` : `from ${min} to ${max}`} (got "${text}")`);
  return n;
}

/** A quantity as YAML wants it: a plain number as a number, "500m" or "4Gi" as the text. */
const quantity = (text: string): number | string => (/^\d+(\.\d+)?$/.test(text.trim()) ? Number(text.trim()) : text.trim());

function checkQuantityFlag(flag: string, text: string, parse: (t: string) => unknown, example: string): number | string {
  try {
    parse(text.trim());
  } catch {
    throw usage(`${flag} "${text}" is not ${example}`);
  }
  return quantity(text);
}

/** `--canary PCT`: the share of requests the new revision takes while the previous one serves the rest. */
export function canaryPercent(text: string | undefined): number | undefined {
  return text === undefined ? undefined : wholeNumber("--canary", text, 0, 100);
}

/** Refuses flags that do not go with `-f` (the file describes the deployment) or with what else was given. */
export function checkServeMode(name: string | undefined, command: readonly string[], o: ServeFlags, teamFlag: string | undefined): void {
  if (o.timeout !== undefined && !o.wait) throw usage("--timeout goes with --wait (how long to wait for a ready replica)");
  if (o.file !== undefined) {
    if (name !== undefined) throw usage(`give a NAME or -f FILE, not both: the file names the deployment (metadata.name); drop "${name}"`);
    const given = SPEC_FLAGS.filter(([k]) => o[k] !== undefined && o[k] !== false).map(([, f]) => f);
    if (given.length > 0) throw usage(`${given.join(", ")} cannot be given with -f: the file describes the deployment; change it there, or serve by NAME with flags instead of -f`);
    if (teamFlag !== undefined) throw usage("--team cannot be given with -f: the file's metadata.team (metadata.namespace for an InferenceService) says the team");
    if (command.length > 0) throw usage(`unexpected argument "${command[0]}": with -f, serve takes no arguments`);
    return;
  }
  if (name === undefined) throw usage("serve needs a deployment NAME and --model, or -f FILE (a KServe InferenceService or a switchyard/v1 Deployment)");
  if (!o.custom && command.length > 0) throw usage(`unexpected argument "${command[0]}": serve takes one NAME; a custom server's command goes after \`--custom --\``);
}

/** The native Deployment manifest of `serve NAME [flags] [--custom -- CMD ARGS…]`, as an object and as YAML. */
export function buildServeManifest(name: string, o: ServeFlags, command: readonly string[], ctx: { team?: string | undefined; cwd: string; kind?: PathKind }): { doc: Record<string, unknown>; text: string } {
  checkDeploymentName(name);
  if (ctx.team !== undefined) checkDeploymentName(ctx.team, "a team's name");
  if (o.custom && command.length === 0) throw usage("--custom needs the server's command after `--`, e.g. `switchyard serve NAME --custom -- python3 serve.py` (it serves the Open Inference Protocol over HTTP on $PORT)");
  if (!o.custom && o.model === undefined) throw usage(`serve ${name} needs --model: ${MODEL_FORMS}; or --custom -- CMD ARGS… for a server of your own`);
  const storageUri = o.model === undefined ? undefined : modelUri(o.model, ctx.cwd, ctx.kind);

  const spec: Record<string, unknown> = {};
  spec["model"] = o.custom ? { format: "custom", ...(storageUri !== undefined ? { storageUri } : {}), command: [command[0]!], ...(command.length > 1 ? { args: command.slice(1) } : {}) } : storageUri;

  if (o.replicas !== undefined && (o.min !== undefined || o.max !== undefined)) {
    throw usage(`--replicas is a fixed count; --min and --max autoscale between two counts: give --replicas ${o.replicas}, or --min N --max N, not both`);
  }
  if (o.replicas !== undefined) spec["replicas"] = wholeNumber("--replicas", o.replicas, 1, MAX_DEPLOYMENT_REPLICAS);
  const min = o.min === undefined ? undefined : wholeNumber("--min", o.min, 0, MAX_DEPLOYMENT_REPLICAS);
  const max = o.max === undefined ? undefined : wholeNumber("--max", o.max, 1, MAX_DEPLOYMENT_REPLICAS);
  if (min !== undefined && max !== undefined && max < min) throw usage(`--max ${max} is below --min ${min}: raise --max to at least ${Math.max(min, 1)}, or lower --min`);
  if (min !== undefined) spec["minReplicas"] = min;
  if (max !== undefined) spec["maxReplicas"] = max;

  const resources: Record<string, unknown> = {};
  if (o.gpus !== undefined) resources["gpus"] = checkQuantityFlag("--gpus", o.gpus, parseQuantityGpu, "a number of GPUs (0, 1, 2, …) or a share of one below 1 (0.5)");
  if (o.cpu !== undefined) resources["cpu"] = checkQuantityFlag("--cpu", o.cpu, parseQuantityCpu, 'CPU cores more than 0, such as 2, 0.5 or 500m');
  if (o.memory !== undefined) resources["memory"] = checkQuantityFlag("--memory", o.memory, parseQuantityMemory, "a memory size more than 0, such as 4Gi or 512Mi");
  if (Object.keys(resources).length > 0) spec["resources"] = resources;

  if (o.target !== undefined) spec["autoscaling"] = { target: wholeNumber("--target", o.target, 1) };

  if (o.maxBatchSize === undefined && (o.maxQueueDelayUs !== undefined || o.preferredBatchSizes !== undefined)) {
    throw usage(`${o.maxQueueDelayUs !== undefined ? "--max-queue-delay-us" : "--preferred-batch-sizes"} needs --max-batch-size: batching is on when a batch size is given (e.g. --max-batch-size 32)`);
  }
  if (o.maxBatchSize !== undefined) {
    const batching: Record<string, unknown> = { maxBatchSize: wholeNumber("--max-batch-size", o.maxBatchSize, 1, MAX_BATCH_SIZE) };
    if (o.maxQueueDelayUs !== undefined) batching["maxQueueDelayMicroseconds"] = wholeNumber("--max-queue-delay-us", o.maxQueueDelayUs, 0);
    if (o.preferredBatchSizes !== undefined) {
      const sizes = o.preferredBatchSizes.split(",").map((s) => s.trim());
      if (sizes.some((s) => !/^[1-9]\d*$/.test(s))) throw usage(`--preferred-batch-sizes must be whole numbers of at least 1, separated by commas, e.g. 8,16 (got "${o.preferredBatchSizes}")`);
      batching["preferredBatchSizes"] = sizes.map(Number);
    }
    spec["batching"] = batching;
  }

  const doc = { apiVersion: "switchyard/v1", kind: "Deployment", metadata: { name, ...(ctx.team !== undefined ? { team: ctx.team } : {}) }, spec };
  return { doc, text: stringify(doc) };
}
