import { createRequire } from "node:module";
import type * as Prom from "prom-client";
import type { Registry } from "prom-client";
import type { BreakerState, EndpointState, MeshEvents } from "./events.js";
import { createRedSide } from "./metrics-red.js";
import { GRPC_STATUS_NAMES } from "./policy-fault.js";

export interface MeshMetricsOptions {
  /** The bus the process's runtimes emit on (share one MeshEvents among them). */
  events: MeshEvents;
  /** Where the metrics live (default: a new registry of their own). */
  registry?: Registry;
  /** Also collect Node's process metrics (CPU, memory, event loop lag) — what a service's /metrics shows (default true). */
  processMetrics?: boolean;
  /** Latency histogram buckets in seconds. */
  buckets?: number[];
}

/** A process's metrics: serve `text()` with `contentType` at GET /metrics. */
export interface MeshMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  text(): Promise<string>;
  /** Stops listening to the events (the registry keeps what it has). */
  close(): void;
}

const CODE_NAMES: string[] = [];
for (const [name, code] of Object.entries(GRPC_STATUS_NAMES)) CODE_NAMES[code] = name;
const codeName = (c: number) => CODE_NAMES[c] ?? String(c);

const ENDPOINT_STATES: readonly EndpointState[] = ["serving", "not_serving", "ejected", "unreachable"];
const BREAKER_STATES: readonly BreakerState[] = ["closed", "open", "half_open"];

/**
 * Prometheus RED metrics for both sides of every call, named as go-grpc-prometheus names them (so existing dashboards
 * work: `grpc_{client,server}_handled_total` by code, `grpc_{client,server}_handling_seconds`), plus the mesh's own:
 * retries, refusals (bulkhead, rate limit, open breaker), fallbacks, faults, ejections, endpoint and breaker states,
 * policy revision. Everything comes from the runtime's events; no policy code knows about metrics.
 */
export function createMeshMetrics(options: MeshMetricsOptions): MeshMetrics {
  // Loaded here, not at import: a process that never exports metrics does not pay prom-client's memory.
  const { Counter, Gauge, Registry, collectDefaultMetrics } = createRequire(import.meta.url)("prom-client") as typeof Prom;
  const registry = options.registry ?? new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });
  const buckets = options.buckets ?? [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
  const reg = [registry];
  const client = createRedSide(registry, { prefix: "grpc_client", ownerLabel: "destination", handledHelp: "Calls completed by the client, by destination, method and gRPC code.", secondsHelp: "Client-side call latency (all attempts, backoff included).", bounds: buckets, codeName });
  const server = createRedSide(registry, { prefix: "grpc_server", ownerLabel: "server", handledHelp: "Calls completed by the server, by method and gRPC code.", secondsHelp: "Server-side call latency (admission wait included).", bounds: buckets, codeName });
  const retries = new Counter({ name: "switchyard_mesh_retries_total", help: "Retries sent.", labelNames: ["destination", "grpc_service", "grpc_method"], registers: reg });
  const retriesDenied = new Counter({ name: "switchyard_mesh_retries_denied_total", help: "Retries the policy allowed but the budget, maxRetries or idempotency refused.", labelNames: ["destination", "grpc_service", "grpc_method", "reason"], registers: reg });
  const rejected = new Counter({ name: "switchyard_mesh_rejected_total", help: "Calls refused before running: bulkhead, rate limit, open breaker, no endpoint.", labelNames: ["side", "destination", "grpc_service", "grpc_method", "reason"], registers: reg });
  const fallbacks = new Counter({ name: "switchyard_mesh_fallbacks_total", help: "Failed calls answered by a fallback.", labelNames: ["destination", "grpc_service", "grpc_method", "grpc_code"], registers: reg });
  const faults = new Counter({ name: "switchyard_mesh_faults_total", help: "Faults injected by routes.", labelNames: ["destination", "grpc_service", "grpc_method", "kind"], registers: reg });
  const ejections = new Counter({ name: "switchyard_mesh_ejections_total", help: "Endpoints ejected by outlier detection.", labelNames: ["destination", "endpoint"], registers: reg });
  const endpointState = new Gauge({ name: "switchyard_mesh_endpoint_state", help: "1 for the current state of each endpoint (serving, not_serving, ejected, unreachable).", labelNames: ["destination", "endpoint", "state"], registers: reg });
  const breakerState = new Gauge({ name: "switchyard_mesh_breaker_state", help: "1 for the current state of each destination's circuit breaker (closed, open, half_open).", labelNames: ["destination", "subset", "state"], registers: reg });
  const policyRevision = new Gauge({ name: "switchyard_mesh_policy_revision", help: "Revision of the mesh policies in force.", registers: reg });
  const policyRejected = new Counter({ name: "switchyard_mesh_policy_rejected_total", help: "Policy snapshots refused (the previous ones stayed in force).", registers: reg });

  const ev = options.events;
  const offs = [
    ev.on("clientCall", (e) => client.observe(e.destination, e.type, e.service, e.method, e.code, e.durationMs / 1000)),
    ev.on("serverCall", (e) => server.observe(e.server, e.type, e.service, e.method, e.code, e.durationMs / 1000)),
    ev.on("retry", (e) => retries.labels(e.destination, e.service, e.method).inc()),
    ev.on("retryDenied", (e) => retriesDenied.labels(e.destination, e.service, e.method, e.reason).inc()),
    ev.on("reject", (e) => rejected.labels(e.side, e.destination, e.service, e.method, e.reason).inc()),
    ev.on("fallback", (e) => fallbacks.labels(e.destination, e.service, e.method, codeName(e.code)).inc()),
    ev.on("fault", (e) => faults.labels(e.destination, e.service, e.method, e.kind).inc()),
    ev.on("eject", (e) => ejections.labels(e.destination, e.endpoint).inc()),
    ev.on("endpointState", (e) => {
      for (const s of ENDPOINT_STATES) {
        if (e.state === "removed") endpointState.remove(e.destination, e.endpoint, s);
        else endpointState.labels(e.destination, e.endpoint, s).set(s === e.state ? 1 : 0);
      }
    }),
    ev.on("breakerState", (e) => {
      for (const s of BREAKER_STATES) breakerState.labels(e.destination, e.subset, s).set(s === e.to ? 1 : 0);
    }),
    ev.on("policyApplied", (e) => policyRevision.set(e.revision)),
    ev.on("policyRejected", () => policyRejected.inc()),
  ];
  return {
    registry,
    contentType: registry.contentType,
    text: () => registry.metrics(),
    close: () => offs.forEach((off) => off()),
  };
}
