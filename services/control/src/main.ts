import { announceReady, createLogger, onShutdown, setPrivateUmask } from "@switchyard/core";
import { loadControlConfig } from "./config.js";
import { startControl } from "./start.js";

/** The `control` process: the embedded registry and the config center. */
async function main(): Promise<void> {
  // Everything this process creates (databases, logs, sockets, keys) is its user's alone.
  setPrivateUmask();
  const config = loadControlConfig();
  const logger = createLogger({ component: "control", level: config.logLevel });
  const running = await startControl(config, logger);
  announceReady({ service: "control", address: running.address });
  onShutdown(logger, () => running.stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`control: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
