/**
 * The contract each manifest format implements (jobs: native, PyTorchJob, TrainJob; deployments: native, KServe
 * InferenceService), and helpers for the cross-field rules that are checked on the raw document so that they are
 * reported together with the schema's violations.
 */
import type * as z from "zod";
import type { JobManifestSource, JobSpec } from "./job-spec.js";
import type { NormalizeContext } from "./normalize-common.js";
import type { HintTable, Violations } from "./violations.js";

/** One manifest format (`apiVersion` + `kind`) read into a normalized spec of type `Spec`. */
export interface ManifestFormat<T, Spec, Source extends string, Ctx extends NormalizeContext = NormalizeContext> {
  readonly source: Source;
  readonly apiVersion: string;
  readonly kind: string;
  /** Structure and per-field rules. */
  readonly schema: z.ZodType<T>;
  /** Hints for required fields and for unknown keys that belong elsewhere, keyed by generic path. */
  readonly hints: HintTable;
  /** Rules across fields, on the raw document: called whether or not the schema passed. */
  check(raw: Record<string, unknown>, out: Violations): void;
  /** The validated document to a spec; may add violations (meaning, not form: then it may return undefined) and warnings. */
  normalize(doc: T, ctx: Ctx): Spec | undefined;
}

export type JobFormat<T> = ManifestFormat<T, JobSpec, JobManifestSource>;

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** `raw.a.b.c` when every step is a mapping, else undefined. */
export function rawAt(raw: unknown, ...path: string[]): unknown {
  let cur: unknown = raw;
  for (const k of path) {
    if (!isRecord(cur)) return undefined;
    cur = cur[k];
  }
  return cur;
}

export function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

/** The message for a job or container that names an image but no command. */
export function commandHint(hasImage: boolean, where: string): string {
  const example = '`command: ["python", "train.py"]`';
  return hasImage
    ? `this engine runs processes, not images: add \`command\` (the image's entrypoint) to ${where}, e.g. ${example}`
    : `add the program to run to ${where}, e.g. ${example}`;
}

/** metadata needs a name or a generateName (checked when metadata itself is a mapping). */
export function checkNamePresent(raw: Record<string, unknown>, out: Violations): void {
  const meta = raw["metadata"];
  if (isRecord(meta) && !isSet(meta["name"]) && !isSet(meta["generateName"])) {
    out.add(["metadata"], {
      message: "needs a `name` or a `generateName`", expected: "metadata.name or metadata.generateName",
      hint: "add `name: my-job`, or `generateName: my-job-` to get a unique random suffix", at: "key",
    });
  }
}
