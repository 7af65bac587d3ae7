import type { Registry } from "prom-client";

/**
 * The RED series of one side (client or server), accumulated in plain arrays and rendered only when scraped.
 * prom-client's labelled children re-validate and re-hash their labels on every observation (a few µs each, on every
 * call); here an observation is two Map lookups and a few array increments, and the series reach the registry as
 * two custom metrics (a counter by code, a histogram) that the registry formats like its own.
 */
interface Series {
  readonly labels: Readonly<Record<string, string>>;
  /** Calls per gRPC code (index = code). */
  readonly codes: number[];
  /** Per-bucket (not cumulative) counts; the last slot is +Inf. */
  readonly buckets: Float64Array;
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName?: string;
}

export interface RedSide {
  /** Counts a finished call and its duration. */
  observe(owner: string, type: string, service: string, method: string, code: number, seconds: number): void;
}

/** Registers `<prefix>_handled_total` and `<prefix>_handling_seconds` in `registry` and returns the recorder. */
export function createRedSide(
  registry: Registry,
  o: { prefix: string; ownerLabel: string; handledHelp: string; secondsHelp: string; bounds: readonly number[]; codeName: (code: number) => string },
): RedSide {
  const byOwner = new Map<string, Map<string, Series>>();
  const all: Series[] = [];
  const bounds = o.bounds;
  const counter = {
    name: `${o.prefix}_handled_total`,
    help: o.handledHelp,
    type: "counter",
    aggregator: "sum",
    get() {
      const values: MetricValue[] = [];
      for (const s of all) s.codes.forEach((n, code) => n > 0 && values.push({ labels: { ...s.labels, grpc_code: o.codeName(code) }, value: n }));
      return { name: counter.name, help: counter.help, type: counter.type, values, aggregator: counter.aggregator };
    },
    reset() {
      for (const s of all) s.codes.fill(0);
    },
  };
  const histogram = {
    name: `${o.prefix}_handling_seconds`,
    help: o.secondsHelp,
    type: "histogram",
    aggregator: "sum",
    get() {
      const values: MetricValue[] = [];
      for (const s of all) {
        let cumulative = 0;
        for (let i = 0; i <= bounds.length; i++) {
          cumulative += s.buckets[i]!;
          values.push({ metricName: `${histogram.name}_bucket`, labels: { ...s.labels, le: i < bounds.length ? bounds[i]! : "+Inf" }, value: cumulative });
        }
        values.push({ metricName: `${histogram.name}_sum`, labels: { ...s.labels }, value: s.sum });
        values.push({ metricName: `${histogram.name}_count`, labels: { ...s.labels }, value: s.count });
      }
      return { name: histogram.name, help: histogram.help, type: histogram.type, values, aggregator: histogram.aggregator };
    },
    reset() {
      for (const s of all) (s.buckets.fill(0), (s.sum = 0), (s.count = 0));
    },
  };
  registry.registerMetric(counter as never);
  registry.registerMetric(histogram as never);
  return {
    observe(owner, type, service, method, code, seconds) {
      let byMethod = byOwner.get(owner);
      if (byMethod === undefined) byOwner.set(owner, (byMethod = new Map()));
      const key = service + "/" + method;
      let s = byMethod.get(key);
      if (s === undefined) {
        s = { labels: { [o.ownerLabel]: owner, grpc_type: type, grpc_service: service, grpc_method: method }, codes: new Array<number>(17).fill(0), buckets: new Float64Array(bounds.length + 1), sum: 0, count: 0 };
        byMethod.set(key, s);
        all.push(s);
      }
      s.codes[code] = (s.codes[code] ?? 0) + 1;
      let i = 0;
      while (i < bounds.length && seconds > bounds[i]!) i++;
      s.buckets[i]!++;
      s.sum += seconds;
      s.count++;
    },
  };
}
