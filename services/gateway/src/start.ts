import type { DescService } from "@bufbuild/protobuf";
import { loadRequestAuthentication } from "./oidc.js";
import { ConfigCenter, Experiments, GRPCInferenceService, Jobs, Queues, Secrets, Serving } from "@switchyard/api";
import { ensurePrivateDir, type Logger, type RunningService } from "@switchyard/core";
import { probeSandbox } from "@switchyard/executors";
import { createClient, createMeshRuntime, createServiceRuntime, fetchMetrics, openRegistry, platformIdentity, removeGrants, type LocalTable, type MeshClient, type Registry } from "@switchyard/mesh";
import type { GatewayConfig } from "./config.js";
import { loadEdgeTls } from "./edge-tls.js";
import { createGateway } from "./gateway.js";
import { mergePrometheusTexts } from "./metrics-aggregate.js";

/**
 * The services the gateway serves by forwarding, and where they live in the mesh. Adding a service is one line here;
 * its `google.api.http` annotations add its REST routes and its OpenAPI entries by themselves.
 */
const FORWARDED: readonly { service: DescService; target: string }[] = [
  { service: Jobs, target: "mesh:///jobs" },
  { service: Queues, target: "mesh:///jobs" },
  { service: Secrets, target: "mesh:///jobs" },
  { service: ConfigCenter, target: "mesh:///control" },
  { service: Serving, target: "mesh:///serving" },
  { service: Experiments, target: "mesh:///experiments" },
];

/**
 * Where inference goes: the model servers, registered by the serving service as instances of `inference` (labels
 * model, revision, team, spiffe) on Unix sockets with mutual TLS, each as its team's workload (the registration names
 * the identity, the handshake proves it); the serving service's routes pick the replica.
 */
const INFERENCE_HOST = "inference";

export interface RunningGateway extends RunningService {
  url: string;
  adminTokenFile: string;
  routes: number;
  /** TLS at the edge: the certificate's SHA-256 fingerprint and, for a self-signed one, the file clients trust. */
  tls?: { fingerprint: string; caFile?: string };
}

/**
 * Builds and starts the gateway: mesh clients for the forwarded services, the gateway itself (tokens, REST, OpenAPI,
 * Connect) and its one port. `registry`: a co-hosting process passes its own; otherwise one is opened from config.
 */
export async function startGateway(config: GatewayConfig, logger: Logger, registry?: Registry, local?: LocalTable): Promise<RunningGateway> {
  if (!registry && !config.registry) throw new Error("SWITCHYARD_CONTROL (the control service's address) or SWITCHYARD_REGISTRY is required");
  ensurePrivateDir(config.dataDir);
  // The gateway's certificate proves its calls come from the gateway: the one service whose user identities the others
  // believe. Enrolled with control's CA (a join token from `up`), or issued from the data dir's CA without one.
  // Enrolled, its certificate can expire unrenewed (control away for half its lifetime): it then stops as on SIGTERM,
  // and `up` starts it again with a fresh join token.
  const credentials = await platformIdentity({ service: "gateway", onExpired: () => process.kill(process.pid, "SIGTERM"), dataDir: config.dataDir, control: config.control, ...config.identity, logger });
  const ownRegistry = registry ? undefined : await openRegistry(config.registry!, logger, createMeshRuntime({ serviceName: "gateway", credentials, mode: config.identity.meshMode, logger }));
  const reg = (registry ?? ownRegistry)!;
  // The mesh runtime: policies hot-reloaded from the config center, metrics, tracing from OTEL_* (off by default).
  // Model servers are team workloads, each with its team's certificate (spiffe://…/ns/<team>/sa/model-<deployment>,
  // named by its registration): mutual TLS to each accepts that identity alone.
  const mesh = await createServiceRuntime({ serviceName: "gateway", mode: config.identity.meshMode, registry: reg, credentials, env: config.otelEnv, logger, workloadHosts: [INFERENCE_HOST], ...(local ? { local } : {}) });
  const forwards = FORWARDED.map((f) => ({ service: f.service, client: createClient(f.service, { target: f.target, registry: reg, runtime: mesh.runtime }) as MeshClient<DescService> }));
  const serving = forwards.find((f) => f.service === Serving)!.client as unknown as MeshClient<typeof Serving>;
  const configCenter = forwards.find((f) => f.service === ConfigCenter)!.client as unknown as MeshClient<typeof ConfigCenter>;
  const inference = createClient(GRPCInferenceService, { target: `mesh:///${INFERENCE_HOST}`, registry: reg, runtime: mesh.runtime });
  // Jobs run with the platform's own rights when it is neither root nor able to sandbox them: then it is single-user.
  const root = process.getuid?.() === 0;
  const sandbox = root || config.sandbox === "none" ? undefined : await probeSandbox();
  const singleUser = root ? undefined : sandbox?.ok ? undefined : `not root, and ${sandbox ? `bubblewrap does not work here: ${sandbox.why}` : "SWITCHYARD_SANDBOX=none"}`;
  if (singleUser) logger.warn({ why: singleUser }, "single-user platform: member tokens are refused");
  const tls = config.tls === undefined ? undefined : await loadEdgeTls(config.tls, config.host, config.dataDir);
  const gateway = await createGateway({
    ...(tls ? { tls } : {}),
    dbPath: config.dbPath,
    ...(config.db ? { db: config.db } : {}),
    ...(singleUser ? { singleUser } : {}),
    forwards,
    inference: { serving, inference },
    revokeGrants: (user, team) => removeGrants(configCenter, (g) => g.user === user && (team === undefined || g.team === team)),
    adminTokenFile: config.adminTokenFile,
    ...(config.webDir ? { webDir: config.webDir } : {}),
    limits: config.limits,
    auditRetentionMs: config.auditRetentionDays * 86_400_000,
    ...(config.requestAuthnFile ? { requestAuthentication: loadRequestAuthentication(config.requestAuthnFile) } : {}),
    logger,
    async metrics() {
      // This process's own series, then every registered instance's /metrics (found by its `metrics` label).
      // Fetched concurrently, each with its own 2 s limit: one slow service does not hold up the others.
      const targets = new Map<string, string>();
      for (const i of await reg.list()) if (i.labels.metrics && !targets.has(i.labels.metrics)) targets.set(i.labels.metrics, i.service);
      const fetched = await Promise.all(
        [...targets].map(async ([addr, service]) => ({ service, text: await fetchMetrics(addr) })),
      );
      const parts = [{ service: "gateway", text: await mesh.metrics.text() }, ...fetched];
      return mergePrometheusTexts(parts);
    },
    async status() {
      const by = new Map<string, string[]>();
      for (const i of await reg.list()) by.set(i.service, [...(by.get(i.service) ?? []), i.address]);
      return [...by].map(([service, addresses]) => ({ service, addresses }));
    },
  });
  const port = await gateway.listen(config.port, config.host);
  const address = `${config.host}:${port}`;
  const url = `${tls ? "https" : "http"}://${address}`;
  logger.info({ url, routes: gateway.routes.all().length, ...(tls ? { tlsFingerprint: tls.fingerprint } : {}) }, "gateway serving");
  return {
    service: "gateway",
    address,
    url,
    ...(tls ? { tls: { fingerprint: tls.fingerprint, ...(tls.caFile ? { caFile: tls.caFile } : {}) } } : {}),
    adminTokenFile: config.adminTokenFile,
    routes: gateway.routes.all().length,
    async stop() {
      await gateway.close();
      for (const f of forwards) f.client.close();
      inference.close();
      await mesh.close();
      credentials.close();
      await ownRegistry?.close();
    },
  };
}

