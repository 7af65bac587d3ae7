import { announceReady, createLogger, onShutdown, setPrivateUmask } from "@switchyard/core";
import { parseConfig, USAGE, UsageError, type ModelServerConfig } from "./config.js";
import { startModelServer } from "./start.js";

/** The model server: a serving replica's job command. Flags in, the composition root in start.ts. */
async function main(): Promise<void> {
  // The sockets it creates are its account's alone (their directory is the protection).
  setPrivateUmask();
  let config: ModelServerConfig;
  try {
    config = parseConfig(process.argv.slice(2));
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    if (err.message === "") {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    }
    process.stderr.write(`model-server: ${err.message}\n\n${USAGE}\n`);
    process.exit(2);
  }
  const logger = createLogger({ component: "model-server", level: config.logLevel });
  // A SIGTERM while the model loads stops the start (and a custom predictor) as well as a running server.
  const aborted = new AbortController();
  const started = startModelServer(config, logger, {
    signal: aborted.signal,
    onPredictorExit: (exit) => {
      // The job's restart policy takes over: exit as the predictor did (at once, even while starting, so that the
      // job's exit code is the predictor's whatever the model server was doing).
      process.stderr.write(`model-server: the custom predictor exited with code ${exit.code}${exit.signal ? ` (${exit.signal})` : ""}: exiting with its code\n`);
      process.exit(exit.code);
    },
  });
  onShutdown(logger, async () => {
    aborted.abort();
    const running = await started.catch(() => undefined);
    await running?.stop();
  });
  try {
    const running = await started;
    // At once for --model and --custom; after LoadModel's last piece for a model the serving service sends.
    await running.ready;
    announceReady({ service: "model-server", address: running.address, socket: config.socketPath, metrics: running.metricsAddress, model: config.name, revision: config.revision });
  } catch (err) {
    if (aborted.signal.aborted) return;
    if (err instanceof UsageError) {
      process.stderr.write(`model-server: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`model-server: ${(err as Error).message ?? String(err)}\n`);
  process.exit(1);
});
