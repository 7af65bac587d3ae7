import { identityEnv, type IdentityEnv } from "@switchyard/mesh";
import { createHash } from "node:crypto";
import { cpus, homedir, hostname, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { jobPath } from "./job-env.js";

/** The jobs service's configuration: the one place it reads the environment. */
export interface JobsConfig {
  dataDir: string;
  controlAddress: string | undefined;
  /** `etcd://host:port` to discover through etcd instead of the embedded registry in control. */
  registry: string | undefined;
  /** Where the mesh server listens (`SWITCHYARD_MESH_LISTEN`): a Unix socket in the data dir (default) or TCP (meshListen). */
  listen: string | undefined;
  simulateGpus: number | undefined;
  graceMs: number;
  nodeName: string;
  cpuMilli: number;
  memoryMb: number;
  logLevel: string;
  /** `switchyard` (quotas, LAS, backfill, preemption; the default) or `fifo` (priority then FIFO, the first policy). */
  scheduler: "switchyard" | "fifo";
  /** A job runs at least this long before least-attained-service may pause it. */
  minRunTimeMs: number;
  lasThresholdsGpuS: number[] | undefined;
  /** Half-life of the past usage fair share weighs (SWITCHYARD_USAGE_HALF_LIFE_MS; default 7 days, as Slurm's PriorityDecayHalfLife). */
  usageHalfLifeMs: number | undefined;
  /**
   * Where jobs' own directories live (`<jobsDir>/<uid>/{output,checkpoints,home}`, each owned by the job's account):
   * outside the private data dir, on a path the jobs' accounts can enter. Default: /var/lib/switchyard/jobs for root,
   * `$XDG_DATA_HOME/switchyard-jobs` (~/.local/share/switchyard-jobs) otherwise.
   */
  jobsDir: string;
  /**
   * The PATH every replica starts with: the directory of the node the service runs on (unless it is one of npm's
   * folders), then the system's (job-env.ts `jobPath`). Never this process's own PATH.
   */
  jobPath: string;
  /** users.yaml: platform users → Unix accounts (job-users.ts). Default `<data>/users.yaml`; missing: everyone → nobody. */
  usersFile: string;
  /** Paths jobs must not see (sandboxed jobs get an empty directory there): the data dir, the jobs dir (but their own), the CLI config, and SWITCHYARD_HIDE_PATHS. */
  hidePaths: string[];
  /** `auto` (default): bubblewrap when it works here; `none`: never (then, unless root, the platform is single-user). */
  sandbox: "auto" | "none";
  /** How often job files are measured and retention applied (SWITCHYARD_RETENTION_SWEEP_MS, default 60 s). */
  retentionSweepMs: number;
  /** Where replicas run: a registered executor's name (SWITCHYARD_EXECUTOR, default `local`). */
  executor: string;
  /**
   * The Slurm engine's settings (SWITCHYARD_EXECUTOR=slurm): the cluster's SLURM_CONF, the partition
   * (SWITCHYARD_SLURM_PARTITION, default: the cluster's default), and the directory on a file system every node shares
   * where runs keep their scripts, logs and status files (SWITCHYARD_SLURM_RUNS_DIR, default `<jobsDir>/.slurm-runs`:
   * jobs' own directories must be shared too, for SWITCHYARD_OUTPUT_DIR and SWITCHYARD_CHECKPOINT_DIR).
   */
  slurm: { conf: string | undefined; partition: string | undefined; runsDir: string; jobNamePrefix: string };
  /** How often an executor's node inventory (Slurm's nodes) is read again (SWITCHYARD_INVENTORY_REFRESH_MS, default 5 s). */
  inventoryRefreshMs: number | undefined;
  /** SWITCHYARD_DB: where the service's store is (packages/store `storeOptionsFor`): unset for its SQLite file in the data dir, a postgres:// URL for its schema in that database. */
  db: string | undefined;
  /** The OpenTelemetry variables (OTEL_*), for the mesh runtime's tracing. */
  otelEnv: Readonly<Record<string, string | undefined>>;
  /** The workload identity: trust domain, join token and CA file (mesh identityEnv). */
  identity: IdentityEnv;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): JobsConfig {
  const dataDir = resolve(env.SWITCHYARD_DATA_DIR ?? join(process.cwd(), ".switchyard"));
  const root = process.getuid?.() === 0;
  const jobsDir = resolve(env.SWITCHYARD_JOBS_DIR || (root ? "/var/lib/switchyard/jobs" : join(env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "switchyard-jobs")));
  const cliConfigDir = dirname(env.SWITCHYARD_CONFIG ?? join(env.XDG_CONFIG_HOME ?? join(homedir(), ".config"), "switchyard", "config.yaml"));
  const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
  return {
    dataDir,
    controlAddress: env.SWITCHYARD_CONTROL,
    registry: env.SWITCHYARD_REGISTRY || undefined,
    listen: env.SWITCHYARD_MESH_LISTEN,
    simulateGpus: num(env.SWITCHYARD_SIMULATE_GPUS),
    graceMs: num(env.SWITCHYARD_GRACE_MS) ?? 10_000,
    nodeName: env.SWITCHYARD_NODE_NAME ?? hostname(),
    cpuMilli: num(env.SWITCHYARD_CPU_MILLI) ?? cpus().length * 1000,
    memoryMb: num(env.SWITCHYARD_MEMORY_MB) ?? Math.floor(totalmem() / 1024 / 1024),
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
    scheduler: env.SWITCHYARD_SCHEDULER === "fifo" ? "fifo" : "switchyard",
    minRunTimeMs: num(env.SWITCHYARD_MIN_RUN_TIME_MS) ?? 10 * 60_000,
    lasThresholdsGpuS: env.SWITCHYARD_LAS_THRESHOLDS_GPU_S ? env.SWITCHYARD_LAS_THRESHOLDS_GPU_S.split(",").map(Number) : undefined,
    usageHalfLifeMs: num(env.SWITCHYARD_USAGE_HALF_LIFE_MS),
    jobsDir,
    jobPath: jobPath(dirname(process.execPath)),
    usersFile: env.SWITCHYARD_USERS_FILE || join(dataDir, "users.yaml"),
    hidePaths: [dataDir, jobsDir, cliConfigDir, ...(env.SWITCHYARD_HIDE_PATHS ?? "").split(":").filter(Boolean).map((p) => resolve(p))],
    sandbox: env.SWITCHYARD_SANDBOX === "none" ? "none" : "auto",
    retentionSweepMs: num(env.SWITCHYARD_RETENTION_SWEEP_MS) ?? 60_000,
    executor: env.SWITCHYARD_EXECUTOR || "local",
    slurm: {
      conf: env.SLURM_CONF || undefined,
      partition: env.SWITCHYARD_SLURM_PARTITION || undefined,
      runsDir: resolve(env.SWITCHYARD_SLURM_RUNS_DIR || join(jobsDir, ".slurm-runs")),
      // Our allocations are told apart from everyone else's by this prefix of their job names, so it names this
      // platform (its data dir), not just Switchyard: another platform's allocations on the same cluster are busy.
      jobNamePrefix: env.SWITCHYARD_SLURM_JOB_PREFIX || `switchyard-${createHash("sha256").update(dataDir).digest("hex").slice(0, 8)}-`,
    },
    inventoryRefreshMs: num(env.SWITCHYARD_INVENTORY_REFRESH_MS),
    db: env.SWITCHYARD_DB || undefined,
    otelEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("OTEL_"))),
    identity: identityEnv(env),
  };
}
