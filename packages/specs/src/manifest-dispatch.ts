/**
 * What every manifest reader shares (jobs and deployments): the text read into a mapping with positions, the format
 * picked by `apiVersion` and `kind` (with "did you mean"), a format run as schema → cross-field check → normalize, and
 * anything unexpected reported as Internal rather than as the caller's mistake.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { closestMatch } from "./did-you-mean.js";
import type { ManifestFormat } from "./job-format.js";
import { isRecord } from "./job-format.js";
import type { NormalizeContext } from "./normalize-common.js";
import { Violations, describeValue, type PathSegment } from "./violations.js";
import { readYamlSource, type YamlSource } from "./yaml-source.js";

/** A format with its document type hidden, so formats of different document types sit in one list. */
export interface FormatRunner<Spec, Source extends string, Ctx extends NormalizeContext = NormalizeContext> {
  readonly source: Source;
  readonly apiVersion: string;
  readonly kind: string;
  /** Validates `root` into `out`; normalizes only when nothing was wrong. */
  run(root: Record<string, unknown>, out: Violations, ctx: () => Ctx): Spec | undefined;
}

export function runner<T, Spec, Source extends string, Ctx extends NormalizeContext>(f: ManifestFormat<T, Spec, Source, Ctx>): FormatRunner<Spec, Source, Ctx> {
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

/**
 * The format named by the document's `apiVersion` and `kind`, or undefined with the violation added. `supported` is
 * the sentence that lists the accepted pairs, for hints.
 */
export function pickFormat<R extends { readonly apiVersion: string; readonly kind: string }>(
  root: Record<string, unknown>, out: Violations, formats: readonly R[], supported: string,
): R | undefined {
  const apiVersion = root["apiVersion"];
  const kind = root["kind"];
  const versions = [...new Set(formats.map((f) => f.apiVersion))];
  if (typeof apiVersion !== "string") {
    const missing = apiVersion === undefined;
    out.add(["apiVersion"], { message: missing ? "is required" : "has the wrong type", expected: "a string", got: missing ? undefined : describeValue(apiVersion), hint: `start the manifest with ${supported}` });
    return undefined;
  }
  const byVersion = formats.filter((f) => f.apiVersion === apiVersion);
  if (byVersion.length === 0) {
    const near = closestMatch(apiVersion, versions);
    out.add(["apiVersion"], { message: "is not a supported apiVersion", expected: `one of ${versions.join(", ")}`, got: JSON.stringify(apiVersion), hint: near !== undefined ? `did you mean \`${near}\`?` : `use ${supported}` });
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

export interface ManifestRoot {
  readonly source: YamlSource;
  readonly out: Violations;
  readonly root: Record<string, unknown>;
}

/**
 * Reads manifest text (bounded in size and nesting before any parser runs) into a mapping with positions, or throws
 * InvalidArgument. `what` names the document for a caller that passed something other than text ("a job manifest").
 */
export function readManifestRoot(text: unknown, file: string | undefined, what: string, supported: string): ManifestRoot {
  if (typeof text !== "string") {
    throw new SwitchyardError(Code.InvalidArgument, `${what} must be given as text`, { details: [{ field: "(document)", message: "is not text", got: typeof text, hint: "pass the file's contents as a string" }] });
  }
  const source = readYamlSource(text, file);
  const out: Violations = new Violations(source, file);
  const root = source.value;
  if (!isRecord(root)) {
    out.add([], { message: "must be a mapping of fields", expected: "a mapping with apiVersion, kind, metadata and spec", got: describeValue(root), hint: `start the manifest with ${supported}` });
    out.throwAll("the manifest");
  }
  return { source, out, root };
}

/** Runs `parse`; anything it throws that is not a SwitchyardError (a bug, not the manifest's fault) becomes Internal. */
export function withInternalErrors<T>(file: string | undefined, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    if (err instanceof SwitchyardError) throw err;
    const message = err instanceof Error ? err.message : String(err);
    throw new SwitchyardError(Code.Internal, `reading ${file ?? "the manifest"} failed unexpectedly: ${message}`, { cause: err });
  }
}

/**
 * The kernel refuses to start a program with an argument or an environment string (`NAME=value`) over 128 KiB
 * (MAX_ARG_STRLEN): such a job would be accepted and then fail with "Argument list too long". Said at submission.
 */
export const MAX_EXEC_STRING_BYTES = 128 * 1024 - 1;

/** Adds a violation at `path` when `text` (an argument, or `NAME=value`) is too long to start a program with. */
export function checkExecString(out: Violations, path: readonly PathSegment[], text: string, what: string): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > MAX_EXEC_STRING_BYTES) {
    out.add(path, { message: `${what} is ${bytes} bytes: a program cannot be started with one over ${MAX_EXEC_STRING_BYTES}`, expected: `at most ${MAX_EXEC_STRING_BYTES} bytes`, got: `${bytes} bytes`, hint: "put large data in a file the job reads (its working directory, or a secret for credentials)" });
  }
}
