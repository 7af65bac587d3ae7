/**
 * The end user's identity inside the mesh: a short-lived JWT (ES256) that the gateway mints from a verified edge token,
 * signed with its own workload key and carrying its certificate (`x5c`), audience-bound to the one service it is sent
 * to. Every server verifies it against the platform CA — certificate chain, validity, the issuer's SPIFFE id, the
 * signature, the audience (its own id) and the expiry — before a handler runs (server-chain.ts), so a user's identity is
 * never a plain header: a token replayed to another service, expired, or minted by anything but a workload of the CA
 * is refused. Whether the issuer may speak for users at all is the callee's decision (identity.ts USER_DELEGATES).
 *
 * node:crypto signs and verifies synchronously (the server chain checks the token in the same turn as the certificate);
 * jose's API is asynchronous only, so this small compact-JWS codec is our own. Minted tokens are cached per user and
 * audience until a minute before they expire, verified ones until they expire: a steady caller pays one signature a few
 * minutes, a server one verification per token.
 *
 * **On behalf of.** A service that acts for users under grants (grants.ts) may, while it handles a user's call, pass
 * the user on to another service: its token then carries the gateway's token it received (`obo`, whose audience is
 * that service), so the callee sees the gateway's proof that the user is calling right now — the user, teams and role
 * are the gateway's, not the delegate's. One level only: a token inside a token carries none itself.
 */
import { createPrivateKey, sign, verify, X509Certificate, type KeyObject } from "node:crypto";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Grant } from "./grants.js";
import { parseSpiffeId, spiffeIdOfSan } from "./spiffe.js";

export const USER_TOKEN_HEADER = "x-switchyard-user-token";
export type UserRole = "admin" | "member" | "viewer";

/** A user as a verified edge token named them. */
export interface EndUser {
  readonly user: string;
  readonly teams: readonly string[];
  readonly role: UserRole;
}

/** What a server knows from a verified user token: the user, and the workload that vouched for them. */
export interface VerifiedUser extends EndUser {
  /** The issuer's SPIFFE id (the gateway's). */
  readonly issuer: string;
  readonly expiresAtMs: number;
  /** The token itself, to pass on "on behalf of" the user (never logged). */
  readonly token?: string;
  /** Set when the token carries the gateway's proof that the user is calling now: the gateway's SPIFFE id. */
  readonly onBehalfOf?: string;
  /**
   * For a token minted by a grant delegate without such a proof (grants.ts): the user's live grants to that
   * delegate, or why they are not known here. Set by the server chain per call (a grant can be revoked any time).
   */
  readonly delegation?: { readonly grants: readonly Grant[] } | { readonly unavailable: string };
}

const TOKEN_TTL_MS = 5 * 60_000;
const REMINT_BEFORE_MS = 60_000;
const MAX_TOKEN_BYTES = 8192;
const CLOCK_SKEW_MS = 60_000;
const CACHE_LIMIT = 10_000;

const b64 = (x: string | Buffer) => Buffer.from(x).toString("base64url");

/** What a minter needs of its workload: its id, its current certificate and key (rotated underneath). */
export interface SigningWorkload {
  readonly id: string | undefined;
  readonly certPem: string;
  readonly keyPem: string;
}

export class UserTokenMinter {
  private readonly cache = new Map<string, { token: string; renewAtMs: number }>();
  private key: { pem: string; key: KeyObject; x5c: string } | undefined;

  constructor(private readonly workload: SigningWorkload) {}

  /**
   * A token for `user`, audience `audience` (the callee's SPIFFE id). `onBehalfOf`: the user token this workload
   * received in the call it is handling, carried inside as the proof that the user is calling now.
   */
  token(user: EndUser, audience: string, now = Date.now(), onBehalfOf?: string): string {
    const cacheKey = `${audience}\u0000${user.user}\u0000${user.role}\u0000${user.teams.join(",")}\u0000${onBehalfOf ?? ""}`;
    const hit = this.cache.get(cacheKey);
    if (hit !== undefined && hit.renewAtMs > now && this.key?.pem === this.workload.keyPem) return hit.token;
    const issuer = this.workload.id;
    if (issuer === undefined) throw new SwitchyardError(Code.FailedPrecondition, "a workload without a certificate cannot vouch for a user");
    const k = this.signingKey();
    const header = b64(JSON.stringify({ alg: "ES256", typ: "JWT", x5c: [k.x5c] }));
    const iat = Math.floor(now / 1000);
    // With a proof, the proof's teams are the ones believed: they are not repeated (a user of many teams would not fit).
    const payload = b64(JSON.stringify({ iss: issuer, sub: user.user, aud: audience, teams: onBehalfOf !== undefined ? [] : user.teams, role: user.role, iat, exp: iat + TOKEN_TTL_MS / 1000, ...(onBehalfOf !== undefined ? { obo: onBehalfOf } : {}) }));
    const input = `${header}.${payload}`;
    const token = `${input}.${b64(sign("sha256", Buffer.from(input), { key: k.key, dsaEncoding: "ieee-p1363" }))}`;
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(cacheKey, { token, renewAtMs: now + TOKEN_TTL_MS - REMINT_BEFORE_MS });
    return token;
  }

  private signingKey(): { pem: string; key: KeyObject; x5c: string } {
    const pem = this.workload.keyPem;
    if (this.key?.pem !== pem) {
      this.key = { pem, key: createPrivateKey(pem), x5c: new X509Certificate(this.workload.certPem).raw.toString("base64") };
      this.cache.clear();
    }
    return this.key;
  }
}

/**
 * Verifies user tokens for one audience against the CA of `caPem()` (read at each new certificate: it may rotate). A
 * token carries its issuer's certificate alone (x5c: one certificate, so that a token passed on inside another stays
 * small); one issued by an intermediate of the CA is verified with the intermediates `intermediates()` gives — the
 * verifier's own chain's, which with one `control` is the intermediate every workload's certificate comes from.
 */
export class UserTokenVerifier {
  private readonly tokens = new Map<string, VerifiedUser>();
  private readonly certs = new Map<string, { key: KeyObject; id: string; notAfterMs: number; notBeforeMs: number; caPem: string }>();

  constructor(
    private readonly trustDomain: string,
    private readonly caPem: () => string,
    private readonly intermediates: () => readonly string[] = () => [],
  ) {}

  verify(token: string, audience: string, now = Date.now()): VerifiedUser {
    // Keyed by audience and token: a token verified for one audience says nothing about another.
    const key = `${audience}\u0000${token}`;
    const hit = this.tokens.get(key);
    if (hit !== undefined && hit.expiresAtMs > now) return hit;
    const v = this.check(token, audience, now);
    if (this.tokens.size >= CACHE_LIMIT) this.tokens.clear();
    this.tokens.set(key, v);
    return v;
  }

  private check(token: string, audience: string, now: number, inner = false): VerifiedUser {
    const bad = (why: string) => new SwitchyardError(Code.Unauthenticated, `the call's ${inner ? "on-behalf-of " : ""}user token is not valid: ${why}`);
    if (token.length > (inner ? MAX_TOKEN_BYTES / 2 : MAX_TOKEN_BYTES)) throw bad(`${token.length} bytes`);
    const parts = token.split(".");
    if (parts.length !== 3) throw bad("not a compact JWT");
    const [h, p, s] = parts as [string, string, string];
    let header: { alg?: unknown; x5c?: unknown };
    let claims: { iss?: unknown; sub?: unknown; aud?: unknown; teams?: unknown; role?: unknown; iat?: unknown; exp?: unknown; obo?: unknown };
    try {
      header = JSON.parse(Buffer.from(h, "base64url").toString("utf8")) as typeof header;
      claims = JSON.parse(Buffer.from(p, "base64url").toString("utf8")) as typeof claims;
    } catch {
      throw bad("its header or claims are not JSON");
    }
    if (header.alg !== "ES256") throw bad(`algorithm ${String(header.alg)}, expected ES256`);
    if (!Array.isArray(header.x5c) || typeof header.x5c[0] !== "string") throw bad("no issuer certificate (x5c)");
    const cert = this.certificate(header.x5c[0], now);
    if (!verify("sha256", Buffer.from(`${h}.${p}`), { key: cert.key, dsaEncoding: "ieee-p1363" }, Buffer.from(s, "base64url"))) throw bad("its signature does not verify");
    if (claims.iss !== cert.id) throw bad(`issuer ${String(claims.iss)} is not the certificate's ${cert.id}`);
    if (claims.aud !== audience) throw bad(`it was minted for ${String(claims.aud)}, not for ${audience}`);
    if (typeof claims.exp !== "number" || typeof claims.iat !== "number") throw bad("no iat/exp");
    const expMs = claims.exp * 1000;
    if (expMs <= now) throw bad(`it expired at ${new Date(expMs).toISOString()}`);
    if (claims.iat * 1000 > now + CLOCK_SKEW_MS || expMs - claims.iat * 1000 > 2 * TOKEN_TTL_MS) throw bad("its lifetime is not that of a user token");
    const role = claims.role;
    if (typeof claims.sub !== "string" || claims.sub === "" || (role !== "admin" && role !== "member" && role !== "viewer")) throw bad("no user or role");
    if (!Array.isArray(claims.teams) || !claims.teams.every((t) => typeof t === "string")) throw bad("teams are not a list of names");
    const expiresAtMs = Math.min(expMs, cert.notAfterMs);
    if (claims.obo !== undefined) {
      if (inner) throw bad("it carries another token inside the one it is carried in (one level only)");
      if (typeof claims.obo !== "string") throw bad("obo is not a token");
      // The proof: a token the caller received, for the caller (its audience is this token's issuer), of the same user.
      const proof = this.check(claims.obo, cert.id, now, true);
      if (proof.user !== claims.sub) throw bad(`it speaks for ${claims.sub} with a proof for ${proof.user}`);
      return { user: proof.user, teams: proof.teams, role: proof.role, issuer: cert.id, expiresAtMs: Math.min(expiresAtMs, proof.expiresAtMs), token, onBehalfOf: proof.issuer };
    }
    return { user: claims.sub, teams: claims.teams as string[], role, issuer: cert.id, expiresAtMs, token };
  }

  /** The issuer's certificate, checked once: signed by the CA, valid now, one SPIFFE id of the trust domain. */
  private certificate(x5c: string, now: number) {
    const caPem = this.caPem();
    const cached = this.certs.get(x5c);
    if (cached !== undefined && cached.caPem === caPem && cached.notAfterMs > now && cached.notBeforeMs <= now) return cached;
    const bad = (why: string) => new SwitchyardError(Code.Unauthenticated, `the call's user token is not valid: its issuer certificate ${why}`);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(Buffer.from(x5c, "base64"));
    } catch {
      throw bad("is not an X.509 certificate");
    }
    const root = new X509Certificate(caPem);
    let issuerNotAfterMs = Infinity;
    if (cert.ca) throw bad("is a CA's, not a workload's");
    if (!cert.verify(root.publicKey)) {
      // Issued by an intermediate: one the root signed, valid now, that signed this certificate.
      const by = this.intermediates()
        .map((pem) => new X509Certificate(pem))
        .find((i) => i.ca && i.verify(root.publicKey) && Date.parse(i.validFrom) <= now && now < Date.parse(i.validTo) && cert.verify(i.publicKey));
      if (by === undefined) throw bad("was not issued by the platform CA");
      issuerNotAfterMs = Date.parse(by.validTo);
    }
    const notBeforeMs = Date.parse(cert.validFrom);
    const notAfterMs = Math.min(Date.parse(cert.validTo), issuerNotAfterMs);
    if (!(notBeforeMs <= now && now < notAfterMs)) throw bad(`is not valid now (${cert.validFrom} – ${cert.validTo})`);
    const id = spiffeIdOfSan(cert.subjectAltName);
    if (id === undefined || parseSpiffeId(id)?.trustDomain !== this.trustDomain) throw bad(`names no workload of ${this.trustDomain}`);
    const entry = { key: cert.publicKey, id, notAfterMs, notBeforeMs, caPem };
    if (this.certs.size >= 1000) this.certs.clear();
    this.certs.set(x5c, entry);
    return entry;
  }
}

/** A verifier for the tokens sent to `workload`: its trust bundle, and the intermediates of its own chain. */
export function verifierFor(workload: { readonly trustDomain: string; readonly caPem: string; readonly certPem: string }): UserTokenVerifier {
  return new UserTokenVerifier(workload.trustDomain, () => workload.caPem, () => (workload.certPem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []).slice(1));
}
