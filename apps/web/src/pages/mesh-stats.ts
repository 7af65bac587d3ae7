// What the mesh page shows, derived from the gateway's aggregated /metrics (every sample carries `service`, the process
// that exposed it): RED per method (rates from two scrapes), who calls whom, endpoint and breaker states, and the
// policy revision each service runs. Pure functions over parsed expositions, tested in Node beside the parser.
import { histogramQuantile, labelKey, type Bucket, type Exposition, type Labels, type Sample } from "./mesh-metrics.js";

export interface Scrape {
  readonly atMs: number;
  readonly exposition: Exposition;
}

export type Side = "server" | "client";

export interface MethodStats {
  readonly key: string;
  readonly side: Side;
  /** The process that recorded it. */
  readonly service: string;
  /** For the client side, the service called; for the server side, the same as `service`. */
  readonly peer: string;
  /** `switchyard.v1.Jobs/SubmitJob` */
  readonly method: string;
  readonly calls: number;
  readonly errors: number;
  /** Non-OK codes with their counts, most frequent first. */
  readonly errorCodes: readonly { code: string; count: number }[];
  /** Per second over the interval between the two scrapes; undefined on the first scrape. */
  readonly callsPerSec?: number;
  readonly errorsPerSec?: number;
  /** Seconds; over the interval when it had calls, else since the process started (`windowed` false). */
  readonly meanSec?: number;
  readonly p95Sec?: number;
  readonly p99Sec?: number;
  readonly windowed: boolean;
}

interface Acc {
  side: Side;
  service: string;
  peer: string;
  method: string;
  calls: number;
  errors: number;
  codes: Map<string, number>;
  sum: number;
  count: number;
  buckets: Map<number, number>;
}

function collect(e: Exposition): Map<string, Acc> {
  const out = new Map<string, Acc>();
  const acc = (side: Side, l: Labels): Acc => {
    const service = l.service ?? "";
    const peer = side === "client" ? (l.destination ?? "") : (l.server ?? service);
    const method = `${l.grpc_service ?? ""}/${l.grpc_method ?? ""}`;
    const key = `${side}\u0000${service}\u0000${peer}\u0000${method}`;
    let a = out.get(key);
    if (!a) out.set(key, (a = { side, service, peer, method, calls: 0, errors: 0, codes: new Map(), sum: 0, count: 0, buckets: new Map() }));
    return a;
  };
  for (const s of e.samples) {
    const m = /^grpc_(client|server)_(handled_total|handling_seconds_bucket|handling_seconds_sum|handling_seconds_count)$/.exec(s.name);
    if (!m || !Number.isFinite(s.value)) continue;
    const a = acc(m[1] as Side, s.labels);
    if (m[2] === "handled_total") {
      const code = s.labels.grpc_code ?? "UNKNOWN";
      a.calls += s.value;
      if (code !== "OK") (a.errors += s.value), a.codes.set(code, (a.codes.get(code) ?? 0) + s.value);
    } else if (m[2] === "handling_seconds_sum") a.sum += s.value;
    else if (m[2] === "handling_seconds_count") a.count += s.value;
    else {
      const le = s.labels.le === undefined ? NaN : Number(s.labels.le === "+Inf" ? Infinity : s.labels.le);
      a.buckets.set(le, (a.buckets.get(le) ?? 0) + s.value);
    }
  }
  return out;
}

const bucketList = (m: Map<number, number>): Bucket[] => [...m].map(([le, count]) => ({ le, count }));

/** RED per method and side. With `prev`, rates and latency cover the interval since it (a counter reset: since start). */
export function methodStats(cur: Scrape, prev?: Scrape): MethodStats[] {
  const now = collect(cur.exposition);
  const before = prev ? collect(prev.exposition) : undefined;
  const seconds = prev ? (cur.atMs - prev.atMs) / 1000 : 0;
  const rows: MethodStats[] = [];
  for (const [key, a] of now) {
    const b = before?.get(key);
    const reset = b !== undefined && (a.calls < b.calls || a.count < b.count);
    const base = reset ? undefined : b;
    const dCount = a.count - (base?.count ?? 0);
    const windowed = prev !== undefined && dCount > 0;
    const sum = windowed ? a.sum - (base?.sum ?? 0) : a.sum;
    const count = windowed ? dCount : a.count;
    const buckets = windowed ? bucketList(a.buckets).map((x) => ({ le: x.le, count: x.count - (base?.buckets.get(x.le) ?? 0) })) : bucketList(a.buckets);
    const rate = (n: number, was: number | undefined) => (prev && seconds > 0 ? Math.max(0, n - (was ?? 0)) / seconds : undefined);
    rows.push({
      key,
      side: a.side,
      service: a.service,
      peer: a.peer,
      method: a.method,
      calls: a.calls,
      errors: a.errors,
      errorCodes: [...a.codes].map(([code, count]) => ({ code, count })).sort((x, y) => y.count - x.count),
      callsPerSec: rate(a.calls, base?.calls),
      errorsPerSec: rate(a.errors, base?.errors),
      meanSec: count > 0 ? sum / count : undefined,
      p95Sec: histogramQuantile(0.95, buckets),
      p99Sec: histogramQuantile(0.99, buckets),
      windowed,
    });
  }
  return rows.sort((x, y) => y.calls - x.calls || x.key.localeCompare(y.key));
}

export interface Edge {
  readonly from: string;
  readonly to: string;
  readonly calls: number;
  readonly errors: number;
  readonly callsPerSec?: number;
}

/** Who calls whom: the client side's calls summed per (caller, destination). */
export function callEdges(stats: readonly MethodStats[]): Edge[] {
  const edges = new Map<string, { from: string; to: string; calls: number; errors: number; callsPerSec?: number }>();
  for (const s of stats) {
    if (s.side !== "client") continue;
    const key = `${s.service}\u0000${s.peer}`;
    const e = edges.get(key) ?? { from: s.service, to: s.peer, calls: 0, errors: 0 };
    e.calls += s.calls;
    e.errors += s.errors;
    if (s.callsPerSec !== undefined) e.callsPerSec = (e.callsPerSec ?? 0) + s.callsPerSec;
    edges.set(key, e);
  }
  return [...edges.values()].sort((a, b) => a.from.localeCompare(b.from) || a.to.localeCompare(b.to));
}

export interface StateRow {
  /** The process that reports it. */
  readonly service: string;
  readonly destination: string;
  /** The endpoint (for endpoint states) or the subset (for breakers; empty for the whole destination). */
  readonly target: string;
  /** The state whose gauge is 1; "unknown" when none is. */
  readonly state: string;
}

/** One row per (service, destination, endpoint|subset) from a one-hot state gauge such as switchyard_mesh_endpoint_state. */
export function oneHotStates(e: Exposition, metric: string, targetLabel: string): StateRow[] {
  const rows = new Map<string, { service: string; destination: string; target: string; state: string }>();
  for (const s of e.samples) {
    if (s.name !== metric) continue;
    const l = s.labels;
    const key = labelKey(l, ["state"]);
    const row = rows.get(key) ?? { service: l.service ?? "", destination: l.destination ?? "", target: l[targetLabel] ?? "", state: "unknown" };
    if (s.value === 1 && l.state) row.state = l.state;
    rows.set(key, row);
  }
  return [...rows.values()].sort((a, b) => a.destination.localeCompare(b.destination) || a.target.localeCompare(b.target) || a.service.localeCompare(b.service));
}

/** The value of a label-less-but-for-`service` gauge per service (switchyard_mesh_policy_revision). */
export function perService(e: Exposition, metric: string): { service: string; value: number }[] {
  return e.samples
    .filter((s: Sample) => s.name === metric)
    .map((s) => ({ service: s.labels.service ?? "", value: s.value }))
    .sort((a, b) => a.service.localeCompare(b.service));
}
