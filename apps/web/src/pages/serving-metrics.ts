// Inference latency and load per deployment revision, from the model servers' metrics in the gateway's /metrics
// (admins only): switchyard_inference_requests_total{model,revision,outcome} and the
// switchyard_inference_request_duration_seconds histogram. Rates between two scrapes, as on the mesh page.
import { histogramQuantile, type Bucket, type Exposition } from "./mesh-metrics.js";
import type { Scrape } from "./mesh-stats.js";

export interface RevisionLoad {
  readonly requests: number;
  readonly errors: number;
  readonly requestsPerSec?: number;
  readonly meanSec?: number;
  readonly p95Sec?: number;
  readonly p99Sec?: number;
  /** Latency over the interval between the scrapes (else since the replicas started). */
  readonly windowed: boolean;
}

interface Acc {
  requests: number;
  errors: number;
  sum: number;
  count: number;
  buckets: Map<number, number>;
}

/** `${model}/${revision}` → the sums over every replica of that revision. */
function collect(e: Exposition): Map<string, Acc> {
  const out = new Map<string, Acc>();
  for (const s of e.samples) {
    if (!s.name.startsWith("switchyard_inference_request") || !Number.isFinite(s.value)) continue;
    const key = `${s.labels.model ?? ""}/${s.labels.revision ?? ""}`;
    let a = out.get(key);
    if (!a) out.set(key, (a = { requests: 0, errors: 0, sum: 0, count: 0, buckets: new Map() }));
    if (s.name === "switchyard_inference_requests_total") {
      a.requests += s.value;
      if (s.labels.outcome !== "ok") a.errors += s.value;
    } else if (s.name === "switchyard_inference_request_duration_seconds_sum") a.sum += s.value;
    else if (s.name === "switchyard_inference_request_duration_seconds_count") a.count += s.value;
    else if (s.name === "switchyard_inference_request_duration_seconds_bucket") {
      const le = s.labels.le === "+Inf" ? Infinity : Number(s.labels.le);
      a.buckets.set(le, (a.buckets.get(le) ?? 0) + s.value);
    }
  }
  return out;
}

/** Load per `${model}/${revision number}`. */
export function revisionLoads(cur: Scrape, prev?: Scrape): Map<string, RevisionLoad> {
  const now = collect(cur.exposition);
  const before = prev ? collect(prev.exposition) : undefined;
  const seconds = prev ? (cur.atMs - prev.atMs) / 1000 : 0;
  const out = new Map<string, RevisionLoad>();
  for (const [key, a] of now) {
    const b0 = before?.get(key);
    const b = b0 && b0.count <= a.count && b0.requests <= a.requests ? b0 : undefined;
    const windowed = prev !== undefined && a.count - (b?.count ?? 0) > 0;
    const count = windowed ? a.count - (b?.count ?? 0) : a.count;
    const sum = windowed ? a.sum - (b?.sum ?? 0) : a.sum;
    const buckets: Bucket[] = [...a.buckets].map(([le, c]) => ({ le, count: windowed ? c - (b?.buckets.get(le) ?? 0) : c }));
    out.set(key, {
      requests: a.requests,
      errors: a.errors,
      requestsPerSec: prev && seconds > 0 ? Math.max(0, a.requests - (b?.requests ?? 0)) / seconds : undefined,
      meanSec: count > 0 ? sum / count : undefined,
      p95Sec: histogramQuantile(0.95, buckets),
      p99Sec: histogramQuantile(0.99, buckets),
      windowed,
    });
  }
  return out;
}
