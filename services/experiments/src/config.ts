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
  store: string;
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
    store: env.SWITCHYARD_STORE || "sqlite",
    otelEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("OTEL_"))),
    identity: identityEnv(env),
    intervalMs: num(env.SWITCHYARD_EXPERIMENTS_INTERVAL_MS),
  };
}
