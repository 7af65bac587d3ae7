/**
 * `parseJobManifest`: YAML or JSON text to a validated, normalized JobSpec. Dispatches on apiVersion/kind, collects
 * every violation (schema, cross-field, meaning) with its position, and either returns a whole spec or throws.
 */
import { Code, DEFAULT_TEXT_BOUNDS, SwitchyardError } from "@switchyard/core";
import { closestMatch } from "./did-you-mean.js";
import type { JobFormat } from "./job-format.js";
import { isRecord } from "./job-format.js";
import { nativeJobFormat } from "./job-native.js";
import type { JobManifestSource, JobSpec, ParseJobManifestOptions, ParsedJobManifest } from "./job-spec.js";
import { pytorchJobFormat } from "./kubeflow-pytorchjob.js";
import { trainJobFormat } from "./kubeflow-trainjob.js";
import type { NormalizeContext } from "./normalize-common.js";
import { Violations, describeValue, type PathSegment } from "./violations.js";
import { readYamlSource } from "./yaml-source.js";

/** A format with its document type hidden, so formats of different types sit in one list. */
interface FormatRunner {
  readonly source: JobManifestSource;
  readonly apiVersion: string;
  readonly kind: string;
  /** Validates `root` into `out`; normalizes only when nothing was wrong. */
  run(root: Record<string, unknown>, out: Violations, ctx: () => NormalizeContext): JobSpec | undefined;
}

function runner<T>(f: JobFormat<T>): FormatRunner {
  return {
    source: f.source,
    apiVersion: f.apiVersion,
    kind: f.kind,
    run(root, out, ctx) {
      const result = f.schema.safeParse(root, { reportInput: true });
      if (!result.success) out.addZodIssues(result.error.issues, f.schema, f.hints);
      f.check(root, out);
      if (!result.success || out.size > 0) return undefined;
      return f.normalize(result.data, ctx());
    },
  };
}

const FORMATS: readonly FormatRunner[] = [runner(nativeJobFormat), runner(pytorchJobFormat), runner(trainJobFormat)];

/** Manifests bigger than this are refused before parsing (Kubernetes objects stop at about 1.5 MB). */
export const MAX_MANIFEST_BYTES = DEFAULT_TEXT_BOUNDS.maxBytes;
/**
 * The kernel refuses to start a program with an argument or an environment string (`NAME=value`) over 128 KiB
 * (MAX_ARG_STRLEN): such a job would be accepted and then fail with "Argument list too long". Said at submission.
 */
export const MAX_EXEC_STRING_BYTES = 128 * 1024 - 1;

function checkExecLimits(spec: JobSpec, source: JobManifestSource, out: Violations): void {
  const native = source === "switchyard/v1";
  const check = (path: PathSegment[], text: string, what: string) => {
    const bytes = Buffer.byteLength(text);
    if (bytes > MAX_EXEC_STRING_BYTES) {
      out.add(path, { message: `${what} is ${bytes} bytes: a program cannot be started with one over ${MAX_EXEC_STRING_BYTES}`, expected: `at most ${MAX_EXEC_STRING_BYTES} bytes`, got: `${bytes} bytes`, hint: "put large data in a file the job reads (its working directory, or a secret for credentials)" });
    }
  };
  for (const role of [{ command: spec.command, args: spec.args, env: spec.env }, ...(spec.roles ?? [])]) {
    role.command.forEach((a, i) => check(native ? ["spec", "command", i] : ["spec"], a, "an argument"));
    role.args.forEach((a, i) => check(native ? ["spec", "args", i] : ["spec"], a, "an argument"));
    for (const [k, v] of Object.entries(role.env)) check(native ? ["spec", "env", k] : ["spec"], `${k}=${v}`, `environment variable ${k}`);
  }
}

/** The most processes (replicas × processes per replica) one job may ask for: a gang this large is a mistake or an attack. */
export const MAX_PROCESSES = 1024;
/** Deepest nesting of a manifest (a PyTorchJob's pod template is about 10 levels deep). */
export const MAX_MANIFEST_DEPTH = DEFAULT_TEXT_BOUNDS.maxDepth;

const SUPPORTED = "`apiVersion: switchyard/v1` with `kind: Job`, `kubeflow.org/v1` with `kind: PyTorchJob`, or `trainer.kubeflow.org/v1alpha1` with `kind: TrainJob`";

function pickFormat(root: Record<string, unknown>, out: Violations): FormatRunner | undefined {
  const apiVersion = root["apiVersion"];
  const kind = root["kind"];
  const versions = [...new Set(FORMATS.map((f) => f.apiVersion))];
  if (typeof apiVersion !== "string") {
    const missing = apiVersion === undefined;
    out.add(["apiVersion"], { message: missing ? "is required" : "has the wrong type", expected: "a string", got: missing ? undefined : describeValue(apiVersion), hint: `start the manifest with ${SUPPORTED}` });
    return undefined;
  }
  const byVersion = FORMATS.filter((f) => f.apiVersion === apiVersion);
  if (byVersion.length === 0) {
    const near = closestMatch(apiVersion, versions);
    out.add(["apiVersion"], { message: "is not a supported apiVersion", expected: `one of ${versions.join(", ")}`, got: JSON.stringify(apiVersion), hint: near !== undefined ? `did you mean \`${near}\`?` : `use ${SUPPORTED}` });
    return undefined;
  }
  const kinds = byVersion.map((f) => f.kind);
  const format = byVersion.find((f) => f.kind === kind);
  if (format === undefined) {
    const near = typeof kind === "string" ? closestMatch(kind, kinds) : undefined;
    out.add(["kind"], {
      message: kind === undefined ? "is required" : `is not a kind of ${apiVersion}`,
      expected: kinds.join(" or "),
      got: kind === undefined ? undefined : describeValue(kind),
      hint: near !== undefined ? `did you mean \`${near}\`?` : `use \`kind: ${kinds[0] ?? "Job"}\` with \`apiVersion: ${apiVersion}\``,
    });
  }
  return format;
}

function describeFormat(f: FormatRunner): string {
  return f.apiVersion === "switchyard/v1" ? "the job manifest" : `the ${f.kind}`;
}

/**
 * Parses a job manifest (YAML or JSON): native `switchyard/v1` Job, Kubeflow `kubeflow.org/v1` PyTorchJob, or
 * Kubeflow Trainer `trainer.kubeflow.org/v1alpha1` TrainJob. Throws SwitchyardError(InvalidArgument) listing every
 * violation with file:line:column, field, expected, got and a hint; never returns a partial spec.
 */
export function parseJobManifest(text: string, options: ParseJobManifestOptions = {}): ParsedJobManifest {
  try {
    return parse(text, options);
  } catch (err) {
    if (err instanceof SwitchyardError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new SwitchyardError(Code.Internal, `reading ${options.file ?? "the manifest"} failed unexpectedly: ${message}`, { cause: err });
  }
}

function parse(text: string, options: ParseJobManifestOptions): ParsedJobManifest {
  const { file, baseDir, acceptRedacted } = options;
  if (typeof text !== "string") {
    throw new SwitchyardError(Code.InvalidArgument, "a job manifest must be given as text", { details: [{ field: "(document)", message: "is not text", got: typeof text, hint: "pass the file's contents as a string" }] });
  }
  const source = readYamlSource(text, file);
  const out: Violations = new Violations(source, file);
  const root = source.value;
  if (!isRecord(root)) {
    out.add([], { message: "must be a mapping of fields", expected: "a mapping with apiVersion, kind, metadata and spec", got: describeValue(root), hint: `start the manifest with ${SUPPORTED}` });
    out.throwAll("the manifest");
  }
  const format = pickFormat(root, out);
  if (format === undefined) out.throwAll("the manifest");
  const what = describeFormat(format);
  const warnings = [...source.warnings];
  const ctx = (): NormalizeContext => ({ violations: out, locator: source, warnings, raw: root, ...(file !== undefined ? { file } : {}), ...(baseDir !== undefined ? { baseDir } : {}), ...(acceptRedacted === true ? { acceptRedacted } : {}) });
  const spec = format.run(root, out, ctx);
  if (spec !== undefined && spec.replicas * (spec.distributed?.nprocPerNode ?? 1) > MAX_PROCESSES) {
    const path: PathSegment[] = format.source === "switchyard/v1" ? ["spec", "replicas"] : format.source === "kubeflow.org/v1/PyTorchJob" ? ["spec", "pytorchReplicaSpecs"] : ["spec", "trainer", "numNodes"];
    out.add(path, {
      message: `asks for ${spec.replicas} replicas × ${spec.distributed?.nprocPerNode ?? 1} processes, more than one job may start (${MAX_PROCESSES})`,
      expected: `at most ${MAX_PROCESSES} processes in all`,
      got: String(spec.replicas * (spec.distributed?.nprocPerNode ?? 1)),
      hint: "split the work into several jobs, or use fewer, larger replicas",
    });
  }
  if (spec !== undefined) checkExecLimits(spec, format.source, out);
  out.throwIfAny(what);
  if (spec === undefined) throw new SwitchyardError(Code.Internal, `${what} could not be normalized`);
  return { spec, warnings, source: format.source };
}
