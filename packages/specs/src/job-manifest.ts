/**
 * `parseJobManifest`: YAML or JSON text to a validated, normalized JobSpec. Dispatches on apiVersion/kind, collects
 * every violation (schema, cross-field, meaning) with its position, and either returns a whole spec or throws.
 */
import { Code, DEFAULT_TEXT_BOUNDS, SwitchyardError } from "@switchyard/core";
import { nativeJobFormat } from "./job-native.js";
import type { JobManifestSource, JobSpec, ParseJobManifestOptions, ParsedJobManifest } from "./job-spec.js";
import { pytorchJobFormat } from "./kubeflow-pytorchjob.js";
import { trainJobFormat } from "./kubeflow-trainjob.js";
import { batchJobFormat } from "./kubernetes-batchjob.js";
import { MAX_EXEC_STRING_BYTES, checkExecString, pickFormat, readManifestRoot, runner, withInternalErrors } from "./manifest-dispatch.js";
import type { FormatRunner } from "./manifest-dispatch.js";
import type { NormalizeContext } from "./normalize-common.js";
import type { Locator, PathSegment, Violations } from "./violations.js";

const FORMATS: readonly FormatRunner<JobSpec, JobManifestSource>[] = [runner(nativeJobFormat), runner(pytorchJobFormat), runner(trainJobFormat), runner(batchJobFormat)];

/** Manifests bigger than this are refused before parsing (Kubernetes objects stop at about 1.5 MB). */
export const MAX_MANIFEST_BYTES = DEFAULT_TEXT_BOUNDS.maxBytes;
export { MAX_EXEC_STRING_BYTES };

function checkExecLimits(spec: JobSpec, source: JobManifestSource, out: Violations): void {
  const native = source === "switchyard/v1";
  const check = (path: PathSegment[], text: string, what: string) => checkExecString(out, path, text, what);
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

const SUPPORTED = "`apiVersion: switchyard/v1` with `kind: Job`, `kubeflow.org/v1` with `kind: PyTorchJob`, `trainer.kubeflow.org/v1alpha1` with `kind: TrainJob`, or `batch/v1` with `kind: Job`";

function describeFormat(f: FormatRunner<JobSpec, JobManifestSource>): string {
  return f.apiVersion === "switchyard/v1" ? "the job manifest" : `the ${f.kind}`;
}

/**
 * Parses a job manifest (YAML or JSON): native `switchyard/v1` Job, Kubeflow `kubeflow.org/v1` PyTorchJob, Kubeflow
 * Trainer `trainer.kubeflow.org/v1alpha1` TrainJob, or Kubernetes `batch/v1` Job. Throws
 * SwitchyardError(InvalidArgument) listing every violation with file:line:column, field, expected, got and a hint;
 * never returns a partial spec.
 */
export function parseJobManifest(text: string, options: ParseJobManifestOptions = {}): ParsedJobManifest {
  return withInternalErrors(options.file, () => parse(text, options));
}

function parse(text: string, options: ParseJobManifestOptions): ParsedJobManifest {
  const { source, root, out } = readManifestRoot(text, options.file, "a job manifest", SUPPORTED);
  const warnings = [...source.warnings];
  const parsed = readJobDocument(root, { ...options, out, locator: source, warnings });
  out.throwIfAny(parsed?.what ?? "the manifest");
  if (parsed?.spec === undefined) throw new SwitchyardError(Code.Internal, `${parsed?.what ?? "the manifest"} could not be normalized`);
  return { spec: parsed.spec, warnings, source: parsed.source };
}

/** Where a job document read by `readJobDocument` reports what it finds. */
export interface JobDocumentContext extends ParseJobManifestOptions {
  readonly out: Violations;
  readonly locator: Locator;
  readonly warnings: string[];
  /** For a job embedded in another document (an experiment's trial template): see NormalizeContext. */
  readonly sourcePath?: (path: readonly PathSegment[]) => PathSegment[];
  readonly ignored?: PathSegment[][];
}

/**
 * A job manifest already read into `root` (the text, or an experiment's rendered trial), validated and normalized:
 * violations go to `c.out` and warnings to `c.warnings`; `spec` is undefined when anything was wrong. Undefined when
 * the format itself is unknown.
 */
export function readJobDocument(root: Record<string, unknown>, c: JobDocumentContext): { spec: JobSpec | undefined; source: JobManifestSource; what: string } | undefined {
  const { out, file, baseDir, acceptRedacted } = c;
  const format = pickFormat(root, out, FORMATS, SUPPORTED);
  if (format === undefined) return undefined;
  const what = describeFormat(format);
  const ctx = (): NormalizeContext => ({
    violations: out, locator: c.locator, warnings: c.warnings, raw: root, ...(file !== undefined ? { file } : {}), ...(baseDir !== undefined ? { baseDir } : {}),
    ...(acceptRedacted === true ? { acceptRedacted } : {}), ...(c.sourcePath !== undefined ? { sourcePath: c.sourcePath } : {}), ...(c.ignored !== undefined ? { ignored: c.ignored } : {}),
  });
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
  return { spec: out.size > 0 ? undefined : spec, source: format.source, what };
}
