import { announceReady, createLogger, onShutdown, setPrivateUmask } from "@switchyard/core";
import { loadConfig } from "./config.js";
import { startGateway } from "./start.js";

/** The `gateway` process: configuration from the environment, then the composition root in start.ts. */
async function main(): Promise<void> {
  // Everything this process creates (databases, logs, sockets, keys) is its user's alone.
  setPrivateUmask();
  const config = loadConfig();
  const logger = createLogger({ component: "gateway", level: config.logLevel });
  const running = await startGateway(config, logger);
  announceReady({ service: "gateway", address: running.address, url: running.url, adminTokenFile: running.adminTokenFile, ...(running.tls ? { tls: running.tls } : {}) });
  onShutdown(logger, () => running.stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
