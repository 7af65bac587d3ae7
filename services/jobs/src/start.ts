import { join } from "node:path";
import { Jobs, Queues } from "@switchyard/api";
import type { Logger, RunningService } from "@switchyard/core";
import { createLocalExecutor, detectGpus } from "@switchyard/executors";
import { createServer, createServiceRuntime, openRegistry, type LocalTable, type Registry } from "@switchyard/mesh";
import { createPriorityFifoScheduler, createSwitchyardScheduler } from "@switchyard/scheduler";
import { openSqlite } from "@switchyard/store";
import type { JobsConfig } from "./config.js";
import { JobController } from "./controller.js";
import { JobStore } from "./job-store.js";
import { loadQueues, queuesService } from "./queues-service.js";
import { migrations, type JobsDatabase } from "./schema.js";
import { jobsService } from "./service.js";

/**
 * Builds and starts the `jobs` service: its database, executor, GPU inventory, controller (recovered before it
 * serves) and gRPC server. `registry`: a co-hosting process passes its own; otherwise one is opened from config.
 */
export async function startJobs(config: JobsConfig, logger: Logger, registry?: Registry, local?: LocalTable): Promise<RunningService> {
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
  const ownRegistry = !registry && registrySpec ? await openRegistry(registrySpec, logger) : undefined;
  const reg = registry ?? ownRegistry;
  // The mesh runtime: server-side policies (rate limits, bulkheads, faults) hot-reloaded from the config center.
  const mesh = await createServiceRuntime({ serviceName: "jobs", env: process.env, logger, ...(reg ? { registry: reg } : {}), ...(local ? { local } : {}) });
  const metricsAddress = await mesh.serveMetrics(config.host, Number(process.env.SWITCHYARD_METRICS_PORT ?? 0));
  const server = createServer({ name: "jobs", host: config.host, port: config.port, logger, runtime: mesh.runtime, labels: { metrics: metricsAddress }, ...(reg ? { registry: reg } : {}) });
  server.add(Jobs, jobsService({ store, controller, executor, gpus, nodeName: config.nodeName }));
  server.add(Queues, queuesService({ store, controller, gpus }));
  const address = await server.start();
  logger.info({ gpus: gpus.length, simulated: gpus[0]?.simulated ?? false }, "GPU inventory");
  return {
    service: "jobs",
    address,
    async stop() {
      await server.stop(3000);
      await mesh.close();
      await controller.close();
      await executor.close();
      await ownRegistry?.close();
      await closeDb();
    },
  };
}
