/**
 * Finds the fields of a manifest that were accepted but mean nothing on this engine (volumes, tolerations, …),
 * so that one warning can list them. A format describes what it honours as a tree; everything else present is listed.
 */
import type { NormalizeContext } from "./normalize-common.js";
import { formatPath } from "./violations.js";
import type { PathSegment } from "./violations.js";

/**
 * What a format honours: `true` for a whole subtree; an object of keys, where `"*"` matches any key and `"[]"`
 * applies to every item of a list; or a function that decides from the value itself (`false`: ignore all of it).
 */
export type Honoured = true | false | { readonly [key: string]: Honoured } | ((value: unknown) => Honoured);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The fields present in `value` that `honoured` does not cover, as paths; empty values (null, {}, []) are skipped. */
export function ignoredFieldPaths(value: unknown, honoured: Honoured, path: PathSegment[] = []): PathSegment[][] {
  const tree = typeof honoured === "function" ? honoured(value) : honoured;
  if (tree === true) return [];
  if (isEmpty(value)) return [];
  if (tree === false || typeof tree === "function") return [path];
  if (Array.isArray(value)) {
    const item = tree["[]"];
    if (item === undefined) return [path];
    return value.flatMap((v, i) => ignoredFieldPaths(v, item, [...path, i]));
  }
  if (!isRecord(value)) return [];
  const out: PathSegment[][] = [];
  for (const [k, v] of Object.entries(value)) {
    const sub = tree[k] ?? tree["*"];
    if (sub === undefined) {
      if (!isEmpty(v)) out.push([...path, k]);
    } else {
      out.push(...ignoredFieldPaths(v, sub, [...path, k]));
    }
  }
  return out;
}

function isEmpty(v: unknown): boolean {
  return v === null || v === undefined || (Array.isArray(v) && v.length === 0) || (isRecord(v) && Object.keys(v).length === 0);
}

/** The one warning for a manifest's ignored fields, or nothing when there are none. */
export function ignoredFieldsWarning(paths: readonly string[]): string[] {
  if (paths.length === 0) return [];
  return [`accepted but ignored by this engine, which runs local processes rather than pods: ${paths.join(", ")}`];
}

/**
 * Reports what a format ignores in the document being normalized: the one warning, or, for a document embedded in
 * another (`ctx.ignored`), its paths as written in the outer document, for the outer one's warning.
 */
export function reportIgnored(ctx: NormalizeContext, honoured: Honoured): void {
  const paths = ignoredFieldPaths(ctx.raw, honoured).map((p) => ctx.sourcePath?.(p) ?? p);
  if (ctx.ignored !== undefined) ctx.ignored.push(...paths);
  else ctx.warnings.push(...ignoredFieldsWarning(paths.map(formatPath)));
}
