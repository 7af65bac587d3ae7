/**
 * Test fixture, never started by the platform: the `jobs` process of main.ts, except that it SIGKILLs itself on
 * reaching the crash point named by its first argument (job-actions.ts names them). recovery.test.ts runs it to kill the
 * service between a write and its action; the production entry point has no way to do this.
 */
import { announceReady, createLogger, onShutdown, setPrivateUmask } from "@switchyard/core";
import { loadConfig } from "./config.js";
import { CRASH_POINTS, type CrashPoint } from "./job-actions.js";
import { startJobs } from "./start.js";

async function main(): Promise<void> {
  const point = process.argv[2] as CrashPoint;
  if (!CRASH_POINTS.includes(point)) throw new Error(`usage: crash-fixture.js <${CRASH_POINTS.join("|")}>`);
  setPrivateUmask();
  const config = loadConfig();
  const logger = createLogger({ component: "jobs", level: config.logLevel });
  const running = await startJobs(config, logger, undefined, undefined, {
    onCrashPoint: (name) => {
      if (name !== point) return;
      logger.warn({ point: name }, "crash point reached: SIGKILL");
      process.kill(process.pid, "SIGKILL");
    },
  });
  announceReady({ service: "jobs", address: running.address });
  onShutdown(logger, () => running.stop());
}

main().catch((err: unknown) => {
  process.stderr.write(`jobs crash fixture: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
