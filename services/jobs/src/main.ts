import { join } from "node:path";
import { Jobs, Queues } from "@switchyard/api";
import { announceReady, createLogger, onShutdown } from "@switchyard/core";
import { createLocalExecutor, detectGpus } from "@switchyard/executors";
import { createServer, openRegistry } from "@switchyard/mesh";
import { createPriorityFifoScheduler, createSwitchyardScheduler } from "@switchyard/scheduler";
import { openSqlite } from "@switchyard/store";
import { loadConfig } from "./config.js";
import { JobController } from "./controller.js";
import { JobStore } from "./job-store.js";
import { migrations, type JobsDatabase } from "./schema.js";
import { jobsService } from "./service.js";
import { loadQueues, queuesService } from "./queues-service.js";


/** Composition root of the `jobs` service. */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ component: "jobs", level: config.logLevel });
  const { db, close: closeDb } = await openSqlite<JobsDatabase>({ path: join(config.dataDir, "jobs", "jobs.db"), migrations });
  const store = new JobStore(db);
  const executor = createLocalExecutor({ runsDir: join(config.dataDir, "jobs", "runs"), logger });
  const gpus = await detectGpus(config.simulateGpus !== undefined ? { simulate: config.simulateGpus } : {});
  const controller = new JobController({
    store,
    executor,
    scheduler:
      config.scheduler === "fifo"
        ? createPriorityFifoScheduler()
        : createSwitchyardScheduler({ minRunTimeMs: config.minRunTimeMs, ...(config.lasThresholdsGpuS ? { lasThresholdsGpuS: config.lasThresholdsGpuS } : {}) }),
    gpus,
    node: { name: config.nodeName, cpuMilli: config.cpuMilli, memoryMb: config.memoryMb },
    jobsDir: join(config.dataDir, "jobs", "jobs"),
    graceMs: config.graceMs,
    logger,
    ...(config.crashAt ? { crashAt: config.crashAt } : {}),
  });
  controller.queues = (await loadQueues(store)).config;
  await controller.recover();
  const registrySpec = config.registry ?? config.controlAddress;
  const registry = registrySpec ? openRegistry(registrySpec, logger) : undefined;
  const server = createServer({ name: "jobs", host: config.host, port: config.port, logger, ...(registry ? { registry } : {}) });
  server.add(Jobs, jobsService({ store, controller, executor, gpus, nodeName: config.nodeName }));
  server.add(Queues, queuesService({ store, controller, gpus }));
  const address = await server.start();
  logger.info({ gpus: gpus.length, simulated: gpus[0]?.simulated ?? false }, "GPU inventory");
  announceReady({ service: "jobs", address });
  onShutdown(logger, async () => {
    await server.stop(3000);
    await controller.close();
    await executor.close();
    await registry?.close();
    await closeDb();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`jobs: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
