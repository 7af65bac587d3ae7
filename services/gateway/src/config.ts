import { join } from "node:path";

/** The gateway's configuration: the one place it reads the environment. */
export interface GatewayConfig {
  controlAddress: string;
  host: string;
  port: number;
  /** `<data>/gateway/gateway.db`: users, teams, tokens and the signing key. */
  dbPath: string;
  /** Where the bootstrap admin's token is written (`switchyard up` reads it for the CLI config). */
  adminTokenFile: string;
  logLevel: string;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatewayConfig {
  const controlAddress = env.SWITCHYARD_CONTROL;
  if (!controlAddress) throw new Error("SWITCHYARD_CONTROL (host:port of the control service) is required");
  const dataDir = env.SWITCHYARD_DATA_DIR ?? join(process.cwd(), ".switchyard");
  return {
    controlAddress,
    host: env.SWITCHYARD_HOST ?? "127.0.0.1",
    port: Number(env.SWITCHYARD_PORT ?? 8080),
    dbPath: join(dataDir, "gateway", "gateway.db"),
    adminTokenFile: env.SWITCHYARD_ADMIN_TOKEN_FILE ?? join(dataDir, "admin-token"),
    logLevel: env.SWITCHYARD_LOG_LEVEL ?? "info",
  };
}
