import { identityEnv, type IdentityEnv } from "@switchyard/mesh";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import type { EdgeLimits } from "./edge-limits.js";

/** The environment variable of each edge limit (defaults and reasons in edge-limits.ts). */
export const EDGE_LIMIT_ENV: Readonly<Record<keyof EdgeLimits, string>> = {
  maxBodyBytes: "SWITCHYARD_MAX_BODY_BYTES",
  firstByteTimeoutMs: "SWITCHYARD_EDGE_FIRST_BYTE_TIMEOUT_MS",
  headersTimeoutMs: "SWITCHYARD_EDGE_HEADERS_TIMEOUT_MS",
  requestTimeoutMs: "SWITCHYARD_EDGE_REQUEST_TIMEOUT_MS",
  keepAliveTimeoutMs: "SWITCHYARD_EDGE_KEEPALIVE_TIMEOUT_MS",
  h2SettingsTimeoutMs: "SWITCHYARD_EDGE_H2_SETTINGS_TIMEOUT_MS",
  h2IdleTimeoutMs: "SWITCHYARD_EDGE_H2_IDLE_TIMEOUT_MS",
  h2MaxConcurrentStreams: "SWITCHYARD_EDGE_H2_MAX_CONCURRENT_STREAMS",
  h2PeerMaxConcurrentStreams: "SWITCHYARD_EDGE_H2_PEER_MAX_CONCURRENT_STREAMS",
  h2MaxSessionMemoryMb: "SWITCHYARD_EDGE_H2_MAX_SESSION_MEMORY_MB",
  maxHeaderBytes: "SWITCHYARD_EDGE_MAX_HEADER_BYTES",
  maxConnectionsPerAddress: "SWITCHYARD_EDGE_MAX_CONNECTIONS_PER_ADDRESS",
  maxConnections: "SWITCHYARD_EDGE_MAX_CONNECTIONS",
  authFailuresPerSecond: "SWITCHYARD_EDGE_AUTH_FAILURES_PER_SECOND",
  closeLingerMs: "SWITCHYARD_EDGE_CLOSE_LINGER_MS",
};

function edgeLimits(env: NodeJS.ProcessEnv): Partial<EdgeLimits> {
  const out: Partial<EdgeLimits> = {};
  for (const [key, name] of Object.entries(EDGE_LIMIT_ENV) as [keyof EdgeLimits, string][]) {
    const raw = env[name];
    if (raw === undefined || raw.trim() === "") continue;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new SwitchyardError(Code.InvalidArgument, `${name}="${raw}" is not a positive integer; unset it for the default`, {
        details: [{ field: name, message: "is not a positive integer", expected: "an integer > 0", got: JSON.stringify(raw) }],
      });
    }
    out[key] = value;
  }
  return out;
}

function auditRetentionDays(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === "") return 90;
  const days = Number(raw);
  if (!Number.isSafeInteger(days) || days < 1 || days > 36_500) {
    throw new SwitchyardError(Code.InvalidArgument, `SWITCHYARD_AUDIT_RETENTION_DAYS="${raw}" is not a number of days from 1 to 36500; unset it for the default (90)`, {
      details: [{ field: "SWITCHYARD_AUDIT_RETENTION_DAYS", message: "is out of range", expected: "an integer from 1 to 36500", got: JSON.stringify(raw) }],
    });
  }
  return days;
}

/** The gateway's configuration: the one place it reads the environment. */
export interface GatewayConfig {
  /** The registry: `etcd://host:port[,…]`, or the control service's `host:port` (the embedded registry). */
  registry: string | undefined;
  host: string;
  port: number;
  /** The platform's private data directory (the CA certificate, the gateway's database, the admin token). */
  dataDir: string;
  /** `<data>/gateway/gateway.db`: users, teams, tokens and the signing key. */
  dbPath: string;
  /** Where the bootstrap admin's token is written (`switchyard up` reads it for the CLI config). */
  adminTokenFile: string;
  logLevel: string;
  /** SWITCHYARD_SANDBOX: `none` says jobs are not sandboxed (as the jobs service reads it). */
  sandbox: "auto" | "none";
  /** The edge's limits set in the environment (EDGE_LIMIT_ENV); the rest keep their defaults. */
  limits: Partial<EdgeLimits>;
  /** OTEL_* (tracing: off unless set), the only part of the environment the mesh runtime sees. */
  otelEnv: Readonly<Record<string, string | undefined>>;
  /** SWITCHYARD_AUDIT_RETENTION_DAYS: how long the audit log keeps an event (default 90). */
  auditRetentionDays: number;
  /** SWITCHYARD_REQUEST_AUTHN_FILE: Istio RequestAuthentication resources naming other token issuers (oidc.ts). */
  requestAuthnFile: string | undefined;
  /** SWITCHYARD_WEB_DIR: the built dashboard (apps/web/dist) to serve at /; `switchyard up` sets it. */
  webDir: string | undefined;
  /** SWITCHYARD_DB: where the service's store is (packages/store `storeOptionsFor`): unset for its SQLite file in the data dir, a postgres:// URL for its schema in that database. */
  db: string | undefined;
  /**
   * TLS at the edge: SWITCHYARD_TLS_CERT and SWITCHYARD_TLS_KEY (PEM files), or SWITCHYARD_TLS=self-signed (a
   * certificate made once for SWITCHYARD_HOST and kept in `<data>/gateway/tls.pem`); none: plaintext (loopback).
   */
  tls: { certFile: string; keyFile: string } | "self-signed" | undefined;
  /** SWITCHYARD_CONTROL: where to enrol with a join token (the CA). */
  control: string | undefined;
  /** The workload identity: trust domain, join token and CA file (mesh identityEnv). */
  identity: IdentityEnv;
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
    limits: edgeLimits(env),
    otelEnv: Object.fromEntries(Object.entries(env).filter(([k]) => k.startsWith("OTEL_"))),
    auditRetentionDays: auditRetentionDays(env.SWITCHYARD_AUDIT_RETENTION_DAYS),
    requestAuthnFile: env.SWITCHYARD_REQUEST_AUTHN_FILE || undefined,
    webDir: env.SWITCHYARD_WEB_DIR || undefined,
    db: env.SWITCHYARD_DB || undefined,
    control: env.SWITCHYARD_CONTROL || undefined,
    tls: tlsOf(env),
    identity: identityEnv(env),
  };
}

function tlsOf(env: NodeJS.ProcessEnv): GatewayConfig["tls"] {
  const cert = env.SWITCHYARD_TLS_CERT || undefined;
  const key = env.SWITCHYARD_TLS_KEY || undefined;
  if (cert !== undefined || key !== undefined) {
    if (cert === undefined || key === undefined) throw new SwitchyardError(Code.InvalidArgument, `TLS at the edge needs both SWITCHYARD_TLS_CERT and SWITCHYARD_TLS_KEY (got only ${cert ? "the certificate" : "the key"})`);
    return { certFile: cert, keyFile: key };
  }
  if (!env.SWITCHYARD_TLS) return undefined;
  if (env.SWITCHYARD_TLS === "self-signed") return "self-signed";
  throw new SwitchyardError(Code.InvalidArgument, `SWITCHYARD_TLS: "${env.SWITCHYARD_TLS.slice(0, 40)}" is not a TLS mode: expected self-signed, or set SWITCHYARD_TLS_CERT and SWITCHYARD_TLS_KEY`);
}
