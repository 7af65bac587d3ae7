import { join } from "node:path";
import { ConfigCenter, Registry } from "@switchyard/api";
import type { Logger, RunningService } from "@switchyard/core";
import { createServer, createServiceRuntime, MemoryRegistry, type LocalTable } from "@switchyard/mesh";
import { openSqlite } from "@switchyard/store";
import { configService } from "./config-service.js";
import { migrations, type ControlDatabase } from "./config-store.js";
import { registryService } from "./registry-service.js";

export interface ControlConfig {
  dataDir: string;
  host: string;
  port: number;
  logLevel: string;
}

export function loadControlConfig(env: NodeJS.ProcessEnv = process.env): ControlConfig {
  return {
    dataDir: env.SWITCHYARD_DATA_DIR ?? ".switchyard",
    host: env.SWITCHYARD_HOST ?? "127.0.0.1",
    port: Number(env.SWITCHYARD_PORT ?? 0),
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
  };
}

/** Starts `control`: the embedded registry and the config center. The registry is returned for co-hosted services. */
export async function startControl(config: ControlConfig, logger: Logger, local?: LocalTable): Promise<RunningService & { registry: MemoryRegistry }> {
  const { db, close: closeDb } = await openSqlite<ControlDatabase>({ path: join(config.dataDir, "control", "control.db"), migrations });
  const registry = new MemoryRegistry();
  // control serves the policies, so its own runtime does not watch them (it would depend on itself to start).
  const mesh = await createServiceRuntime({ serviceName: "control", env: process.env, logger, ...(local ? { local } : {}) });
  const metricsAddress = await mesh.serveMetrics(config.host, 0);
  const server = createServer({ name: "control", host: config.host, port: config.port, logger, runtime: mesh.runtime }).add(Registry, registryService(registry)).add(ConfigCenter, configService(db));
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
