import { cpus, hostname, totalmem } from "node:os";
import { join } from "node:path";

/** The jobs service's configuration: the one place it reads the environment. */
export interface JobsConfig {
  dataDir: string;
  controlAddress: string | undefined;
  /** `etcd://host:port` to discover through etcd instead of the embedded registry in control. */
  registry: string | undefined;
  host: string;
  port: number;
  simulateGpus: number | undefined;
  graceMs: number;
  nodeName: string;
  cpuMilli: number;
  memoryMb: number;
  crashAt: string | undefined;
  logLevel: string;
  /** `switchyard` (quotas, LAS, backfill, preemption; the default) or `fifo` (priority then FIFO, the first policy). */
  scheduler: "switchyard" | "fifo";
  /** A job runs at least this long before least-attained-service may pause it. */
  minRunTimeMs: number;
  lasThresholdsGpuS: number[] | undefined;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): JobsConfig {
  const dataDir = env.SWITCHYARD_DATA_DIR ?? join(process.cwd(), ".switchyard");
  const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
  return {
    dataDir,
    controlAddress: env.SWITCHYARD_CONTROL,
    registry: env.SWITCHYARD_REGISTRY || undefined,
    host: env.SWITCHYARD_HOST ?? "127.0.0.1",
    port: num(env.SWITCHYARD_PORT) ?? 0,
    simulateGpus: num(env.SWITCHYARD_SIMULATE_GPUS),
    graceMs: num(env.SWITCHYARD_GRACE_MS) ?? 10_000,
    nodeName: env.SWITCHYARD_NODE_NAME ?? hostname(),
    cpuMilli: num(env.SWITCHYARD_CPU_MILLI) ?? cpus().length * 1000,
    memoryMb: num(env.SWITCHYARD_MEMORY_MB) ?? Math.floor(totalmem() / 1024 / 1024),
    crashAt: env.SWITCHYARD_CRASH_AT || undefined,
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
    scheduler: env.SWITCHYARD_SCHEDULER === "fifo" ? "fifo" : "switchyard",
    minRunTimeMs: num(env.SWITCHYARD_MIN_RUN_TIME_MS) ?? 10 * 60_000,
    lasThresholdsGpuS: env.SWITCHYARD_LAS_THRESHOLDS_GPU_S ? env.SWITCHYARD_LAS_THRESHOLDS_GPU_S.split(",").map(Number) : undefined,
  };
}
