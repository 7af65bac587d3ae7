import { announceReady, createLogger, onShutdown, setPrivateUmask } from "@switchyard/core";
import { loadServingConfig } from "./config.js";
import { startServing } from "./start.js";

/** The `serving` process: deployments, revisions, replicas, autoscaling, the model registry. */
async function main(): Promise<void> {
  // Everything this process creates (databases, model files, logs, sockets) is its user's alone.
  setPrivateUmask();
  const config = loadServingConfig();
  const logger = createLogger({ component: "serving", level: config.logLevel });
  const running = await startServing(config, logger);
  announceReady({ service: "serving", address: running.address });
  onShutdown(logger, () => running.stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`serving: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
