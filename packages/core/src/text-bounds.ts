/**
 * Bounds on YAML/JSON text checked before any parser sees it. The `yaml` package's composer (like most parsers)
 * recurses once per level of nesting, so 2,000 `[` in a 2 KB request exhausted the stack and then the regexp
 * compiler's memory — which kills the process, not just the request. `nestingDepth` is a linear scan (a few ms per
 * megabyte) that follows YAML's lexical structure closely enough to measure nesting: block indentation and compact
 * indicators, flow brackets outside quoted strings, comments and block scalars skipped. It is a fast first filter;
 * parsers of user input also measure the exact depth on the parser's own (iterative) syntax tree before composing
 * (specs' yaml-source), so a text that confuses this scan still cannot reach the recursive stage.
 */
import { Code, SwitchyardError } from "./errors.js";

export interface TextBounds {
  /** Largest text accepted, in bytes (UTF-8). */
  maxBytes: number;
  /** Deepest nesting accepted (lists and mappings, block or flow). */
  maxDepth: number;
}

/** Enough for any job, policy or queue document a person writes; far below what the parsers can take. */
export const DEFAULT_TEXT_BOUNDS: TextBounds = { maxBytes: 1024 * 1024, maxDepth: 64 };

const SPACE = 32;
const TAB = 9;
const LF = 10;
const CR = 13;

/** An estimate (meant to be an upper bound) of the nesting depth of YAML or JSON text, and the line where it peaks. */
export function nestingDepth(text: string): { depth: number; line: number } {
  // Open block levels: their indentation, and whether each is a sequence. A sequence may sit at the same column as the
  // mapping key that holds it ("k:\n- a"), so a same-column "- " line does not close a mapping level.
  const levels: { indent: number; seq: boolean }[] = [];
  let flow = 0;
  let max = 0;
  let maxLine = 1;
  let line = 1;
  let blockScalar = -1; // indentation of the line that opened a `|`/`>` scalar, while its content lasts
  let i = 0;
  const n = text.length;
  const at = (k: number) => (k < n ? text.charCodeAt(k) : LF);
  const isWs = (c: number) => c === SPACE || c === TAB;
  const isBreak = (c: number) => c === LF || c === CR;
  const peak = (d: number) => {
    if (d > max) (max = d), (maxLine = line);
  };
  const isIndicator = (k: number) => (at(k) === 45 || at(k) === 63 || at(k) === 58) && (isWs(at(k + 1)) || isBreak(at(k + 1)));

  while (i < n) {
    let indent = 0;
    while (at(i) === SPACE) (indent++, i++);
    const blank = isBreak(at(i)) || at(i) === 35; // empty or comment-only
    if (blockScalar >= 0 && (blank || indent > blockScalar)) {
      // A block scalar's content: anything goes, nothing nests.
      while (i < n && at(i) !== LF) i++;
      (i++, line++);
      continue;
    }
    blockScalar = -1;
    // Block levels count even inside what looks like a flow collection: a bracket misread as one must not hide them.
    if (!blank) {
      const seq = at(i) === 45 && isIndicator(i);
      for (;;) {
        const top = levels[levels.length - 1];
        if (top === undefined || top.indent < indent || (top.indent === indent && seq && !top.seq)) break;
        levels.pop();
      }
      levels.push({ indent, seq });
      // Compact indicators ("- - - x", "? - x", "- a: b"): the node after each is one level deeper.
      let col = indent;
      while (isIndicator(i)) {
        (i++, col++);
        while (isWs(at(i))) (i++, col++);
        if (isBreak(at(i))) break;
        levels.push({ indent: col, seq: at(i) === 45 && isIndicator(i) });
      }
    }
    const base = levels.length;
    peak(base + flow);
    // The rest of the line, then any quoted string that runs on past it.
    let prev = SPACE; // the last character: quotes and brackets open something only where a token can start
    const tokenStart = () => prev === SPACE || prev === 91 || prev === 123 || prev === 44 || (flow > 0 && prev === 58);
    while (i < n) {
      const c = at(i);
      if (c === LF) {
        (i++, line++);
        break;
      }
      if ((c === 34 || c === 39) && tokenStart()) {
        // A quoted scalar: brackets inside do not nest; it may span lines.
        i++;
        while (i < n) {
          const q = at(i);
          if (q === LF) line++;
          if (c === 34 && q === 92) i += 2;
          else if (q === c && c === 39 && at(i + 1) === 39) i += 2;
          else if (q === c) break;
          else i++;
        }
        (i++, (prev = c));
        continue;
      }
      if (c === 35 && isWs(prev)) {
        // A comment runs to the end of the line.
        while (i < n && at(i) !== LF) i++;
        continue;
      }
      // In a flow collection every bracket is structure; in block context only one that starts a token (`a[1]` is a
      // plain scalar).
      if ((c === 91 || c === 123) && (flow > 0 || tokenStart())) peak(base + ++flow);
      else if ((c === 93 || c === 125) && flow > 0) flow--;
      else if ((c === 124 || c === 62) && flow === 0 && prev === SPACE) {
        // `|` or `>` as a value: the lines after it, indented past this one, are its content.
        let k = i + 1;
        while (k < n && !isBreak(at(k)) && at(k) !== 35 && !isWs(at(k))) k++;
        while (isWs(at(k))) k++;
        if (isBreak(at(k)) || at(k) === 35 || k >= n) blockScalar = indent;
      }
      if (!isWs(c)) prev = c;
      else prev = SPACE;
      i++;
    }
  }
  return { depth: max, line: maxLine };
}

/**
 * Refuses text over `bounds` with INVALID_ARGUMENT naming the limit, where it was passed and how to fix it. Linear in
 * the text's length; call it before parsing anything a caller sent.
 */
export function checkTextBounds(text: string, what: string, bounds: TextBounds = DEFAULT_TEXT_BOUNDS, file?: string): void {
  const bytes = Buffer.byteLength(text);
  if (bytes > bounds.maxBytes) {
    throw new SwitchyardError(Code.InvalidArgument, `${what} is ${bytes} bytes, over the limit of ${bounds.maxBytes}: keep data out of it (mount or download it in the job)`, {
      details: [{ field: "(document)", message: "is too large", expected: `at most ${bounds.maxBytes} bytes`, got: `${bytes} bytes`, hint: "keep data out of the document", ...(file ? { file } : {}) }],
    });
  }
  const { depth, line } = nestingDepth(text);
  if (depth > bounds.maxDepth) throw tooDeep(what, bounds.maxDepth, line, file);
}

/** The error for text nested deeper than `maxDepth` (also used by exact checks on a parser's syntax tree). */
export function tooDeep(what: string, maxDepth: number, line: number, file?: string): SwitchyardError {
  return new SwitchyardError(Code.InvalidArgument, `${what} nests deeper than ${maxDepth} levels (line ${line}): no job, policy or queue needs that; flatten it`, {
    details: [{ field: "(document)", message: "is nested too deeply", expected: `at most ${maxDepth} levels of lists and mappings`, got: `more than ${maxDepth}`, line, column: 1, hint: "flatten the nesting", ...(file ? { file } : {}) }],
  });
}
