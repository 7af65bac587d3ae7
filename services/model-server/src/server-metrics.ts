// The model server's own Prometheus series, beside the mesh's RED metrics in the same registry (one /metrics).
import { createRequire } from "node:module";
import type * as Prom from "prom-client";
import type { Registry } from "prom-client";

export interface ServerMetrics {
  /** A finished ModelInfer call: its outcome (`ok`, or the gRPC code's name in lower case) and duration. */
  request(outcome: string, seconds: number): void;
  /** Time a request waited in the queue before its run started (0 when it ran at once). */
  queued(seconds: number): void;
  /** A run started with this many rows (dynamic batching) and requests. */
  run(rows: number, requests: number): void;
}

const SECONDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/**
 * Registers, in `registry`, for one model and revision: `switchyard_inference_requests_total{outcome}`,
 * `switchyard_inference_request_duration_seconds`, `switchyard_inference_queue_duration_seconds`,
 * `switchyard_inference_batch_size` (rows per run) and `switchyard_inference_batch_requests` (requests per run),
 * and the gauges `switchyard_inference_in_flight` and `switchyard_inference_queued` (read when scraped).
 */
export function createServerMetrics(registry: Registry, o: { model: string; revision: string; maxBatchSize: number; load: () => { inFlight: number; queued: number } }): ServerMetrics {
  // Loaded here, as the mesh loads it: a process that never makes metrics does not pay for prom-client.
  const { Counter, Gauge, Histogram } = createRequire(import.meta.url)("prom-client") as typeof Prom;
  const registers = [registry];
  const labelNames = ["model", "revision"] as const;
  const ids = { model: o.model, revision: o.revision };
  const requests = new Counter({ name: "switchyard_inference_requests_total", help: "ModelInfer calls answered, by outcome (ok or the gRPC code).", labelNames: [...labelNames, "outcome"], registers });
  const duration = new Histogram({ name: "switchyard_inference_request_duration_seconds", help: "ModelInfer calls' time in the model server, queue included.", labelNames, buckets: SECONDS, registers }).labels(ids);
  const queue = new Histogram({ name: "switchyard_inference_queue_duration_seconds", help: "Time a request waited in the queue before its run started.", labelNames, buckets: SECONDS, registers }).labels(ids);
  const sizes: number[] = [];
  for (let n = 1; n < Math.max(2, o.maxBatchSize); n *= 2) sizes.push(n);
  sizes.push(Math.max(1, o.maxBatchSize));
  const batchRows = new Histogram({ name: "switchyard_inference_batch_size", help: "Rows (dimension 0) per model run under dynamic batching.", labelNames, buckets: sizes, registers }).labels(ids);
  const batchRequests = new Histogram({ name: "switchyard_inference_batch_requests", help: "Requests answered per model run.", labelNames, buckets: sizes, registers }).labels(ids);
  new Gauge({
    name: "switchyard_inference_in_flight",
    help: "Requests being answered now (queued or running).",
    labelNames,
    registers,
    collect() {
      this.labels(ids).set(o.load().inFlight);
    },
  });
  new Gauge({
    name: "switchyard_inference_queued",
    help: "Requests waiting in the queue.",
    labelNames,
    registers,
    collect() {
      this.labels(ids).set(o.load().queued);
    },
  });
  const byOutcome = new Map<string, Prom.Counter.Internal>();
  return {
    request(outcome, seconds) {
      let c = byOutcome.get(outcome);
      if (c === undefined) byOutcome.set(outcome, (c = requests.labels({ ...ids, outcome })));
      c.inc();
      duration.observe(seconds);
    },
    queued: (seconds) => queue.observe(seconds),
    run(rows, n) {
      if (rows > 0) batchRows.observe(rows);
      batchRequests.observe(n);
    },
  };
}
