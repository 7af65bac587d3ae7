/**
 * Metrics collectors: StdOut, File and None, with Katib's defaults (its `name=value` filter, its file path, TEXT), and
 * the collectors Katib has that cannot work on local processes, refused with why.
 */
import type { At } from "./experiment-common.js";
import type { MetricsCollector, MetricsFileFormat } from "./experiment-spec.js";
import { DEFAULT_METRICS_REGEX, EXPERIMENT_DEFAULTS } from "./experiment-spec.js";
import type { PathSegment, Violations } from "./violations.js";

export interface CollectorInput {
  kind: "StdOut" | "File" | "None";
  path?: string | undefined;
  format?: MetricsFileFormat | undefined;
  filters?: readonly string[] | undefined;
}

/** Where a format writes the collector (its problems and warnings point there), its file path and its filters. */
export interface CollectorPaths {
  at: PathSegment[];
  path: PathSegment[];
  filters: PathSegment[];
}

/** The collector with Katib's defaults filled in, or undefined with a violation added. */
export function collectorOf(c: CollectorInput, paths: CollectorPaths, out: Violations): At<MetricsCollector> | undefined {
  const given = c.filters !== undefined && c.filters.length > 0 ? [...c.filters] : undefined;
  if (c.kind === "None") return { value: { kind: "None" }, path: paths.at };
  if (c.kind === "StdOut") return { value: { kind: "StdOut", filters: given ?? [DEFAULT_METRICS_REGEX] }, path: paths.at };
  const format = c.format ?? EXPERIMENT_DEFAULTS.metricsFileFormat;
  if (format === "JSON" && given !== undefined) {
    out.add(paths.filters, { message: "goes with TEXT files: a JSON metrics file is read as one JSON object per line", expected: "no filters with format JSON", at: "key", hint: "remove the filters, or write the file as TEXT lines the filters match" });
    return undefined;
  }
  const path = c.path ?? EXPERIMENT_DEFAULTS.metricsFilePath;
  if (path === "" || path.includes("\0")) {
    out.add(paths.path, { message: "is not a file path", expected: "the file the trial writes its metrics to", got: JSON.stringify(path), hint: "e.g. `metrics.log` (in the trial's output directory, $SWITCHYARD_OUTPUT_DIR)" });
    return undefined;
  }
  return { value: { kind: "File", path, format, filters: format === "JSON" ? [] : (given ?? [DEFAULT_METRICS_REGEX]) }, path: paths.at };
}

const REFUSED: Record<string, string> = {
  TensorFlowEvent: "reads TensorFlow event files, which needs TensorFlow's own reader: it is not built into this platform",
  PrometheusMetric: "scrapes an HTTP endpoint of the trial's pod: trials here are local processes, with no endpoint to scrape",
  Custom: "runs your collector as a sidecar container: this platform runs trials as processes, not pods",
  Push: "is Katib's SDK pushing to Katib's database API, which this platform does not have",
};

/** A collector kind Katib has and this platform cannot run. */
export function refuseCollector(kind: string, path: PathSegment[], out: Violations): undefined {
  out.add(path, {
    message: `${kind} is not supported: it ${REFUSED[kind] ?? "is not a collector this platform runs"}`, expected: "StdOut, File or None", got: JSON.stringify(kind),
    hint: "print `name=value` lines (StdOut, the default), or write them to a file the trial owns (File)",
  });
  return undefined;
}
