import { join } from "node:path";
import { ConfigCenter, Experiments as ExperimentsApi, Jobs } from "@switchyard/api";
import { ensurePrivateDir, meshListen, serviceSocketPath, systemClock, type Logger, type RunningService } from "@switchyard/core";
import { createClient, createMeshRuntime, createServer, createServiceRuntime, grantRecorder, openRegistry, platformIdentity, type LocalTable, type Registry } from "@switchyard/mesh";
import { openStore, storeOptionsFor } from "@switchyard/store";
import type { ExperimentsConfig } from "./config.js";
import { Controller } from "./controller.js";
import { ExperimentStore } from "./experiment-store.js";
import { Experiments } from "./experiments.js";
import { jobsPort } from "./mesh-ports.js";
import { migrations, type ExperimentsDatabase } from "./schema.js";
import { experimentsService } from "./service.js";

/**
 * Builds and starts the experiments service: its store, mesh clients for jobs (trials) and control (grants), the
 * controller, and the Experiments server. `registry`: a co-hosting process passes its own.
 */
export async function startExperiments(config: ExperimentsConfig, logger: Logger, registry?: Registry, local?: LocalTable): Promise<RunningService> {
  ensurePrivateDir(config.dataDir);
  const credentials = await platformIdentity({ service: "experiments", onExpired: () => process.kill(process.pid, "SIGTERM"), dataDir: config.dataDir, control: config.controlAddress, ...config.identity, logger });
  ensurePrivateDir(join(config.dataDir, "experiments"));
  const opened = await openStore<ExperimentsDatabase>({ ...storeOptionsFor(config.db, "experiments", join(config.dataDir, "experiments", "experiments.db")), migrations });
  const store = new ExperimentStore(opened);
  const registrySpec = config.registry ?? config.controlAddress;
  const ownRegistry = !registry && registrySpec ? await openRegistry(registrySpec, logger, createMeshRuntime({ serviceName: "experiments", credentials, mode: config.identity.meshMode, logger })) : undefined;
  const reg = registry ?? ownRegistry;
  if (!reg) throw new Error("SWITCHYARD_CONTROL (the control service's address) or SWITCHYARD_REGISTRY is required");
  const mesh = await createServiceRuntime({ serviceName: "experiments", mode: config.identity.meshMode, credentials, registry: reg, env: config.otelEnv, logger, ...(local ? { local } : {}) });
  const metricsAddress = await mesh.serveMetrics(`unix:${serviceSocketPath(config.dataDir, "experiments-metrics")}`);
  const jobsClient = createClient(Jobs, { target: "mesh:///jobs", registry: reg, runtime: mesh.runtime });
  const configClient = createClient(ConfigCenter, { target: "mesh:///control", registry: reg, runtime: mesh.runtime });
  const grants = grantRecorder(configClient, "experiments");
  const controller = new Controller({ store, jobs: jobsPort(jobsClient), grants, clock: systemClock, logger, ...(config.intervalMs !== undefined ? { intervalMs: config.intervalMs } : {}) });
  const experiments = new Experiments({ store, grants, clock: systemClock, kick: () => controller.kick() });
  const server = createServer({ name: "experiments", ...meshListen(config.listen, config.dataDir, "experiments"), logger, runtime: mesh.runtime, labels: { metrics: metricsAddress }, registry: reg });
  server.add(ExperimentsApi, experimentsService({ store, experiments }));
  const address = await server.start();
  controller.start();
  return {
    service: "experiments",
    address,
    async stop() {
      await server.stop(3000);
      await controller.stop();
      jobsClient.close();
      configClient.close();
      await mesh.close();
      credentials.close();
      await ownRegistry?.close();
      await opened.close();
    },
  };
}
