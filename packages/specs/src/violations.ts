/**
 * Collecting every problem in a manifest, each with its position, before throwing one SwitchyardError.
 * Zod issues are translated here into FieldViolations that say what was wrong, where, and how to fix it.
 */
import { Code, SwitchyardError, formatViolations } from "@switchyard/core";
import type { FieldViolation } from "@switchyard/core";
import type * as z from "zod";
import { closestMatch, listForHint } from "./did-you-mean.js";
import { knownKeysAt, typeName, typeHint } from "./zod-walk.js";

export type PathSegment = string | number;

export interface SourcePosition {
  line: number;
  column: number;
}

/** Finds where a path of the document is written: its value, or its key (for unknown or missing fields). */
export interface Locator {
  locate(path: readonly PathSegment[], at?: "value" | "key"): SourcePosition | undefined;
}

export interface ViolationInput {
  message: string;
  hint: string;
  expected?: string;
  got?: string;
  /** Point at the key rather than the value (unknown fields, bad map keys). */
  at?: "value" | "key";
}

/** Per-format hints, keyed by generic field path (`spec.containers[].command`). */
export type HintTable = Readonly<Record<string, string>>;

const IDENT = /^[A-Za-z_$][\w$-]*$/;

/** `["spec", "env", 0, "name"]` → `spec.env[0].name`; odd keys are quoted: `limits["nvidia.com/gpu"]`. */
export function formatPath(path: readonly PathSegment[]): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (IDENT.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === "" ? "(document)" : out;
}

function genericPath(path: readonly PathSegment[]): string {
  return formatPath(path.map((s) => (typeof s === "number" ? 0 : s))).replace(/\[0\]/g, "[]");
}

/** A value as a person would describe it in an error: `"two"`, `-1`, `a list`, `an empty value`. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return "an empty value";
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  return typeof v;
}

export class Violations {
  readonly list: FieldViolation[] = [];

  constructor(
    private readonly locator: Locator | undefined,
    readonly file?: string,
  ) {}

  get size(): number {
    return this.list.length;
  }

  add(path: readonly PathSegment[], v: ViolationInput): void {
    const pos = this.locator?.locate(path, v.at ?? "value");
    const d: FieldViolation = { field: formatPath(path), message: v.message, hint: v.hint };
    if (v.expected !== undefined) d.expected = v.expected;
    if (v.got !== undefined) d.got = v.got;
    if (this.file !== undefined) d.file = this.file;
    if (pos !== undefined) {
      d.line = pos.line;
      d.column = pos.column;
    }
    const dup = this.list.some((o) => o.field === d.field && o.message === d.message && o.line === d.line && o.column === d.column);
    if (!dup) this.list.push(d);
  }

  /** Adds one violation per zod issue (one per unknown key), with hints from `hints` where a field has one. */
  addZodIssues(issues: readonly z.core.$ZodIssue[], schema: z.ZodType, hints: HintTable = {}): void {
    for (const issue of issues) this.addZodIssue(issue, schema, hints);
  }

  private addZodIssue(issue: z.core.$ZodIssue, schema: z.ZodType, hints: HintTable): void {
    const path = issue.path.filter((s): s is PathSegment => typeof s !== "symbol");
    const key = String(path[path.length - 1] ?? "value");
    const hint = hints[genericPath(path)];
    const input: unknown = issue.input;
    switch (issue.code) {
      case "unrecognized_keys": {
        const known = knownKeysAt(schema, path);
        for (const k of issue.keys) {
          const p = [...path, k];
          const alias = hints[genericPath(p)];
          const near = closestMatch(k, known);
          const h = alias ?? (near !== undefined ? `did you mean \`${near}\`?` : `remove it; the fields allowed here are ${listForHint(known)}`);
          this.add(p, { message: "unknown field", expected: "a known field", got: JSON.stringify(k), hint: h, at: "key" });
        }
        return;
      }
      case "invalid_type": {
        const expected = typeName(issue.expected);
        if (input === undefined) {
          this.add(path, { message: "is required", expected, hint: hint ?? `add \`${key}\` here` });
        } else if (issue.expected === "int" && typeof input === "number") {
          this.add(path, { message: "must be a whole number", expected, got: describeValue(input), hint: hint ?? `use an integer, e.g. \`${key}: ${Math.round(input) || 1}\`` });
        } else {
          this.add(path, { message: "has the wrong type", expected, got: describeValue(input), hint: hint ?? typeHint(issue.expected, key) });
        }
        return;
      }
      case "too_small":
      case "too_big": {
        const small = issue.code === "too_small";
        const bound = small ? issue.minimum : issue.maximum;
        const inclusive = issue.inclusive !== false;
        const op = small ? (inclusive ? "≥" : ">") : inclusive ? "≤" : "<";
        if (issue.origin === "array" || issue.origin === "string") {
          const what = issue.origin === "array" ? "item" : "character";
          const msg = small ? `must have at least ${bound} ${what}${bound === 1 ? "" : "s"}` : `must have at most ${bound} ${what}s`;
          this.add(path, { message: msg, expected: `${op} ${bound} ${what}s`, got: describeValue(input), hint: hint ?? (small ? `give \`${key}\` a value` : `shorten \`${key}\``) });
        } else {
          this.add(path, { message: `must be ${op} ${bound}`, expected: `a number ${op} ${bound}`, got: describeValue(input), hint: hint ?? `use a value ${op} ${bound}` });
        }
        return;
      }
      case "invalid_value": {
        const values = issue.values.map((v) => String(v));
        const near = typeof input === "string" ? closestMatch(input, values) : undefined;
        const h = near !== undefined ? `did you mean \`${near}\`?` : (hint ?? `use one of ${listForHint(values)}`);
        this.add(path, { message: "is not an accepted value", expected: `one of ${values.join(", ")}`, got: describeValue(input), hint: h });
        return;
      }
      case "invalid_union": {
        // When the input has the shape of exactly one branch (a list, not a map), report that branch's own issues.
        const matched = issue.errors.filter((errs) => errs.some((e) => e.path.length > 0 || e.code !== "invalid_type"));
        const only = matched.length === 1 ? matched[0] : undefined;
        if (only !== undefined) {
          for (const e of only) this.addZodIssue({ ...e, path: [...issue.path, ...e.path] } as z.core.$ZodIssue, schema, hints);
          return;
        }
        const names = [...new Set(issue.errors.flatMap((e) => e.map((i) => (i.code === "invalid_type" ? typeName(i.expected) : undefined))))].filter(
          (x): x is string => x !== undefined,
        );
        const expected = names.length > 1 ? `${names.slice(0, -1).join(", ")} or ${names[names.length - 1] ?? ""}` : (names[0] ?? "another form");
        const msg = input === undefined ? "is required" : "has the wrong type";
        const h = hint ?? (names.includes("a string") ? `quote the value, e.g. \`${key}: "..."\`` : `write \`${key}\` as ${expected}`);
        this.add(path, { message: msg, expected, got: input === undefined ? undefined : describeValue(input), hint: h });
        return;
      }
      case "invalid_key": {
        for (const inner of issue.issues) {
          const params = { ...((inner as { params?: object }).params ?? {}), at: "key" };
          this.addZodIssue({ ...inner, path: [...issue.path, ...inner.path], params } as z.core.$ZodIssue, schema, hints);
        }
        return;
      }
      case "custom": {
        const params = (issue.params ?? {}) as { expected?: string; hint?: string; at?: "key" | "value" };
        this.add(path, { message: issue.message, expected: params.expected, got: input === undefined ? undefined : describeValue(input), hint: params.hint ?? hint ?? "fix this value", at: params.at });
        return;
      }
      default:
        this.add(path, { message: issue.message, got: input === undefined ? undefined : describeValue(input), hint: hint ?? "fix this value" });
    }
  }

  /** Throws one InvalidArgument error listing every violation (sorted by position) when there is any. */
  throwIfAny(what: string): void {
    if (this.list.length > 0) throw invalidManifest(this.file, this.list, what);
  }

  /** Throws the violations collected so far; for paths that always end in an error (at least one was added). */
  throwAll(what: string): never {
    throw invalidManifest(this.file, this.list, what);
  }
}

/**
 * The violations of a document embedded in another (an experiment's trial template): each path is mapped to where the
 * value is written in the outer document, so that fields and positions name the file the person wrote.
 */
export class MappedViolations extends Violations {
  constructor(
    locator: Locator | undefined,
    file: string | undefined,
    private readonly map: (path: readonly PathSegment[]) => PathSegment[],
  ) {
    super(locator, file);
  }

  override add(path: readonly PathSegment[], v: ViolationInput): void {
    super.add(this.map(path), v);
  }
}

/** The most problems one error lists: a garbage document must not turn into a megabyte of error text. */
export const MAX_LISTED_VIOLATIONS = 50;

export function invalidManifest(file: string | undefined, details: readonly FieldViolation[], what: string): SwitchyardError {
  const n = details.length;
  const sorted = [...details].sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0)).slice(0, MAX_LISTED_VIOLATIONS);
  const shown = n > sorted.length ? ` (the first ${sorted.length} shown)` : "";
  const summary = `${file ?? "manifest"}: ${n} problem${n === 1 ? "" : "s"} in ${what}${shown}`;
  return new SwitchyardError(Code.InvalidArgument, `${summary}\n${formatViolations(sorted)}`, { details: sorted });
}
