import type { Logger } from "@switchyard/core";
import { MeshEvents } from "./events.js";
import type { LocalTable } from "./local-transport.js";
import { createMeshMetrics, type MeshMetrics } from "./metrics.js";
import { createConfigCenterPolicySource } from "./policy-source-control.js";
import { createPolicyStore } from "./policy-source.js";
import type { Registry } from "./registry.js";
import { createMeshRuntime, type MeshRuntime } from "./runtime.js";
import { startTracingFromEnv } from "./tracing.js";

export interface ServiceRuntimeOptions {
  serviceName: string;
  /** Where control (the config center) is found; without it the mesh runs on defaults (no policies). */
  registry?: Registry;
  /** Co-hosted services of this process (`up --single-process`): calls between them stay in memory. */
  local?: LocalTable;
  /** One bus per process: co-hosted services share it, so one /metrics shows them all. */
  events?: MeshEvents;
  /** The standard OTEL_* variables (tracing is off unless they ask for an exporter). */
  env?: Readonly<Record<string, string | undefined>>;
  logger?: Logger;
}

export interface ServiceRuntime {
  runtime: MeshRuntime;
  metrics: MeshMetrics;
  events: MeshEvents;
  close(): Promise<void>;
}

/**
 * What a service's composition root builds once: the mesh runtime with policies hot-reloaded from the config center,
 * RED metrics for its /metrics, and tracing from the OTEL environment.
 */
export async function createServiceRuntime(o: ServiceRuntimeOptions): Promise<ServiceRuntime> {
  const events = o.events ?? new MeshEvents();
  const source = o.registry ? createConfigCenterPolicySource({ registry: o.registry, ...(o.logger ? { logger: o.logger } : {}) }) : undefined;
  const policies = createPolicyStore({ ...(source ? { source } : {}), events, ...(o.logger ? { logger: o.logger } : {}) });
  const tracing = o.env ? await startTracingFromEnv(o.env, { serviceName: o.serviceName }) : undefined;
  const runtime = createMeshRuntime({
    serviceName: o.serviceName,
    events,
    policies,
    ...(o.local ? { local: o.local } : {}),
    ...(tracing ? { tracing: tracing.tracing } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  const metrics = createMeshMetrics({ events });
  return {
    runtime,
    metrics,
    events,
    async close() {
      source?.close();
      metrics.close();
      await tracing?.shutdown();
    },
  };
}
