import { join } from "node:path";
import { ConfigCenter, Identity, Jobs, Serving } from "@switchyard/api";
import { ensurePrivateDir, meshListen, serviceSocketPath, systemClock, type Logger, type RunningService } from "@switchyard/core";
import { createClient, createMeshRuntime, grantRecorder, createServer, createServiceRuntime, openRegistry, platformIdentity, type LocalTable, type Registry } from "@switchyard/mesh";
import { openStore, storeOptionsFor } from "@switchyard/store";
import type { ServingConfig } from "./config.js";
import { Deployments } from "./deployments.js";
import { identityPort, jobsPort, policyPort, registryPort, replicaPort } from "./mesh-ports.js";
import { ModelFiles } from "./model-files.js";
import { Reconciler } from "./reconciler.js";
import { migrations, type ServingDatabase } from "./schema.js";
import { ServingStore } from "./serving-store.js";
import { registerServingMetrics } from "./serving-metrics.js";
import { servingService } from "./service.js";

/**
 * Builds and starts `serving`: its database, model files, the reconciler (replicas as jobs, their registration, the
 * traffic policies, autoscaling) and the Serving API. `registry`: a co-hosting process passes its own.
 */
export async function startServing(config: ServingConfig, logger: Logger, registry?: Registry, local?: LocalTable): Promise<RunningService> {
  ensurePrivateDir(config.dataDir);
  const credentials = await platformIdentity({ service: "serving", onExpired: () => process.kill(process.pid, "SIGTERM"), dataDir: config.dataDir, control: config.controlAddress, ...config.identity, logger });
  const opened = await openStore<ServingDatabase>({ ...storeOptionsFor(config.db, "serving", join(config.dataDir, "serving", "serving.db")), migrations });
  const store = new ServingStore(opened);
  const files = new ModelFiles(join(config.dataDir, "serving"), config.maxModelBytes);
  const registrySpec = config.registry ?? config.controlAddress;
  const ownRegistry = !registry && registrySpec ? await openRegistry(registrySpec, logger, createMeshRuntime({ serviceName: "serving", credentials, mode: config.identity.meshMode, logger })) : undefined;
  const reg = registry ?? ownRegistry;
  if (!reg) throw new Error("SWITCHYARD_CONTROL (the control service's address) or SWITCHYARD_REGISTRY is required");
  const mesh = await createServiceRuntime({ serviceName: "serving", mode: config.identity.meshMode, credentials, registry: reg, env: config.otelEnv, logger, ...(local ? { local } : {}) });
  const metricsAddress = await mesh.serveMetrics(`unix:${serviceSocketPath(config.dataDir, "serving-metrics")}`);
  const jobsClient = createClient(Jobs, { target: "mesh:///jobs", registry: reg, runtime: mesh.runtime });
  const configClient = createClient(ConfigCenter, { target: "mesh:///control", registry: reg, runtime: mesh.runtime });
  const identityClient = createClient(Identity, { target: "mesh:///control", registry: reg, runtime: mesh.runtime });
  const jobs = jobsPort(jobsClient);
  const replicas = replicaPort(logger);
  const grants = grantRecorder(configClient, "serving");
  const reconciler = new Reconciler({
    store,
    jobs,
    replicas,
    registry: registryPort(reg, logger),
    policies: policyPort(configClient),
    grants,
    identity: identityPort(identityClient),
    trustDomain: config.identity.trustDomain,
    files,
    clock: systemClock,
    logger,
    modelServer: config.modelServer,
    // Tracing in the replicas as in the platform: the model servers get the same OTEL_* settings.
    replicaEnv: Object.fromEntries(Object.entries(config.otelEnv).filter((e): e is [string, string] => e[1] !== undefined)),
    ...(config.drainMs !== undefined ? { drainMs: config.drainMs } : {}),
    ...(config.policySettleMs !== undefined ? { policySettleMs: config.policySettleMs } : {}),
    scaling: {
      ...(config.stableWindowMs !== undefined ? { stableWindowMs: config.stableWindowMs } : {}),
      ...(config.panicWindowMs !== undefined ? { panicWindowMs: config.panicWindowMs } : {}),
      ...(config.scaleDownDelayMs !== undefined ? { scaleDownDelayMs: config.scaleDownDelayMs } : {}),
      ...(config.scaleToZeroGraceMs !== undefined ? { scaleToZeroGraceMs: config.scaleToZeroGraceMs } : {}),
    },
  });
  const deployments = new Deployments({ store, files, jobs, grants, clock: systemClock, kick: () => reconciler.kick() });
  registerServingMetrics(mesh.metrics.registry, store, reconciler);
  const server = createServer({ name: "serving", ...meshListen(config.listen, config.dataDir, "serving"), logger, runtime: mesh.runtime, labels: { metrics: metricsAddress }, registry: reg });
  server.add(Serving, servingService({ store, deployments, reconciler }));
  const address = await server.start();
  reconciler.start();
  return {
    service: "serving",
    address,
    async stop() {
      await server.stop(3000);
      await reconciler.stop();
      replicas.close();
      jobsClient.close();
      configClient.close();
      identityClient.close();
      await mesh.close();
      credentials.close();
      await ownRegistry?.close();
      await opened.close();
    },
  };
}
