/**
 * YAML (and JSON, which YAML reads) to plain values, remembering where each value and key is written so that
 * every violation can point at its line and column. Malformed input throws at the YAML error's own position.
 */
import { LineCounter, isAlias, isMap, isScalar, isSeq } from "yaml";
import type { Document, Node as YamlNode, YAMLError } from "yaml";
import { DEFAULT_TEXT_BOUNDS, checkTextBounds, parseYamlDocument } from "@switchyard/core";
import { Violations } from "./violations.js";
import type { Locator, PathSegment, SourcePosition } from "./violations.js";

export interface YamlSource extends Locator {
  /** The document as plain JSON-like values (objects, arrays, strings, numbers, booleans, null). */
  readonly value: unknown;
  /** Things YAML accepted but that look wrong (unknown tags), with positions. */
  readonly warnings: readonly string[];
}

interface Place {
  value: number;
  key?: number;
  /** A block (indented) collection: its key line is a better anchor than its first child. */
  block: boolean;
}

/** Caps the nodes built, so a few aliases cannot expand into billions ("billion laughs"). */
export const MAX_YAML_NODES = 50_000;
/** Caps nesting once aliases are expanded (the text itself is bounded before parsing: core's checkTextBounds). */
const MAX_DEPTH = DEFAULT_TEXT_BOUNDS.maxDepth;

const YAML_HINTS: Record<string, string> = {
  DUPLICATE_KEY: "remove one of the two entries with this key",
  MULTIPLE_DOCS: "put one job in each file (remove the extra `---` document)",
  TAB_AS_INDENT: "indent with spaces, not tabs",
  BAD_INDENT: "line the entries of one mapping or list up at the same indentation",
  MISSING_CHAR: "close the bracket or quote opened before this position",
  BLOCK_AS_IMPLICIT_KEY: "put a space after the `:` and check the indentation of the line above",
  MULTILINE_IMPLICIT_KEY: "a key must fit on one line: check for a missing `:` or a stray line break",
};

export function readYamlSource(text: string, file?: string): YamlSource {
  return readJsonFast(text, file) ?? readYaml(text, file);
}

/**
 * JSON (what REST and SDK callers send) read by the engine's JSON.parse: a tenth of the YAML reader's cost. Positions
 * are needed only when something is wrong, so the YAML reader runs then, on first `locate`. Taken only when the
 * answer is the YAML reader's own: an object or array that JSON.parse accepts, with no duplicate or `__proto__` key
 * and no more values than the YAML reader allows; anything else goes to the YAML reader, which says what is wrong.
 */
function readJsonFast(text: string, file: string | undefined): YamlSource | undefined {
  const first = /\S/.exec(text)?.[0];
  if (first !== "{" && first !== "[") return undefined;
  checkTextBounds(text, file ?? "the manifest", DEFAULT_TEXT_BOUNDS, file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!jsonKeysUnique(text) || countValues(value, Math.min(MAX_YAML_NODES, Math.max(1000, text.length))) === undefined) return undefined;
  let slow: YamlSource | undefined;
  return { value, warnings: [], locate: (path, at) => (slow ??= readYaml(text, file)).locate(path, at) };
}

/** Whether every object of valid JSON text has distinct keys, none of them `__proto__` (one pass, no parse). */
function jsonKeysUnique(text: string): boolean {
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      for (;;) {
        const d = text.charCodeAt(j);
        if (d === 0x5c) (escaped = true), (j += 2);
        else if (d === 0x22 || Number.isNaN(d)) break;
        else j++;
      }
      if (expectKey) {
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        const keys = stack[stack.length - 1];
        if (!keys || key === "__proto__" || keys.has(key)) return false;
        keys.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === 0x7b) stack.push(new Set()), (expectKey = true);
    else if (c === 0x5b) stack.push(null), (expectKey = false);
    else if (c === 0x7d || c === 0x5d) stack.pop(), (expectKey = false);
    else if (c === 0x2c) expectKey = stack[stack.length - 1] instanceof Set;
  }
  return true;
}

/** The number of values in `value` (iteratively), or undefined past `max`. */
function countValues(value: unknown, max: number): number | undefined {
  const todo: unknown[] = [value];
  let n = 1;
  while (todo.length > 0) {
    const v = todo.pop();
    const children = Array.isArray(v) ? v : v !== null && typeof v === "object" ? Object.values(v) : [];
    // Counted before they are stacked, one push each (a spread of 130,000 arguments overflows the stack).
    n += children.length;
    if (n > max) return undefined;
    for (const c of children) todo.push(c);
  }
  return n;
}

function readYaml(text: string, file?: string): YamlSource {
  const lineCounter = new LineCounter();
  // Duplicate keys are found below, in one pass: the library's own check (uniqueKeys) is quadratic in a mapping's size
  // (20,000 keys took 2.7 s, against 0.3 s without it).
  const doc = parseYamlDocument(text, { what: file ?? "the manifest", ...(file !== undefined ? { file } : {}), lineCounter, keepSourceTokens: true, prettyErrors: false, uniqueKeys: false, merge: false });
  const position = (offset: number): SourcePosition => {
    const p = lineCounter.linePos(offset);
    return { line: p.line, column: p.col };
  };
  const places = new Map<string, Place>();
  const locator: Locator = {
    locate(path, at = "value") {
      for (let i = path.length; i >= 0; i--) {
        const place = places.get(JSON.stringify(path.slice(0, i)));
        if (place === undefined) continue;
        if (i < path.length || at === "key") return position(place.key ?? place.value);
        return position(place.block && place.key !== undefined ? place.key : place.value);
      }
      return undefined;
    },
  };
  const problems = new Violations(locator, file);
  const offsetProblems: { offset: number; message: string; hint: string }[] = [];
  const yamlError = (e: YAMLError): void => {
    const message = e.message.split("\n")[0] ?? e.message;
    const unclosed = /end with a ([\]}])/.exec(message);
    const hint = unclosed !== null ? `close the \`${unclosed[1] ?? ""}\` opened above, or indent the lines that continue it` : (YAML_HINTS[e.code] ?? "fix the YAML syntax near this position");
    offsetProblems.push({ offset: e.pos[0], message, hint });
  };
  doc.errors.forEach(yamlError);

  let nodes = 0;
  // A document cannot hold more values than it has characters unless aliases repeat them: that bound stops an alias
  // bomb of a few hundred bytes after a few hundred values, not fifty thousand.
  const maxNodes = Math.min(MAX_YAML_NODES, Math.max(1000, text.length));
  const convert = (node: unknown, path: PathSegment[], depth: number): unknown => {
    if (++nodes > maxNodes || depth > MAX_DEPTH) throw new RangeError("too big");
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return convert(node.resolve(doc as Document), path, depth + 1);
    if (isScalar(node)) {
      const v: unknown = node.value;
      if (v === null || typeof v === "string" || typeof v === "boolean") return v;
      if (typeof v === "number") return v;
      if (typeof v === "bigint") return Number(v);
      return String(v);
    }
    if (isSeq(node)) {
      return node.items.map((item, i) => {
        const p = [...path, i];
        remember(p, item, undefined);
        return convert(item, p, depth + 1);
      });
    }
    if (isMap(node)) {
      const out: Record<string, unknown> = {};
      const seen = new Set<string>();
      for (const pair of node.items) {
        const k: unknown = pair.key;
        const keyText = isScalar(k) && (typeof k.value === "string" || typeof k.value === "number" || typeof k.value === "boolean") ? String(k.value) : undefined;
        const keyOffset = (k as YamlNode | null)?.range?.[0] ?? node.range?.[0] ?? 0;
        if (keyText === undefined || keyText === "__proto__") {
          offsetProblems.push({
            offset: keyOffset,
            message: keyText === undefined ? "mapping keys must be plain strings" : "`__proto__` is not allowed as a key",
            hint: "use a plain word as the key, e.g. `name:`",
          });
          continue;
        }
        if (seen.has(keyText)) {
          offsetProblems.push({ offset: keyOffset, message: `map keys must be unique: "${keyText.length > 60 ? `${keyText.slice(0, 57)}...` : keyText}" appears twice`, hint: YAML_HINTS.DUPLICATE_KEY! });
          continue;
        }
        seen.add(keyText);
        const p = [...path, keyText];
        remember(p, pair.value, keyOffset);
        out[keyText] = convert(pair.value, p, depth + 1);
      }
      return out;
    }
    return null;
  };
  const remember = (path: PathSegment[], node: unknown, keyOffset: number | undefined): void => {
    const n = node as YamlNode | null;
    const value = n?.range?.[0] ?? keyOffset ?? 0;
    const block = (isMap(n) || isSeq(n)) && n.flow !== true;
    places.set(JSON.stringify(path), keyOffset === undefined ? { value, block } : { value, key: keyOffset, block });
  };

  let value: unknown = null;
  if (doc.errors.length === 0) {
    remember([], doc.contents, undefined);
    try {
      value = convert(doc.contents, [], 0);
    } catch (err) {
      if (!(err instanceof RangeError)) throw err;
      offsetProblems.push({ offset: doc.contents?.range?.[0] ?? 0, message: `the document is too large once aliases are expanded: more than ${maxNodes} values (one per character of the document, at most ${MAX_YAML_NODES}) or ${MAX_DEPTH} levels of nesting`, hint: "keep data out of the document, and write it out without deep `*alias` references" });
    }
  }
  for (const p of offsetProblems) {
    const pos = position(p.offset);
    problems.list.push({ field: "(yaml)", message: p.message, hint: p.hint, line: pos.line, column: pos.column, ...(file !== undefined ? { file } : {}) });
  }
  problems.throwIfAny("the YAML");
  const warnings = doc.warnings.map((w) => {
    const pos = position(w.pos[0]);
    return `${file !== undefined ? `${file}:` : ""}${pos.line}:${pos.column}: ${w.message.split("\n")[0] ?? w.message}`;
  });
  return { value, warnings, locate: locator.locate };
}
