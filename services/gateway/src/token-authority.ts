import { randomBytes } from "node:crypto";
import { SignJWT, decodeJwt, errors as joseErrors, jwtVerify } from "jose";
import { Code, SwitchyardError, systemClock, type Clock } from "@switchyard/core";
import { isRole, type Identity, type Role } from "./identity.js";
import type { TokenRow, TokenStore } from "./token-store.js";

/** Tokens are `sy_` + a JWT: the prefix lets secret scanners recognise them; the gateway accepts either form. */
export const TOKEN_PREFIX = "sy_";
/** The `iss` of the platform's own tokens (no RequestAuthentication rule may claim it: oidc.ts). */
export const ISSUER = "switchyard";
const AUDIENCE = "switchyard";
const DAY_MS = 86_400_000;

export interface TokenAuthorityOptions {
  store: TokenStore;
  clock?: Clock;
  /** Lifetime of a token when the request names none (default 30 days). */
  defaultTtlMs?: number;
  /** The longest lifetime allowed (default 400 days). */
  maxTtlMs?: number;
  /** Verified tokens kept in memory (default 10,000). */
  cacheSize?: number;
}

export interface IssueInput {
  user: string;
  teams: readonly string[];
  role: Role;
  ttlMs?: number;
  description?: string;
  issuedBy: string;
}

function unauthenticated(message: string): SwitchyardError {
  return new SwitchyardError(Code.Unauthenticated, message);
}

/**
 * A token's id: 16 base64url characters that never begin with `-`, so that `switchyard token revoke <id>` cannot read
 * an id as an option (one id in 64 did).
 */
export function newTokenId(): string {
  for (;;) {
    const id = randomBytes(12).toString("base64url");
    if (!id.startsWith("-")) return id;
  }
}

/**
 * Issues and verifies the platform's tokens: HS256 JWTs (jose) signed with a key kept in the gateway's database.
 * Verification is cached by token text, so a repeated token costs a map lookup, an expiry comparison and a check
 * against the in-memory set of revoked ids (revocation goes through this object, which updates that set first).
 */
export class TokenAuthority {
  private readonly cache = new Map<string, Identity>();
  private readonly revoked = new Set<string>();
  private readonly clock: Clock;
  private readonly defaultTtlMs: number;
  private readonly maxTtlMs: number;
  private readonly cacheSize: number;

  private constructor(
    private readonly store: TokenStore,
    private readonly key: { kid: string; secret: Uint8Array },
    o: TokenAuthorityOptions,
  ) {
    this.clock = o.clock ?? systemClock;
    this.defaultTtlMs = o.defaultTtlMs ?? 30 * DAY_MS;
    this.maxTtlMs = o.maxTtlMs ?? 400 * DAY_MS;
    this.cacheSize = o.cacheSize ?? 10_000;
  }

  /** Loads the signing key (creating it on first start) and the ids of revoked tokens that have not expired. */
  static async open(o: TokenAuthorityOptions): Promise<TokenAuthority> {
    const now = (o.clock ?? systemClock).now();
    let key = await o.store.signingKey();
    if (!key) {
      await o.store.addSigningKey(`k${now.toString(36)}`, randomBytes(32).toString("base64url"), now);
      key = (await o.store.signingKey())!;
    }
    const authority = new TokenAuthority(o.store, { kid: key.kid, secret: Buffer.from(key.secret, "base64url") }, o);
    for (const jti of await o.store.revokedUnexpired(now)) authority.revoked.add(jti);
    return authority;
  }

  get maxTtlSeconds(): number {
    return Math.floor(this.maxTtlMs / 1000);
  }

  /** Signs a token and records it (its id and claims, never its text). */
  async issue(input: IssueInput): Promise<{ token: string; row: TokenRow }> {
    const ttlMs = input.ttlMs ?? this.defaultTtlMs;
    const now = this.clock.now();
    const jti = newTokenId();
    const issuedAt = Math.floor(now / 1000);
    // Whole seconds, as JWT's NumericDate: the recorded expiry is the one the token carries.
    const expSeconds = Math.floor((now + ttlMs) / 1000);
    const jwt = await new SignJWT({ teams: [...input.teams], role: input.role })
      .setProtectedHeader({ alg: "HS256", kid: this.key.kid, typ: "JWT" })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject(input.user)
      .setJti(jti)
      .setIssuedAt(issuedAt)
      .setExpirationTime(expSeconds)
      .sign(this.key.secret);
    const row: TokenRow = {
      jti,
      user: input.user,
      teams: JSON.stringify(input.teams),
      role: input.role,
      issued_at: now,
      expires_at: expSeconds * 1000,
      revoked_at: null,
      description: input.description ?? "",
      issued_by: input.issuedBy,
    };
    await this.store.insertToken(row);
    return { token: TOKEN_PREFIX + jwt, row };
  }

  /**
   * The identity a token stands for, or UNAUTHENTICATED saying why not (malformed, bad signature, expired, revoked).
   * Returns synchronously when the token was verified before (the hot path); a promise the first time.
   */
  verify(token: string): Identity | Promise<Identity> {
    const hit = this.cache.get(token);
    if (hit !== undefined) return this.stillValid(token, hit);
    return this.verifySlow(token);
  }

  private stillValid(token: string, id: Identity): Identity {
    if (this.clock.now() >= id.expiresAtMs) {
      this.cache.delete(token);
      throw unauthenticated(`token expired at ${new Date(id.expiresAtMs).toISOString()}: ask an admin for a new one (\`switchyard token create\`), or run \`switchyard up\` again for the bootstrap admin's`);
    }
    if (this.revoked.has(id.tokenId)) throw unauthenticated(`token ${id.tokenId} has been revoked: ask an admin for a new one`);
    return id;
  }

  private async verifySlow(token: string): Promise<Identity> {
    const jwt = token.startsWith(TOKEN_PREFIX) ? token.slice(TOKEN_PREFIX.length) : token;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(jwt, this.key.secret, { algorithms: ["HS256"], issuer: ISSUER, audience: AUDIENCE, currentDate: new Date(this.clock.now()) }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) {
        throw unauthenticated("token expired: ask an admin for a new one (`switchyard token create`), or run `switchyard up` again for the bootstrap admin's");
      }
      throw unauthenticated("invalid token: it was not issued by this platform, or it was altered (get one with `switchyard token create` or `switchyard up`)");
    }
    const { sub, jti, exp, teams, role } = payload;
    if (typeof sub !== "string" || typeof jti !== "string" || typeof exp !== "number" || !Array.isArray(teams) || !teams.every((t) => typeof t === "string") || typeof role !== "string" || !isRole(role)) {
      throw unauthenticated("invalid token: its claims are not a Switchyard identity");
    }
    const id: Identity = { user: sub, teams: Object.freeze([...(teams as string[])]), role, tokenId: jti, expiresAtMs: exp * 1000 };
    this.stillValid(token, id);
    // Signed by our key is not enough: the token must be on record (one read per token text, then cached). A store
    // restored from a backup older than the token, or a token from before its user was deleted and recreated
    // elsewhere, is not: its claims (teams, role) would otherwise outlive the records that granted them.
    const row = await this.store.token(jti);
    if (row === undefined || row.user !== sub) throw unauthenticated(`token ${jti} is not on record at this platform (its store was restored from a backup older than the token): ask an admin for a new one`);
    if (row.revoked_at !== null) throw unauthenticated(`token ${jti} has been revoked: ask an admin for a new one`);
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(token, id);
    return id;
  }

  /** The id a token's text carries, without checking it (the caller checks who may revoke it). */
  static idOf(token: string): string | undefined {
    try {
      const jti = decodeJwt(token.startsWith(TOKEN_PREFIX) ? token.slice(TOKEN_PREFIX.length) : token).jti;
      return typeof jti === "string" ? jti : undefined;
    } catch {
      return undefined;
    }
  }

  /** Revokes tokens: refused from this moment on, also where verification was cached. */
  async revoke(jtis: readonly string[]): Promise<string[]> {
    for (const j of jtis) this.revoked.add(j);
    return this.store.revoke(jtis, this.clock.now());
  }

  now(): number {
    return this.clock.now();
  }
}
