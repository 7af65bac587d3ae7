import { createServer as createHttpServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
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
  /**
   * Serves this process's Prometheus text at `http://host:port/metrics` (port 0: any free port). Returns host:port,
   * which the service puts in its registry labels (`metrics`) so scrapers and `mesh status` find it.
   */
  serveMetrics(host: string, port: number): Promise<string>;
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
  let http: Server | undefined;
  return {
    runtime,
    metrics,
    events,
    async serveMetrics(host, port) {
      http = createHttpServer((req, res) => {
        if (req.url !== "/metrics" && !req.url?.startsWith("/metrics?")) {
          res.writeHead(404, { "content-type": "text/plain" }).end("only /metrics here\n");
          return;
        }
        metrics.text().then(
          (text) => res.writeHead(200, { "content-type": metrics.contentType }).end(text),
          (err: unknown) => res.writeHead(500, { "content-type": "text/plain" }).end(String(err)),
        );
      });
      await new Promise<void>((resolve, reject) => {
        http!.once("error", reject);
        http!.listen(port, host, () => resolve());
      });
      return `${host}:${(http.address() as AddressInfo).port}`;
    },
    async close() {
      if (http) await new Promise<void>((r) => http!.close(() => r()));
      source?.close();
      metrics.close();
      await tracing?.shutdown();
    },
  };
}
