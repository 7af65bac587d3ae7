/** Katib's default metrics collector format: `name=value` pairs in output lines (ANCHORS.md). */
const METRIC_RE = /([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)/g;

export interface ParsedMetric {
  name: string;
  value: number;
}

/** Every `name=value` pair of one line whose value is a number. */
export function parseMetricLine(line: string): ParsedMetric[] {
  const out: ParsedMetric[] = [];
  for (const m of line.matchAll(METRIC_RE)) {
    const raw = m[2] ?? "";
    if (raw === "" || raw === "+" || raw === "-" || raw === ".") continue;
    const value = Number(raw);
    if (Number.isFinite(value)) out.push({ name: m[1]!, value });
  }
  return out;
}

/**
 * Splits new log bytes into complete lines. Returns the parsed metrics and how many bytes were consumed
 * (a trailing partial line is left for next time unless `final`).
 */
export function parseMetricChunk(data: Buffer, final: boolean): { metrics: ParsedMetric[]; consumed: number } {
  const lastNl = data.lastIndexOf(0x0a);
  const end = final ? data.length : lastNl + 1;
  if (end <= 0) return { metrics: [], consumed: 0 };
  const metrics: ParsedMetric[] = [];
  for (const line of data.subarray(0, end).toString("utf8").split("\n")) if (line.includes("=")) metrics.push(...parseMetricLine(line));
  return { metrics, consumed: end };
}
