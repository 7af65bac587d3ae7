import { join } from "node:path";
import { Jobs, Queues, Secrets } from "@switchyard/api";
import { ensurePrivateDir, meshListen, serviceSocketPath, type Logger, type RunningService } from "@switchyard/core";
import { createExecutor, detectGpus, executorAppliesSandbox } from "@switchyard/executors";
import { createMeshRuntime, createServer, createServiceRuntime, openRegistry, platformIdentity, type LocalTable, type Registry } from "@switchyard/mesh";
import { createPriorityFifoScheduler, createSwitchyardScheduler } from "@switchyard/scheduler";
import { openStore, storeOptionsFor } from "@switchyard/store";
import type { JobsConfig } from "./config.js";
import { JobController } from "./controller.js";
import type { CrashPoint } from "./job-actions.js";
import { JobIsolation } from "./job-isolation.js";
import { createManifestParser } from "./manifest-parser.js";
import { JobRetention } from "./retention.js";
import { JobStore } from "./job-store.js";
import { MetricsStore } from "./metrics-store.js";
import { loadUsersMapping } from "./job-users.js";
import { QueueConfigStore } from "./queue-config-store.js";
import { loadQueues, queuesService } from "./queues-service.js";
import { openSecretBox } from "./secret-box.js";
import { SecretStore } from "./secret-store.js";
import { secretsService } from "./secrets-service.js";
import { migrations, type JobsDatabase } from "./schema.js";
import { jobsService } from "./service.js";

/** What only tests set (crash-fixture.ts): nothing in a real deployment reaches these. */
export interface JobsTestHooks {
  /** Called at each named crash point of job-actions.ts. */
  onCrashPoint?: (name: CrashPoint) => void;
}

/**
 * Builds and starts the `jobs` service: its database, executor, GPU inventory, controller (recovered before it
 * serves) and gRPC server. `registry`: a co-hosting process passes its own; otherwise one is opened from config.
 */
export async function startJobs(config: JobsConfig, logger: Logger, registry?: Registry, local?: LocalTable, hooks: JobsTestHooks = {}): Promise<RunningService> {
  ensurePrivateDir(config.dataDir);
  // The jobs service's workload certificate: enrolled with control's CA (a join token from `up`), or issued from the
  // data dir's CA when it has no token; every mesh connection is mutual TLS with it.
  // Enrolled, its certificate can expire unrenewed (control away for half its lifetime): it then stops as on SIGTERM,
  // and `up` starts it again with a fresh join token.
  const credentials = await platformIdentity({ service: "jobs", onExpired: () => process.kill(process.pid, "SIGTERM"), dataDir: config.dataDir, control: config.controlAddress, ...config.identity, logger });
  const opened = await openStore<JobsDatabase>({ ...storeOptionsFor(config.db, "jobs", join(config.dataDir, "jobs", "jobs.db")), migrations });
  const db = opened.db;
  const store = new JobStore(opened);
  const queueConfigs = new QueueConfigStore(db);
  // Teams' secrets and inline secret values, sealed at rest with <data>/secrets/jobs-secrets.key.
  const secretBox = openSecretBox(config.dataDir);
  const secrets = new SecretStore(db, secretBox);
  const metricSeries = new MetricsStore(db);
  // Who runs jobs (root: the submitter's mapped account; otherwise the platform's user in bubblewrap) and where their
  // own directories are: outside the data dir, which jobs never see.
  const isolation = await JobIsolation.create({ jobsDir: config.jobsDir, jobPath: config.jobPath, mapping: loadUsersMapping(config.usersFile), hidePaths: config.hidePaths,
    // An engine that cannot apply this machine's sandbox (Slurm) leaves a platform that is not root single-user: only
    // admins submit, since members' jobs would otherwise run with the platform's rights.
    sandbox: executorAppliesSandbox(config.executor) ? config.sandbox : "none",
    logger,
  });
  const executor = createExecutor(config.executor, {
    runsDir: join(config.dataDir, "jobs", "runs"),
    logger,
    sandbox: isolation.sandboxOptions,
    // Read by the slurm engine only: its task directories must be where the nodes and the jobs' accounts reach them.
    slurm: { ...(config.slurm.conf ? { slurmConf: config.slurm.conf } : {}), ...(config.slurm.partition ? { partition: config.slurm.partition } : {}), sharedDir: config.slurm.runsDir, jobNamePrefix: config.slurm.jobNamePrefix },
  });
  const gpus = await detectGpus(config.simulateGpus !== undefined ? { simulate: config.simulateGpus } : {});
  const controller = new JobController({
    store,
    executor,
    scheduler:
      config.scheduler === "fifo"
        ? createPriorityFifoScheduler()
        : createSwitchyardScheduler({
            minRunTimeMs: config.minRunTimeMs,
            ...(config.lasThresholdsGpuS ? { lasThresholdsGpuS: config.lasThresholdsGpuS } : {}),
            ...(config.usageHalfLifeMs !== undefined ? { usageHalfLifeMs: config.usageHalfLifeMs } : {}),
          }),
    gpus,
    node: { name: config.nodeName, cpuMilli: config.cpuMilli, memoryMb: config.memoryMb },
    isolation,
    secrets,
    secretBox,
    metricSeries,
    graceMs: config.graceMs,
    ...(config.inventoryRefreshMs !== undefined ? { inventoryRefreshMs: config.inventoryRefreshMs } : {}),
    ...(config.usageHalfLifeMs !== undefined ? { usageHalfLifeMs: config.usageHalfLifeMs } : {}),
    logger,
    ...(hooks.onCrashPoint ? { onCrashPoint: hooks.onCrashPoint } : {}),
  });
  controller.queues = (await loadQueues(queueConfigs)).config;
  await controller.recover();
  const registrySpec = config.registry ?? config.controlAddress;
  const ownRegistry = !registry && registrySpec ? await openRegistry(registrySpec, logger, createMeshRuntime({ serviceName: "jobs", credentials, mode: config.identity.meshMode, logger })) : undefined;
  const reg = registry ?? ownRegistry;
  // The mesh runtime: server-side policies (rate limits, bulkheads, faults) hot-reloaded from the config center.
  const mesh = await createServiceRuntime({ serviceName: "jobs", grants: true, mode: config.identity.meshMode, credentials, env: config.otelEnv, logger, ...(reg ? { registry: reg } : {}), ...(local ? { local } : {}) });
  const metricsAddress = await mesh.serveMetrics(`unix:${serviceSocketPath(config.dataDir, "jobs-metrics")}`);
  const server = createServer({ name: "jobs", ...meshListen(config.listen, config.dataDir, "jobs"), logger, runtime: mesh.runtime, labels: { metrics: metricsAddress }, ...(reg ? { registry: reg } : {}) });
  const manifests = createManifestParser();
  // Disk usage, retention of finished jobs' files, and team disk quotas.
  const retention = new JobRetention({ store, executor, jobDir: (uid) => isolation.jobDir(uid), queues: () => controller.queues, logger, sweepMs: config.retentionSweepMs });
  retention.start();
  server.add(Jobs, jobsService({ store, controller, executor, gpus, nodeName: config.nodeName, isolation, manifests, metricSeries, retention }));
  server.add(Queues, queuesService({ store, configs: queueConfigs, controller }));
  server.add(Secrets, secretsService({ store: secrets }));
  const address = await server.start();
  logger.info({ gpus: gpus.length, simulated: gpus[0]?.simulated ?? false }, "GPU inventory");
  return {
    service: "jobs",
    address,
    async stop() {
      await server.stop(3000);
      await mesh.close();
      credentials.close();
      await controller.close();
      await manifests.close();
      retention.stop();
      await executor.close();
      await ownRegistry?.close();
      await opened.close();
    },
  };
}
