// A small reader for the Prometheus text exposition format (version 0.0.4), enough for the gateway's aggregated
// /metrics: samples with labels (escaped values included), HELP/TYPE comments, NaN and ±Inf, optional timestamps.
// No DOM and no Node APIs: the dashboard runs it in the browser, its test runs it in Node.

export type Labels = Readonly<Record<string, string>>;

export interface Sample {
  /** The sample's own name (`x_bucket`, `x_sum` and `x_count` for a histogram `x`). */
  readonly name: string;
  readonly labels: Labels;
  readonly value: number;
  readonly timestampMs?: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  /** The TYPE of each family that declared one (counter, gauge, histogram, summary, untyped). */
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
  /** Lines that could not be read, 1-based, with why; the rest of the text is still read. */
  readonly errors: readonly { line: number; message: string }[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*/;

/** Reads a Prometheus text exposition. Never throws: a malformed line is skipped and listed in `errors`. */
export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const errors: { line: number; message: string }[] = [];
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      const meta = /^#\s+(HELP|TYPE)\s+([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\s+(.*))?$/.exec(line);
      if (meta?.[1] === "TYPE") types.set(meta[2]!, (meta[3] ?? "untyped").trim());
      else if (meta?.[1] === "HELP") help.set(meta[2]!, unescape(meta[3] ?? "", false));
      continue; // any other comment is just a comment
    }
    try {
      samples.push(parseSample(line));
    } catch (err) {
      errors.push({ line: i + 1, message: (err as Error).message });
    }
  }
  return { samples, types, help, errors };
}

function parseSample(line: string): Sample {
  const name = NAME.exec(line)?.[0];
  if (!name) throw new Error(`expected a metric name at "${line.slice(0, 40)}"`);
  let pos = name.length;
  const labels: Record<string, string> = {};
  if (line[pos] === "{") {
    pos++;
    for (;;) {
      pos = skipSpaces(line, pos);
      if (line[pos] === "}") {
        pos++;
        break;
      }
      const label = LABEL_NAME.exec(line.slice(pos))?.[0];
      if (!label) throw new Error(`expected a label name in ${name} at column ${pos + 1}`);
      pos = skipSpaces(line, pos + label.length);
      if (line[pos] !== "=") throw new Error(`expected = after label ${label} in ${name}`);
      pos = skipSpaces(line, pos + 1);
      if (line[pos] !== '"') throw new Error(`expected a quoted value for label ${label} in ${name}`);
      const end = closingQuote(line, pos + 1);
      if (end < 0) throw new Error(`unterminated value of label ${label} in ${name}`);
      labels[label] = unescape(line.slice(pos + 1, end), true);
      pos = skipSpaces(line, end + 1);
      if (line[pos] === ",") pos++;
      else if (line[pos] !== "}") throw new Error(`expected , or } after label ${label} in ${name}`);
    }
  }
  const rest = line.slice(pos).trim().split(/\s+/);
  if (rest[0] === undefined || rest[0] === "") throw new Error(`missing value for ${name}`);
  const value = parseValue(rest[0]);
  if (value === undefined) throw new Error(`bad value "${rest[0]}" for ${name}`);
  if (rest.length > 2) throw new Error(`unexpected text after the value of ${name}`);
  if (rest[1] === undefined) return { name, labels, value };
  const timestampMs = Number(rest[1]);
  if (!Number.isFinite(timestampMs)) throw new Error(`bad timestamp "${rest[1]}" for ${name}`);
  return { name, labels, value, timestampMs };
}

function skipSpaces(s: string, pos: number): number {
  while (s[pos] === " " || s[pos] === "\t") pos++;
  return pos;
}

/** The index of the quote ending a label value that starts at `from`, skipping escaped characters; -1 if none. */
function closingQuote(s: string, from: number): number {
  for (let i = from; i < s.length; i++) {
    if (s[i] === "\\") i++;
    else if (s[i] === '"') return i;
  }
  return -1;
}

/** Label values escape \\, \" and \n; HELP text escapes \\ and \n. An unknown escape stays as written. */
function unescape(s: string, quotes: boolean): string {
  return s.replace(/\\(.)/g, (all, c: string) => (c === "n" ? "\n" : c === "\\" ? "\\" : quotes && c === '"' ? '"' : all));
}

/** Go's ParseFloat as Prometheus writes values: decimals, exponents, NaN, +Inf, -Inf (any case). */
export function parseValue(s: string): number | undefined {
  const lower = s.toLowerCase();
  if (lower === "nan") return NaN;
  if (lower === "+inf" || lower === "inf") return Infinity;
  if (lower === "-inf") return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(s) && !/^[+-]?0x[0-9a-f]+$/i.test(s)) return undefined;
  const n = Number(s);
  return Number.isNaN(n) ? undefined : n;
}

/** One histogram bucket: the count of observations ≤ `le` (cumulative, as exposed). */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * The q-quantile (0..1) of a histogram from its cumulative buckets, as PromQL's histogram_quantile estimates it: the
 * bucket holding the rank, interpolated linearly within it (from 0 for the first bucket). In the +Inf bucket the
 * answer is the highest finite bound. Undefined with no observations.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | undefined {
  const sorted = [...buckets].filter((b) => !Number.isNaN(b.le)).sort((a, b) => a.le - b.le);
  const last = sorted[sorted.length - 1];
  if (!last || last.count <= 0 || Number.isNaN(q)) return undefined;
  if (q <= 0) return 0;
  if (q >= 1) return finiteMax(sorted);
  const rank = q * last.count;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const b of sorted) {
    if (b.count >= rank) {
      if (b.le === Infinity) return finiteMax(sorted);
      if (b.count === lowerCount) return b.le;
      return lowerBound + (b.le - lowerBound) * ((rank - lowerCount) / (b.count - lowerCount));
    }
    lowerBound = b.le;
    lowerCount = b.count;
  }
  return finiteMax(sorted);
}

function finiteMax(sorted: readonly Bucket[]): number | undefined {
  for (let i = sorted.length - 1; i >= 0; i--) if (Number.isFinite(sorted[i]!.le)) return sorted[i]!.le;
  return undefined;
}

/** A stable key for a label set, optionally leaving some labels out (`le` for a histogram's series). */
export function labelKey(labels: Labels, omit: readonly string[] = []): string {
  return Object.keys(labels)
    .filter((k) => !omit.includes(k))
    .sort()
    .map((k) => `${k}=${JSON.stringify(labels[k])}`)
    .join(",");
}
