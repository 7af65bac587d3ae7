import { announceReady, createLogger, onShutdown, setPrivateUmask } from "@switchyard/core";
import { loadExperimentsConfig } from "./config.js";
import { startExperiments } from "./start.js";

/** The `experiments` process: hyperparameter experiments whose trials are jobs. */
async function main(): Promise<void> {
  // Everything this process creates (its database, logs, sockets) is its user's alone.
  setPrivateUmask();
  const config = loadExperimentsConfig();
  const logger = createLogger({ component: "experiments", level: config.logLevel });
  const running = await startExperiments(config, logger);
  announceReady({ service: "experiments", address: running.address });
  onShutdown(logger, () => running.stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`experiments: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
