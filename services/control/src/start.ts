import { join } from "node:path";
import { ConfigCenter, Registry } from "@switchyard/api";
import { ensurePrivateDir, meshListen, serviceSocketPath, type Logger, type RunningService } from "@switchyard/core";
import { createServer, createServiceRuntime, loadPlatformCredentials, MemoryRegistry, type LocalTable } from "@switchyard/mesh";
import { openStore } from "@switchyard/store";
import { configService } from "./config-service.js";
import { ConfigStore, migrations, type ControlDatabase } from "./config-store.js";
import type { ControlConfig } from "./config.js";
import { registryService } from "./registry-service.js";

/** Starts `control`: the embedded registry and the config center. The registry is returned for co-hosted services. */
export async function startControl(config: ControlConfig, logger: Logger, local?: LocalTable): Promise<RunningService & { registry: MemoryRegistry }> {
  ensurePrivateDir(config.dataDir);
  const { db, close: closeDb } = await openStore<ControlDatabase>({ driver: config.store, location: join(config.dataDir, "control", "control.db"), migrations });
  const registry = new MemoryRegistry();
  // control serves the policies, so its own runtime does not watch them (it would depend on itself to start).
  const mesh = await createServiceRuntime({ serviceName: "control", credentials: loadPlatformCredentials(config.dataDir), env: config.otelEnv, logger, ...(local ? { local } : {}) });
  const metricsAddress = await mesh.serveMetrics(`unix:${serviceSocketPath(config.dataDir, "control-metrics")}`);
  const server = createServer({ name: "control", ...meshListen(config.listen, config.dataDir, "control"), logger, runtime: mesh.runtime }).add(Registry, registryService(registry)).add(ConfigCenter, configService(new ConfigStore(db)));
  const address = await server.start();
  // control registers itself in its own registry, so `mesh:///control` resolves like any service.
  await registry.register({ service: "control", address, labels: { service: "control", metrics: metricsAddress }, instanceId: `control@${address}` }, 365 * 24 * 3600_000);
  return {
    service: "control",
    address,
    registry,
    async stop() {
      await server.stop(2000);
      await mesh.close();
      await registry.close();
      await closeDb();
    },
  };
}
