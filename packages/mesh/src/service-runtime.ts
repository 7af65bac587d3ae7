import { createServer as createHttpServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { claimSocketPath, type Logger } from "@switchyard/core";
import type { MeshCredentials } from "./credentials.js";
import { MeshEvents } from "./events.js";
import type { LocalTable } from "./local-transport.js";
import type { MeshMetrics } from "./metrics.js";
import { GrantBook, GRANTS_NAMESPACE } from "./grants.js";
import { createConfigCenterPolicySource } from "./policy-source-control.js";
import { createPolicyStore, type PolicySource } from "./policy-source.js";
import type { Registry } from "./registry.js";
import { createMeshRuntime, type MeshRuntime } from "./runtime.js";

export interface ServiceRuntimeOptions {
  serviceName: string;
  /** Where control (the config center) is found; without it the mesh runs on defaults (no policies). */
  registry?: Registry;
  /** Where the policies come from instead of the config center over the mesh (control itself: its own store). */
  policySource?: PolicySource;
  /** Co-hosted services of this process (`up --single-process`): calls between them stay in memory. */
  local?: LocalTable;
  /** One bus per process: co-hosted services share it, so one /metrics shows them all. */
  events?: MeshEvents;
  /** The platform's service credential: proves this service's calls and checks every call it serves. */
  credentials?: MeshCredentials;
  /** `istio`: a sidecar does mTLS, retries and ejection (runtime.ts); default `mesh`. */
  mode?: "mesh" | "istio";
  /** The standard OTEL_* variables (tracing is off unless they ask for an exporter). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Hosts whose endpoints are team workloads with their own identities (runtime.ts `workloadHosts`: model servers). */
  workloadHosts?: readonly string[];
  /**
   * Honour delegation grants (grants.ts): watch the config center's `grants` namespace (needs `registry`), so that
   * calls a grant delegate makes under a user's grants are judged against the live ones.
   */
  grants?: boolean;
  logger?: Logger;
}

/** How long a broken grants watch is tolerated before the grants count as unknown (control's restart takes about a second). */
const GRANTS_STALE_AFTER_MS = 5_000;

export interface ServiceRuntime {
  runtime: MeshRuntime;
  metrics: MeshMetrics;
  events: MeshEvents;
  /**
   * Serves this process's Prometheus text at `/metrics` on `listen`: `unix:/path` (a socket in the private data dir:
   * only the platform's user can read it) or `host:port` (port 0: any free port). Returns the address, which the
   * service puts in its registry labels (`metrics`) so the gateway and `mesh status` find it (fetchMetrics).
   */
  serveMetrics(listen: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * What a service's composition root builds once: the mesh runtime with policies hot-reloaded from the config center,
 * RED metrics for its /metrics, and tracing from the OTEL environment.
 */
export async function createServiceRuntime(o: ServiceRuntimeOptions): Promise<ServiceRuntime> {
  // The metrics code and tracing setup are sub-paths of the package (`@switchyard/mesh/metrics`, `/tracing`): loaded
  // when a service builds its runtime, not by every importer of the mesh (and before anything can emit an event).
  const [{ createMeshMetrics }, { startTracingFromEnv }] = await Promise.all([import("./metrics.js"), import("./tracing-setup.js")]);
  const events = o.events ?? new MeshEvents();
  const creds = o.credentials ? { credentials: o.credentials } : {};
  const logger = o.logger ? { logger: o.logger } : {};
  // The config center's own client is not governed by the policies it fetches (it would depend on itself to start).
  const mode = { mode: o.mode ?? "mesh" } as const;
  const bootstrap = createMeshRuntime({ serviceName: o.serviceName, ...creds, ...mode, ...logger });
  const source = o.registry && !o.policySource ? createConfigCenterPolicySource({ registry: o.registry, runtime: bootstrap, ...logger }) : undefined;
  const policySource = o.policySource ?? source;
  const policies = createPolicyStore({ ...(policySource ? { source: policySource } : {}), events, ...logger });
  const tracing = o.env ? await startTracingFromEnv(o.env, { serviceName: o.serviceName }) : undefined;
  const grantBook = o.grants ? new GrantBook() : undefined;
  // A broken watch makes the book stale after a grace (a reconnect within it delivers the current state at once): calls
  // under grants are then UNAVAILABLE, not judged against grants that may have been revoked meanwhile.
  let staleTimer: NodeJS.Timeout | undefined;
  const onConnection = (connected: boolean) => {
    if (connected) {
      if (staleTimer) clearTimeout(staleTimer);
      staleTimer = undefined;
      return;
    }
    if (staleTimer || !grantBook?.loaded) return;
    staleTimer = setTimeout(() => grantBook.setStale("the grants watch to control is broken (control restarting?): retry"), GRANTS_STALE_AFTER_MS);
    staleTimer.unref();
  };
  const grantSource = grantBook && o.registry ? createConfigCenterPolicySource({ registry: o.registry, runtime: bootstrap, namespace: GRANTS_NAMESPACE, onConnection, ...logger }) : undefined;
  const stopGrants = grantSource?.watch((snap) =>
    grantBook!.replace(
      snap.documents.map((d) => ({ name: d.name.slice(d.name.indexOf("/") + 1), content: d.yaml })),
      (name, why) => o.logger?.warn({ grant: name, why }, "a grant in the config center does not parse; ignored"),
    ),
  );
  const runtime = createMeshRuntime({
    serviceName: o.serviceName,
    ...mode,
    events,
    policies,
    ...creds,
    ...(o.local ? { local: o.local } : {}),
    ...(tracing ? { tracing: tracing.tracing } : {}),
    ...(o.workloadHosts ? { workloadHosts: o.workloadHosts } : {}),
    ...(grantBook ? { grants: grantBook } : {}),
    ...logger,
  });
  const metrics = createMeshMetrics({ events });
  // AuthorizationPolicy refusals and AUDIT matches go to the service's log as audit records.
  if (o.logger) {
    const log = o.logger;
    events.on("authorization", (a) => (a.allowed ? log.info({ event: "authorization", ...a }, "authorization audit") : log.warn({ event: "authorization", ...a }, "authorization denied")));
  }
  let http: Server | undefined;
  return {
    runtime,
    metrics,
    events,
    async serveMetrics(listen) {
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
      const unix = listen.startsWith("unix:") ? listen.slice("unix:".length) : undefined;
      if (unix !== undefined) await claimSocketPath(unix);
      await new Promise<void>((resolve, reject) => {
        http!.once("error", reject);
        if (unix !== undefined) http!.listen(unix, () => resolve());
        else {
          const i = listen.lastIndexOf(":");
          http!.listen(Number(listen.slice(i + 1)), listen.slice(0, i), () => resolve());
        }
      });
      if (unix !== undefined) return listen;
      return `${listen.slice(0, listen.lastIndexOf(":"))}:${(http.address() as AddressInfo).port}`;
    },
    async close() {
      if (http) await new Promise<void>((r) => http!.close(() => r()));
      source?.close();
      stopGrants?.();
      if (staleTimer) clearTimeout(staleTimer);
      grantSource?.close();
      metrics.close();
      await tracing?.shutdown();
    },
  };
}

const MAX_METRICS_BYTES = 32 * 1024 * 1024;

/** GETs `/metrics` from an address serveMetrics returned (`unix:/path` or `host:port`); "" when it does not answer in time. */
export function fetchMetrics(address: string, timeoutMs = 2000): Promise<string> {
  const target = address.startsWith("unix:") ? { socketPath: address.slice("unix:".length) } : { host: address.slice(0, address.lastIndexOf(":")), port: Number(address.slice(address.lastIndexOf(":") + 1)) };
  return new Promise((resolve) => {
    const req = request({ ...target, path: "/metrics", method: "GET", timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on("data", (c: Buffer) => {
        size += c.length;
        if (size > MAX_METRICS_BYTES) req.destroy();
        else chunks.push(c);
      });
      res.on("close", () => resolve(""));
      res.on("end", () => resolve(res.statusCode === 200 ? Buffer.concat(chunks).toString("utf8") : ""));
      res.on("error", () => resolve(""));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(""));
    req.end();
  });
}
