import { LineCounter, isMap, isScalar, isSeq, type Node } from "yaml";
import { formatViolations, parseYamlDocument, yamlToJs, invalidArgument, type FieldViolation, type SwitchyardError } from "@switchyard/core";

/** A YAML (or JSON) document as plain values, with the line and column of every field for error messages. */
export interface SourceDoc {
  readonly value: unknown;
  readonly file: string;
  /** Position of the value at a dotted path (`queues[1].resources.gpus`), or of the nearest parent that has one. */
  at(path: string): { line: number; column: number } | undefined;
}

export function parseYamlSource(text: string, file: string): SourceDoc {
  const lc = new LineCounter();
  // Size and nesting proven bounded before the (recursive) composer runs.
  // Duplicate keys are found in the walk below, in one pass: the library's own check is quadratic in a mapping's size.
  const doc = parseYamlDocument(text, { what: file, file, lineCounter: lc, prettyErrors: false, uniqueKeys: false });
  if (doc.errors.length > 0) {
    const details: FieldViolation[] = doc.errors.map((e) => {
      const p = lc.linePos(e.pos[0]);
      return { field: "(document)", message: e.message.split("\n")[0] ?? e.message, file, line: p.line, column: p.col, hint: "fix the YAML syntax" };
    });
    throw invalidArgument(`${file} is not valid YAML:\n${formatViolations(details)}`, details);
  }
  const positions = new Map<string, { line: number; column: number }>();
  const mark = (path: string, node: Node | null | undefined): void => {
    if (node?.range === undefined || node.range === null) return;
    const p = lc.linePos(node.range[0]);
    positions.set(path, { line: p.line, column: p.col });
  };
  const duplicates: FieldViolation[] = [];
  const walk = (node: unknown, path: string): void => {
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const pair of node.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
        const child = path === "" ? key : `${path}.${key}`;
        if (seen.has(key)) {
          const range = (pair.key as Node | null)?.range;
          const p = lc.linePos(range ? range[0] : 0);
          if (duplicates.length < 50) duplicates.push({ field: child, message: "map keys must be unique", file, line: p.line, column: p.col, hint: "remove one of the two entries with this key" });
          continue;
        }
        seen.add(key);
        mark(child, (pair.value as Node | null) ?? (pair.key as Node));
        mark(`${child}#key`, pair.key as Node);
        walk(pair.value, child);
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, i) => {
        const child = `${path}[${i}]`;
        mark(child, item as Node);
        walk(item, child);
      });
    }
  };
  mark("", doc.contents as Node | null);
  walk(doc.contents, "");
  if (duplicates.length > 0) throw invalidArgument(`${file} is not valid YAML:\n${formatViolations(duplicates)}`, duplicates);
  return {
    value: yamlToJs(doc, file, file),
    file,
    at(path) {
      for (let p = path; ; ) {
        const hit = positions.get(p);
        if (hit !== undefined) return hit;
        if (p === "") return undefined;
        const cut = Math.max(p.lastIndexOf("."), p.lastIndexOf("["));
        p = cut <= 0 ? "" : p.slice(0, cut);
      }
    },
  };
}

/** Collects violations with positions and throws them as one InvalidArgument. */
export class Violations {
  /** The first 50 problems (a garbage document must not turn into a megabyte of error text); `more` counts the rest. */
  readonly list: FieldViolation[] = [];
  more = 0;
  constructor(private readonly doc: SourceDoc | undefined, private readonly file: string) {}

  add(field: string, message: string, extra: { expected?: string; got?: unknown; hint?: string; atKey?: boolean } = {}): void {
    const pos = this.doc?.at(extra.atKey === true ? `${field}#key` : field);
    const v: FieldViolation = { field, message, file: this.file };
    if (pos !== undefined) [v.line, v.column] = [pos.line, pos.column];
    if (extra.expected !== undefined) v.expected = extra.expected;
    if (extra.got !== undefined) v.got = describe(extra.got);
    if (extra.hint !== undefined) v.hint = extra.hint;
    if (this.list.length < 50) this.list.push(v);
    else this.more++;
  }

  error(what: string): SwitchyardError {
    const n = this.list.length + this.more;
    return invalidArgument(`${what}: ${n} problem${n === 1 ? "" : "s"}${this.more > 0 ? ` (the first ${this.list.length} shown)` : ""}\n${formatViolations(this.list)}`, this.list);
  }

  throwIfAny(what: string): void {
    if (this.list.length > 0) throw this.error(what);
  }
}

/** A value for an error message: short, whatever it is (a string quoted, a list or mapping named). */
function describe(v: unknown): string {
  if (typeof v === "string") return JSON.stringify(v.length > 60 ? `${v.slice(0, 57)}...` : v);
  if (Array.isArray(v)) return `a list of ${v.length}`;
  if (typeof v === "object" && v !== null) return "a mapping";
  return String(v).slice(0, 60);
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The closest of `options` to `word` (edit distance ≤ 3, or a case-insensitive prefix), for "did you mean" hints. */
export function closest(word: string, options: readonly string[]): string | undefined {
  const w = word.toLowerCase();
  let best: string | undefined;
  let bestD = 4;
  for (const o of options) {
    const l = o.toLowerCase();
    if (l.startsWith(w) || w.startsWith(l)) return o;
    const d = editDistance(w, l);
    if (d < bestD) [best, bestD] = [o, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
