/**
 * How a platform service gets its workload identity (credentials.ts):
 * - `control` holds the CA (`<data>/secrets/ca.pem`) and issues its own certificate (localIdentity);
 * - a service started by `switchyard up`, or on another host, is handed a one-time join token and the CA certificate,
 *   and enrols with control's Identity service (enrollIdentity), then renews over mutual TLS with the certificate it has;
 * - a process of the platform's user on control's host with no token (a service started by hand with the data dir, a
 *   test acting as a platform service) issues from the data dir's CA, as control does: reading that file is exactly
 *   the right to mint identities.
 */
import { readFileSync } from "node:fs";
import { Identity } from "@switchyard/api";
import { Code, parseDurationMs, SwitchyardError, type Logger } from "@switchyard/core";
import { createClient } from "./client.js";
import { bootstrapCredentials, WorkloadIdentity } from "./credentials.js";
import { certificateFingerprint, readJoinToken } from "./join-token.js";
import type { CertificateAuthority } from "./pki.js";
import { DEFAULT_TRUST_DOMAIN, serviceId, spiffeId } from "./spiffe.js";
import { caPaths, createCsr, generateWorkloadKey } from "./workload-key.js";
import { createMeshRuntime } from "./runtime.js";
import type { MeshClient } from "./types.js";

/** Workload certificates live an hour by default and are renewed at about half of it. */
export const DEFAULT_CERT_TTL_MS = 3600_000;

/** SWITCHYARD_CERT_TTL: a duration from 10 s to 30 days (`1h`, `30m`); unset: an hour. */
export function parseCertTtl(value: string | undefined): number {
  if (!value) return DEFAULT_CERT_TTL_MS;
  const ms = parseDurationMs(value);
  if (ms === undefined || ms < 10_000 || ms > 30 * 86_400_000) throw new SwitchyardError(Code.InvalidArgument, `SWITCHYARD_CERT_TTL: "${value.slice(0, 40)}" is not a certificate lifetime: expected a duration from 10s to 30d, e.g. 1h`);
  return ms;
}

/** A certificate for `id` made by a CA this process holds, renewed by the same CA. */
export async function localIdentity(ca: CertificateAuthority, id: string, o: { ttlMs?: number; logger?: Logger } = {}): Promise<WorkloadIdentity> {
  const ttl = o.ttlMs ?? DEFAULT_CERT_TTL_MS;
  return new WorkloadIdentity({
    id,
    trustDomain: ca.trustDomain,
    issued: await ca.issueWorkload(id, ttl),
    renew: (csr) => ca.issue(csr, id, ttl),
    ...(o.logger ? { logger: o.logger } : {}),
  });
}

/** What a service's config reads for its identity (each service's config.ts calls this with its environment). */
export interface IdentityEnv {
  /** SWITCHYARD_TRUST_DOMAIN (default switchyard.local). */
  trustDomain: string;
  /** SWITCHYARD_CERT_TTL: the lifetime of the certificates control's CA issues. */
  certTtlMs: number;
  /** SWITCHYARD_JOIN_TOKEN: a one-time token to enrol with (`switchyard up` hands each child one). */
  joinToken: string | undefined;
  /** SWITCHYARD_CA_FILE: the CA certificate to trust (default `<data>/secrets/ca.crt`). */
  caFile: string | undefined;
  /** SWITCHYARD_MESH_MODE: `mesh` (default) or `istio` (a sidecar does mTLS, retries and ejection; runtime.ts). */
  meshMode: "mesh" | "istio";
}

export function identityEnv(env: Readonly<Record<string, string | undefined>>): IdentityEnv {
  return {
    trustDomain: env.SWITCHYARD_TRUST_DOMAIN || DEFAULT_TRUST_DOMAIN,
    certTtlMs: parseCertTtl(env.SWITCHYARD_CERT_TTL),
    joinToken: env.SWITCHYARD_JOIN_TOKEN || undefined,
    caFile: env.SWITCHYARD_CA_FILE || undefined,
    meshMode: meshModeOf(env.SWITCHYARD_MESH_MODE),
  };
}

function meshModeOf(v: string | undefined): "mesh" | "istio" {
  if (!v || v === "mesh") return "mesh";
  if (v === "istio") return "istio";
  throw new SwitchyardError(Code.InvalidArgument, `SWITCHYARD_MESH_MODE: "${v.slice(0, 40)}" is not a mesh mode: expected mesh (the default: the platform's own mTLS, retries and ejection) or istio (an Istio sidecar does them)`);
}

/**
 * The identity of `service` issued from the data dir's CA, usable at once (connections wait for the certificate):
 * for a process of the platform's user that holds the data dir — a service without a join token, a test acting as a
 * platform service.
 */
export function dataDirIdentity(dataDir: string, service: string, o: { trustDomain?: string; ttlMs?: number; logger?: Logger } = {}): WorkloadIdentity {
  const trustDomain = o.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const id = serviceId(trustDomain, service);
  const ttl = o.ttlMs ?? DEFAULT_CERT_TTL_MS;
  // The CA module (an X.509 library, several MB) loads only here, in a process that holds the CA file.
  const ca = import("./pki.js").then((m) => m.loadOrCreateCa(dataDir, trustDomain));
  return new WorkloadIdentity({
    id,
    trustDomain,
    issued: ca.then((c) => c.issueWorkload(id, ttl)),
    renew: async (csr) => (await ca).issue(csr, id, ttl),
    ...(o.logger ? { logger: o.logger } : {}),
  });
}

export interface EnrollOptions {
  /** control's address (`unix:/path` or `host:port`). */
  control: string;
  joinToken: string;
  /** The CA certificate (PEM) the token's fingerprint must match. */
  caPem: string;
  trustDomain?: string;
  /** What to do when the certificate expired and cannot be renewed (WorkloadIdentityOptions.onExpired). */
  onExpired?: () => void;
  /** `istio`: the enrolment goes in plaintext to the local sidecar, which does mTLS. */
  meshMode?: "mesh" | "istio";
  logger?: Logger;
}

/** Enrols with control's CA with a join token, and renews there (mutual TLS) before each certificate expires. */
export async function enrollIdentity(o: EnrollOptions): Promise<WorkloadIdentity> {
  const trustDomain = o.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const { claims } = readJoinToken(o.joinToken);
  if (certificateFingerprint(o.caPem) !== claims.caFingerprint) {
    throw new SwitchyardError(Code.FailedPrecondition, "the CA certificate given to this host is not the one the join token was minted for: copy control's <data>/secrets/ca.crt again (or mint a new token there)");
  }
  const id = spiffeId(trustDomain, claims.namespace, claims.account);
  const controlId = serviceId(trustDomain, "control");
  const key = generateWorkloadKey();
  const bootstrap = createClient(Identity, { target: o.control, peer: controlId, defaultTimeoutMs: 15_000, runtime: createMeshRuntime({ credentials: bootstrapCredentials(o.caPem, trustDomain), mode: o.meshMode ?? "mesh" }) });
  let first;
  try {
    first = await bootstrap.enroll({ joinToken: o.joinToken, csrPem: createCsr(key, id) });
  } finally {
    bootstrap.close();
  }
  let renewer: MeshClient<typeof Identity> | undefined;
  const identity: WorkloadIdentity = new WorkloadIdentity({
    id,
    trustDomain,
    issued: { certPem: first.certificatePem, caPem: first.caPem, notAfterMs: Number(first.notAfterMs), keyPem: key.keyPem },
    async renew(csrPem) {
      renewer ??= createClient(Identity, { target: o.control, peer: controlId, defaultTimeoutMs: 15_000, runtime: createMeshRuntime({ credentials: identity, mode: o.meshMode ?? "mesh" }) });
      const r = await renewer.renew({ csrPem });
      return { certPem: r.certificatePem, caPem: r.caPem, notAfterMs: Number(r.notAfterMs) };
    },
    onClose: () => renewer?.close(),
    ...(o.onExpired ? { onExpired: o.onExpired } : {}),
    ...(o.logger ? { logger: o.logger } : {}),
  });
  return identity;
}

export interface PlatformIdentityOptions extends Partial<IdentityEnv> {
  service: string;
  dataDir: string;
  /** An enrolled identity whose certificate expired unrenewed: what the service does (stop, to be enrolled again). */
  onExpired?: () => void;
  /** control's address; with a join token, where to enrol. */
  control?: string | undefined;
  logger?: Logger;
}

/** A platform service's identity: enrolled with a join token when it has one, else issued from the data dir's CA. */
export async function platformIdentity(o: PlatformIdentityOptions): Promise<WorkloadIdentity> {
  const trustDomain = o.trustDomain ?? DEFAULT_TRUST_DOMAIN;
  const logger = o.logger ? { logger: o.logger } : {};
  if (o.joinToken) {
    if (!o.control) throw new SwitchyardError(Code.FailedPrecondition, "a join token needs control's address (SWITCHYARD_CONTROL) to enrol with");
    const caFile = o.caFile ?? caPaths(o.dataDir).cert;
    let caPem: string;
    try {
      caPem = readFileSync(caFile, "utf8");
    } catch (err) {
      throw new SwitchyardError(Code.FailedPrecondition, `cannot read the CA certificate ${caFile} (SWITCHYARD_CA_FILE): ${(err as Error).message}; copy it from control's <data>/secrets/ca.crt`);
    }
    const { claims } = readJoinToken(o.joinToken);
    const expected = serviceId(trustDomain, o.service);
    const named = spiffeId(trustDomain, claims.namespace, claims.account);
    if (named !== expected) throw new SwitchyardError(Code.FailedPrecondition, `the join token is for ${named}, but this is ${o.service} (${expected}): mint one with \`switchyard join-token --service ${o.service}\``);
    return enrollIdentity({ control: o.control, joinToken: o.joinToken, caPem, trustDomain, ...(o.meshMode ? { meshMode: o.meshMode } : {}), ...(o.onExpired ? { onExpired: o.onExpired } : {}), ...logger });
  }
  const identity = dataDirIdentity(o.dataDir, o.service, { trustDomain, ...(o.certTtlMs !== undefined ? { ttlMs: o.certTtlMs } : {}), ...logger });
  await identity.ready;
  return identity;
}
