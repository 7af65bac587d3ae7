import { identityEnv } from "@switchyard/mesh";

/** The control service's configuration: the one place it reads the environment. */
export interface ControlConfig {
  dataDir: string;
  /** Where the mesh server listens (`SWITCHYARD_MESH_LISTEN`): a Unix socket in the data dir (default) or TCP (meshListen). */
  listen: string | undefined;
  logLevel: string;
  /** OTEL_* (tracing: off unless set), the only part of the environment the mesh runtime sees. */
  otelEnv: Readonly<Record<string, string | undefined>>;
  /** SWITCHYARD_DB: where the service's store is (packages/store `storeOptionsFor`): unset for its SQLite file in the data dir, a postgres:// URL for its schema in that database. */
  db: string | undefined;
  /** SWITCHYARD_TRUST_DOMAIN: the SPIFFE trust domain of every workload identity (default switchyard.local). */
  trustDomain: string;
  /** SWITCHYARD_CERT_TTL (`1h`, `30m`): the lifetime of the workload certificates the CA issues (default 1 h). */
  certTtlMs: number;
  /** SWITCHYARD_MESH_MODE (identityEnv). */
  meshMode: "mesh" | "istio";
}

export function loadControlConfig(env: NodeJS.ProcessEnv = process.env): ControlConfig {
  const identity = identityEnv(env);
  return {
    dataDir: env.SWITCHYARD_DATA_DIR ?? ".switchyard",
    listen: env.SWITCHYARD_MESH_LISTEN,
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
    otelEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("OTEL_"))),
    db: env.SWITCHYARD_DB || undefined,
    trustDomain: identity.trustDomain,
    certTtlMs: identity.certTtlMs,
    meshMode: identity.meshMode,
  };
}
