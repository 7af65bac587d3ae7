import { announceReady, createLogger, onShutdown, setPrivateUmask } from "@switchyard/core";
import { loadConfig } from "./config.js";
import { startJobs } from "./start.js";

/** The `jobs` process: configuration from the environment, then the composition root in start.ts. */
async function main(): Promise<void> {
  // Everything this process creates (databases, logs, sockets, keys) is its user's alone.
  setPrivateUmask();
  const config = loadConfig();
  const logger = createLogger({ component: "jobs", level: config.logLevel });
  const running = await startJobs(config, logger);
  announceReady({ service: "jobs", address: running.address });
  onShutdown(logger, () => running.stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`jobs: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
