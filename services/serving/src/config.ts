import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { identityEnv, type IdentityEnv } from "@switchyard/mesh";

/** The serving service's configuration: the one place it reads the environment. */
export interface ServingConfig {
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
  /** How a replica starts the model server: node (this one) and its entry (SWITCHYARD_MODEL_SERVER: a path). */
  modelServer: readonly string[];
  /** The largest model file taken (SWITCHYARD_MAX_MODEL_BYTES). */
  maxModelBytes: number | undefined;
  /** Autoscaler windows and drain times (SWITCHYARD_SERVING_*_MS), for operators and tests. */
  stableWindowMs: number | undefined;
  panicWindowMs: number | undefined;
  scaleDownDelayMs: number | undefined;
  scaleToZeroGraceMs: number | undefined;
  drainMs: number | undefined;
  policySettleMs: number | undefined;
}

export function loadServingConfig(env: NodeJS.ProcessEnv = process.env): ServingConfig {
  const num = (v: string | undefined) => (v === undefined || v === "" ? undefined : Number(v));
  const entry = env.SWITCHYARD_MODEL_SERVER || defaultModelServer();
  return {
    dataDir: resolve(env.SWITCHYARD_DATA_DIR ?? join(process.cwd(), ".switchyard")),
    controlAddress: env.SWITCHYARD_CONTROL,
    registry: env.SWITCHYARD_REGISTRY || undefined,
    listen: env.SWITCHYARD_MESH_LISTEN,
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
    db: env.SWITCHYARD_DB || undefined,
    otelEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("OTEL_"))),
    identity: identityEnv(env),
    modelServer: [process.execPath, entry],
    maxModelBytes: num(env.SWITCHYARD_MAX_MODEL_BYTES),
    stableWindowMs: num(env.SWITCHYARD_SERVING_STABLE_WINDOW_MS),
    panicWindowMs: num(env.SWITCHYARD_SERVING_PANIC_WINDOW_MS),
    scaleDownDelayMs: num(env.SWITCHYARD_SERVING_SCALE_DOWN_DELAY_MS),
    scaleToZeroGraceMs: num(env.SWITCHYARD_SERVING_SCALE_TO_ZERO_GRACE_MS),
    drainMs: num(env.SWITCHYARD_SERVING_DRAIN_MS),
    policySettleMs: num(env.SWITCHYARD_SERVING_POLICY_SETTLE_MS),
  };
}

/** The model server's bundle, found the way Node finds the package (`@switchyard/model-server/main`). */
function defaultModelServer(): string {
  return createRequire(import.meta.url).resolve("@switchyard/model-server/main");
}
