/**
 * A trial's metrics as the experiment reads them (its `metricsCollectorSpec`): by default the `name=value` series the
 * jobs service already parses from every job's output (Katib's default StdOut format, no sidecar); with custom
 * filters, the trial's output read through them; with a File collector, a file of the trial's output directory (TEXT
 * through the filters, or JSON lines). Then the objective by the metric's strategy (min, max or latest).
 */
import { DEFAULT_METRICS_REGEX, type ExperimentSpec, type MetricStrategy } from "@switchyard/specs";
import type { JobSeries, JobsPort } from "./ports.js";

/** What a trial reported: each metric's min, max and latest, and the objective's curve (step ascending). */
export interface TrialMetrics {
  metrics: Record<string, { min: number; max: number; latest: number }>;
  curve: [number, number][];
}

/** The most of a trial's output (or metrics file) read for custom filters: its end. */
const MAX_READ_BYTES = 4 * 1024 * 1024;
/**
 * The longest line the filters are applied to. The filters are the user's regular expressions: the manifest parser
 * refuses those that can backtrack exponentially (specs `nestedRepetition`), and what is left is at worst polynomial
 * in the line's length, which this bounds.
 */
const MAX_LINE = 4096;
/** The most points a series keeps (a trial that prints a metric every step for days). */
const MAX_POINTS = 10_000;

export function metricNames(spec: ExperimentSpec): string[] {
  return [spec.objective.metric, ...spec.objective.additionalMetrics];
}

export async function readTrialMetrics(jobs: JobsPort, spec: ExperimentSpec, uid: string, team: string): Promise<TrialMetrics> {
  const names = metricNames(spec);
  const c = spec.metricsCollector;
  let series: JobSeries[];
  if (c.kind === "None" || (c.kind === "StdOut" && c.filters.length === 1 && c.filters[0] === DEFAULT_METRICS_REGEX)) {
    series = await jobs.metrics(uid, team, names);
  } else if (c.kind === "StdOut") {
    series = parseText(await jobs.logs(uid, team, MAX_READ_BYTES), c.filters, names);
  } else {
    // The file is read from the trial's output directory: Katib's absolute paths (its default /var/log/katib/metrics.log)
    // are taken relative to it.
    const text = (await jobs.artifact(uid, team, c.path.replace(/^\/+/, ""), MAX_READ_BYTES)) ?? "";
    series = c.format === "JSON" ? parseJsonLines(text, names) : parseText(text, c.filters, names);
  }
  const metrics: TrialMetrics["metrics"] = {};
  let curve: [number, number][] = [];
  for (const s of series) {
    const reported = s.points.length > 0 || Number.isFinite(s.latest);
    if (!names.includes(s.name) || !reported) continue;
    metrics[s.name] = { min: s.min, max: s.max, latest: s.latest };
    if (s.name === spec.objective.metric) curve = s.points.map((p) => [p.step, p.value]);
  }
  return { metrics, curve };
}

/** The objective's value by its strategy; undefined when the trial has not reported it. */
export function objectiveOf(spec: ExperimentSpec, m: TrialMetrics): number | undefined {
  const o = m.metrics[spec.objective.metric];
  if (o === undefined) return undefined;
  const strategy: MetricStrategy = spec.objective.strategies[spec.objective.metric] ?? (spec.objective.type === "minimize" ? "min" : "max");
  return strategy === "min" ? o.min : strategy === "max" ? o.max : o.latest;
}

/** Lines through filters whose first two groups are a metric's name and value (Katib's TEXT format). */
export function parseText(text: string, filters: readonly string[], names: readonly string[]): JobSeries[] {
  const res = filters.map((f) => new RegExp(f, "g"));
  const by = new Map<string, { step: number; value: number }[]>();
  for (const line of text.split("\n")) {
    if (line.length > MAX_LINE) continue;
    for (const re of res) {
      re.lastIndex = 0;
      for (const m of line.matchAll(re)) {
        const name = m[1];
        const value = Number(m[2]);
        if (name === undefined || !names.includes(name) || m[2] === undefined || m[2] === "" || !Number.isFinite(value)) continue;
        push(by, name, value);
      }
    }
  }
  return toSeries(by);
}

/** One JSON object per line, metrics as its keys (numbers or numeric text; Katib's JSON format). */
export function parseJsonLines(text: string, names: readonly string[]): JobSeries[] {
  const by = new Map<string, { step: number; value: number }[]>();
  for (const line of text.split("\n")) {
    if (!line.trim().startsWith("{")) continue;
    let o: unknown;
    try {
      o = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof o !== "object" || o === null) continue;
    for (const name of names) {
      const v = (o as Record<string, unknown>)[name];
      const value = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : NaN;
      if (Number.isFinite(value)) push(by, name, value);
    }
  }
  return toSeries(by);
}

function push(by: Map<string, { step: number; value: number }[]>, name: string, value: number): void {
  let points = by.get(name);
  if (!points) by.set(name, (points = []));
  if (points.length >= MAX_POINTS) points.shift();
  points.push({ step: (points.at(-1)?.step ?? 0) + 1, value });
}

function toSeries(by: Map<string, { step: number; value: number }[]>): JobSeries[] {
  return [...by].map(([name, points]) => {
    let min = Infinity;
    let max = -Infinity;
    for (const p of points) {
      if (p.value < min) min = p.value;
      if (p.value > max) max = p.value;
    }
    return { name, points, latest: points.at(-1)!.value, min, max };
  });
}
