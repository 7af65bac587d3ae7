/**
 * One-time join tokens: how a new service instance proves to `control` which platform identity it may have, before it
 * holds any certificate. `switchyard up` mints one per child it starts (SWITCHYARD_JOIN_TOKEN); an operator mints one
 * for a remote host with `switchyard join-token --service jobs`. A token names one service, expires (10 minutes by
 * default), pins the CA by its fingerprint (the new host checks the CA certificate it was handed against it, as
 * kubeadm's discovery hash does), and is used once: `control` records its nonce until it expires.
 *
 * It is an HMAC over those fields with the join key (`<data>/secrets/join.key`, 0600), which only `control`'s host
 * holds: whoever can read that key could mint tokens, exactly as whoever can read the CA key could mint certificates.
 * This module is the package's `./join` sub-path: `switchyard up` mints tokens without loading the mesh.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual, X509Certificate } from "node:crypto";
import { Code, SwitchyardError } from "@switchyard/core";

/** SHA-256 of a certificate's DER, hex: how a join token pins the CA (kubeadm's discovery hash). */
export function certificateFingerprint(pem: string): string {
  return createHash("sha256").update(new X509Certificate(pem).raw).digest("hex");
}

const PREFIX = "syjoin.";
export const DEFAULT_JOIN_TOKEN_TTL_MS = 10 * 60_000;
const MAX_TOKEN_BYTES = 1024;

export interface JoinClaims {
  /** The identity's namespace and account (`system`, `jobs`). */
  readonly namespace: string;
  readonly account: string;
  /** Unique per token: what makes it one-time. */
  readonly nonce: string;
  /** Expiry, ms since the epoch. */
  readonly expiresAtMs: number;
  /** The CA certificate's SHA-256 fingerprint (certificateFingerprint). */
  readonly caFingerprint: string;
}

export function mintJoinToken(key: Buffer, c: { namespace: string; account: string; caFingerprint: string; ttlMs?: number; now?: number }): string {
  const claims: JoinClaims = {
    namespace: c.namespace,
    account: c.account,
    nonce: randomBytes(16).toString("base64url"),
    expiresAtMs: (c.now ?? Date.now()) + (c.ttlMs ?? DEFAULT_JOIN_TOKEN_TTL_MS),
    caFingerprint: c.caFingerprint,
  };
  const body = Buffer.from(JSON.stringify(claims)).toString("base64url");
  return `${PREFIX}${body}.${sign(key, body)}`;
}

function sign(key: Buffer, body: string): string {
  return createHmac("sha256", key).update(`switchyard-join:${body}`).digest("base64url");
}

/** The claims of a token this key signed; INVALID_ARGUMENT when it is malformed, UNAUTHENTICATED when forged or expired. */
export function verifyJoinToken(key: Buffer, token: string, now = Date.now()): JoinClaims {
  const fields = readJoinToken(token);
  const want = Buffer.from(sign(key, fields.body));
  const got = Buffer.from(fields.mac);
  if (got.length !== want.length || !timingSafeEqual(got, want)) throw new SwitchyardError(Code.Unauthenticated, "the join token was not made by this platform's control (its signature does not match): mint one with `switchyard join-token` on control's host");
  if (fields.claims.expiresAtMs <= now) throw new SwitchyardError(Code.Unauthenticated, `the join token expired at ${new Date(fields.claims.expiresAtMs).toISOString()}: mint a new one`);
  return fields.claims;
}

/** A token's claims without checking its signature (what a joining host reads: the CA fingerprint to pin). */
export function readJoinToken(token: string): { claims: JoinClaims; body: string; mac: string } {
  const bad = (why: string) => new SwitchyardError(Code.InvalidArgument, `not a join token (${why}): expected ${PREFIX}<claims>.<signature> as \`switchyard join-token\` prints it`);
  if (token.length > MAX_TOKEN_BYTES) throw bad(`${token.length} bytes`);
  if (!token.startsWith(PREFIX)) throw bad(`no ${PREFIX} prefix`);
  const [body, mac, ...rest] = token.slice(PREFIX.length).split(".");
  if (!body || !mac || rest.length > 0) throw bad("two dot-separated parts after the prefix");
  let c: Partial<JoinClaims>;
  try {
    c = JSON.parse(Buffer.from(body, "base64url").toString("utf8")) as Partial<JoinClaims>;
  } catch {
    throw bad("its claims are not JSON");
  }
  if (typeof c !== "object" || c === null || typeof c.namespace !== "string" || typeof c.account !== "string" || typeof c.nonce !== "string" || typeof c.expiresAtMs !== "number" || typeof c.caFingerprint !== "string") throw bad("missing claims");
  return { claims: c as JoinClaims, body, mac };
}
