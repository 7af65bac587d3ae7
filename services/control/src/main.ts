import { join } from "node:path";
import { ConfigCenter, Registry } from "@switchyard/api";
import { announceReady, createLogger, onShutdown } from "@switchyard/core";
import { createServer, MemoryRegistry } from "@switchyard/mesh";
import { openSqlite } from "@switchyard/store";
import { configService } from "./config-service.js";
import { migrations, type ControlDatabase } from "./config-store.js";
import { registryService } from "./registry-service.js";

/** Composition root of `control`: the embedded registry (and, later, the config center and the CA). */
async function main(): Promise<void> {
  const port = Number(process.env.SWITCHYARD_PORT ?? 0);
  const host = process.env.SWITCHYARD_HOST ?? "127.0.0.1";
  const logger = createLogger({ component: "control", level: process.env.SWITCHYARD_LOG_LEVEL ?? "info" });
  const dataDir = process.env.SWITCHYARD_DATA_DIR ?? ".switchyard";
  const { db, close: closeDb } = await openSqlite<ControlDatabase>({ path: join(dataDir, "control", "control.db"), migrations });
  const registry = new MemoryRegistry();
  const server = createServer({ name: "control", host, port, logger }).add(Registry, registryService(registry)).add(ConfigCenter, configService(db));
  const address = await server.start();
  // control registers itself directly in its own registry, so `mesh:///control` resolves like any service.
  await registry.register({ service: "control", address, labels: { service: "control" }, instanceId: `control@${address}` }, 365 * 24 * 3600_000);
  announceReady({ service: "control", address });
  onShutdown(logger, async () => {
    await server.stop(2000);
    await registry.close();
    await closeDb();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`control: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
