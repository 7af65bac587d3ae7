import { join, resolve } from "node:path";
import { identityEnv, type IdentityEnv } from "@switchyard/mesh";

/** The experiments service's configuration: the one place it reads the environment. */
export interface ExperimentsConfig {
  dataDir: string;
  controlAddress: string | undefined;
  /** `etcd://host:port` to discover through etcd instead of the embedded registry in control. */
  registry: string | undefined;
  /** Where the mesh server listens (SWITCHYARD_MESH_LISTEN; default a Unix socket in the data dir). */
  listen: string | undefined;
  logLevel: string;
  /** SWITCHYARD_DB: where the service's store is (packages/store `storeOptionsFor`): unset for its SQLite file in the data dir, a postgres:// URL for its schema in that database. */
  db: string | undefined;
  otelEnv: Readonly<Record<string, string | undefined>>;
  identity: IdentityEnv;
  /** How often running experiments are looked at when nothing woke the controller (SWITCHYARD_EXPERIMENTS_INTERVAL_MS). */
  intervalMs: number | undefined;
}

export function loadExperimentsConfig(env: NodeJS.ProcessEnv = process.env): ExperimentsConfig {
  const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
  return {
    dataDir: resolve(env.SWITCHYARD_DATA_DIR ?? join(process.cwd(), ".switchyard")),
    controlAddress: env.SWITCHYARD_CONTROL,
    registry: env.SWITCHYARD_REGISTRY || undefined,
    listen: env.SWITCHYARD_MESH_LISTEN,
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
    db: env.SWITCHYARD_DB || undefined,
    otelEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("OTEL_"))),
    identity: identityEnv(env),
    intervalMs: num(env.SWITCHYARD_EXPERIMENTS_INTERVAL_MS),
  };
}
