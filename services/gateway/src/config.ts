import { join } from "node:path";

/** The gateway's configuration: the one place it reads the environment. */
export interface GatewayConfig {
  /** The registry: `etcd://host:port[,…]`, or the control service's `host:port` (the embedded registry). */
  registry: string | undefined;
  host: string;
  port: number;
  /** The platform's private data directory (the service key, the gateway's database, the admin token). */
  dataDir: string;
  /** `<data>/gateway/gateway.db`: users, teams, tokens and the signing key. */
  dbPath: string;
  /** Where the bootstrap admin's token is written (`switchyard up` reads it for the CLI config). */
  adminTokenFile: string;
  logLevel: string;
  /** SWITCHYARD_SANDBOX: `none` says jobs are not sandboxed (as the jobs service reads it). */
  sandbox: "auto" | "none";
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const dataDir = env.SWITCHYARD_DATA_DIR ?? join(process.cwd(), ".switchyard");
  return {
    registry: env.SWITCHYARD_REGISTRY || env.SWITCHYARD_CONTROL || undefined,
    host: env.SWITCHYARD_HOST ?? "127.0.0.1",
    port: Number(env.SWITCHYARD_PORT ?? 8080),
    dataDir,
    dbPath: join(dataDir, "gateway", "gateway.db"),
    adminTokenFile: env.SWITCHYARD_ADMIN_TOKEN_FILE ?? join(dataDir, "admin-token"),
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
    sandbox: env.SWITCHYARD_SANDBOX === "none" ? "none" : "auto",
  };
}
