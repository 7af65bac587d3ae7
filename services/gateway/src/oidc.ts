/**
 * An organisation's own tokens at the edge: Istio's `security.istio.io/v1 RequestAuthentication`, read from a file
 * (`SWITCHYARD_REQUEST_AUTHN_FILE`) at start. Each `jwtRules` entry trusts one issuer: its signing keys from `jwks`
 * (inline JSON) or `jwksUri` (loopback only: nothing here reaches out to the network), and, when `audiences` is set,
 * only tokens for one of them. A token whose `iss` is one of those issuers is verified by that rule (jose:
 * signature with the issuer's keys, asymmetric algorithms only, expiry and not-before with 30 s of skew) and mapped to
 * a Switchyard identity by claims, named in the resource's annotations:
 *   switchyard.io/user-claim   the user (default `sub`; lowercased, must be a valid user name)
 *   switchyard.io/teams-claim  a list of teams, or a space- or comma-separated string (default `groups`)
 *   switchyard.io/role-claim   admin | member | viewer (default: none, every such user is `switchyard.io/default-role`)
 *   switchyard.io/default-role the role when the claim is absent or not a role (default `viewer`)
 *   switchyard.io/max-token-lifetime  the longest exp - iat taken (default 24h): these tokens cannot be revoked here
 * A user name that is also one of the platform's own users is refused (gateway.ts), the JWKS must hold a key, and
 * the file must be writable by the platform's user (or root) only.
 * Istio fields this edge does not enforce (`selector`, `targetRef`, `fromHeaders`, `fromParams`, `outputPayloadToHeader`,
 * `outputClaimToHeaders`, `forwardOriginalToken`, `timeout`) are refused by name rather than silently ignored.
 * Not yet: hot reload (a change needs a restart of the gateway), revoking one external token (delete the user's
 * access at the issuer; tokens are short-lived there).
 */
import { readFileSync } from "node:fs";
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, errors as joseErrors, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { LineCounter, type Document } from "yaml";
import { statSync } from "node:fs";
import { Code, SwitchyardError, parseDurationMs, parseYamlDocuments, systemClock, yamlToJs, type Clock } from "@switchyard/core";
import { checkTeamName, checkUserName, isRole, type Identity, type Role } from "./identity.js";
import { ISSUER as PLATFORM_ISSUER } from "./token-authority.js";

const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"];
const REFUSED_SPEC = ["selector", "targetRef", "targetRefs"];
const REFUSED_RULE = ["fromHeaders", "fromParams", "fromCookies", "outputPayloadToHeader", "outputClaimToHeaders", "forwardOriginalToken", "timeout"];
const KNOWN_RULE = ["issuer", "audiences", "jwks", "jwksUri"];
const ANNOTATION = "switchyard.io/";

export interface OidcRule {
  issuer: string;
  audiences: string[];
  keys: JWTVerifyGetKey;
  userClaim: string;
  teamsClaim: string;
  roleClaim: string | undefined;
  defaultRole: Role;
  /** The longest `exp - iat` taken (external tokens cannot be revoked here: they must be short-lived). */
  maxLifetimeMs: number;
  /** Where it was defined, for messages. */
  source: string;
}

function invalidAt(file: string, line: number | undefined, where: string, message: string, hint?: string): SwitchyardError {
  return new SwitchyardError(Code.InvalidArgument, `${file}${line ? `:${line}` : ""}: ${where}: ${message}${hint ? ` (${hint})` : ""}`, {
    details: [{ field: where, message, file, ...(line ? { line } : {}), ...(hint ? { hint } : {}) }],
  });
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** The rules of the RequestAuthentication resources in `text` (one or more YAML documents); refuses what it cannot enforce. */
export function parseRequestAuthentication(text: string, file = "request-authentication.yaml"): OidcRule[] {
  const lines = new LineCounter();
  const docs = parseYamlDocuments(text, { what: file, file, lineCounter: lines });
  const rules: OidcRule[] = [];
  docs.forEach((doc, i) => {
    // The line of the deepest node of `path` that exists (the key's line for a missing one).
    const lineOf = (path: (string | number)[]): number | undefined => {
      for (let n = path.length; n >= 0; n--) {
        const node = (doc as Document).getIn(path.slice(0, n), true) as { range?: [number, number, number] } | undefined;
        if (node?.range) return lines.linePos(node.range[0]).line;
      }
      return undefined;
    };
    const invalid = (_file: string, where: string, message: string, hint?: string, path: (string | number)[] = []) => invalidAt(file, lineOf(path), where, message, hint);
    const at = docs.length > 1 ? `document ${i + 1}` : "document";
    if (doc.errors.length > 0) throw invalid(file, at, doc.errors[0]!.message.split("\n")[0]!);
    const r: unknown = yamlToJs(doc, file, file);
    if (r === null || r === undefined) return;
    if (!isRecord(r)) throw invalid(file, at, "is not a mapping");
    if (r.apiVersion !== "security.istio.io/v1" && r.apiVersion !== "security.istio.io/v1beta1") throw invalid(file, `${at}.apiVersion`, `is ${JSON.stringify(r.apiVersion)}`, "use security.istio.io/v1", ["apiVersion"]);
    if (r.kind !== "RequestAuthentication") throw invalid(file, `${at}.kind`, `is ${JSON.stringify(r.kind)}, not RequestAuthentication`, undefined, ["kind"]);
    const meta = isRecord(r.metadata) ? r.metadata : {};
    const name = typeof meta.name === "string" ? meta.name : `#${i + 1}`;
    const ann = isRecord(meta.annotations) ? meta.annotations : {};
    for (const k of Object.keys(ann)) {
      if (k.startsWith(ANNOTATION) && !["user-claim", "teams-claim", "role-claim", "default-role", "max-token-lifetime"].includes(k.slice(ANNOTATION.length))) {
        throw invalid(file, `${name}.metadata.annotations`, `${k} is not a Switchyard annotation`, "use switchyard.io/user-claim, teams-claim, role-claim or default-role", ["metadata", "annotations", k]);
      }
    }
    const str = (k: string, d: string | undefined) => (typeof ann[ANNOTATION + k] === "string" ? (ann[ANNOTATION + k] as string) : d);
    const defaultRole = str("default-role", "viewer")!;
    const maxLifetimeMs = parseDurationMs(str("max-token-lifetime", "24h"));
    if (maxLifetimeMs === undefined || maxLifetimeMs <= 0) throw invalid(file, `${name}.metadata.annotations`, "switchyard.io/max-token-lifetime is not a duration", "e.g. 1h or 24h", ["metadata", "annotations", "switchyard.io/max-token-lifetime"]);
    if (!isRole(defaultRole)) throw invalid(file, `${name}.metadata.annotations`, `switchyard.io/default-role is "${defaultRole}"`, "use admin, member or viewer", ["metadata", "annotations", "switchyard.io/default-role"]);
    const spec = isRecord(r.spec) ? r.spec : {};
    for (const k of REFUSED_SPEC) if (k in spec) throw invalid(file, `${name}.spec.${k}`, "is not enforced by the Switchyard edge", "remove it: the gateway applies the rules to every request", ["spec", k]);
    if (!Array.isArray(spec.jwtRules) || spec.jwtRules.length === 0) throw invalid(file, `${name}.spec.jwtRules`, "is required: at least one rule", undefined, ["spec", "jwtRules"]);
    spec.jwtRules.forEach((rule: unknown, j: number) => {
      const w = `${name}.spec.jwtRules[${j}]`;
      const p = (k?: string) => ["spec", "jwtRules", j, ...(k ? [k] : [])];
      if (!isRecord(rule)) throw invalid(file, w, "is not a mapping", undefined, p());
      for (const k of Object.keys(rule)) {
        if (REFUSED_RULE.includes(k)) throw invalid(file, `${w}.${k}`, "is not enforced by the Switchyard edge", "remove it: tokens come in `Authorization: Bearer` only", p(k));
        if (!KNOWN_RULE.includes(k)) throw invalid(file, `${w}.${k}`, "is not a field of a JWT rule", `use ${KNOWN_RULE.join(", ")}`, p(k));
      }
      if (typeof rule.issuer !== "string" || rule.issuer === "") throw invalid(file, `${w}.issuer`, "is required", undefined, p("issuer"));
      const audiences = rule.audiences === undefined ? [] : rule.audiences;
      if (!Array.isArray(audiences) || !audiences.every((a) => typeof a === "string")) throw invalid(file, `${w}.audiences`, "is not a list of strings", undefined, p("audiences"));
      let keys: JWTVerifyGetKey;
      if (typeof rule.jwks === "string" && rule.jwksUri === undefined) {
        let set: JSONWebKeySet;
        try {
          set = JSON.parse(rule.jwks) as JSONWebKeySet;
          keys = createLocalJWKSet(set);
        } catch (err) {
          throw invalid(file, `${w}.jwks`, `is not a JSON Web Key Set (${(err as Error).message})`, undefined, p("jwks"));
        }
        if (!Array.isArray(set.keys) || set.keys.length === 0) throw invalid(file, `${w}.jwks`, "holds no key", "paste the issuer's published keys", p("jwks"));
      } else if (typeof rule.jwksUri === "string" && rule.jwks === undefined) {
        let url: URL;
        try {
          url = new URL(rule.jwksUri);
        } catch {
          throw invalid(file, `${w}.jwksUri`, "is not a URL", undefined, p("jwksUri"));
        }
        // IP literals only: a name could resolve elsewhere, and nothing here reaches out to the network.
        if (!/^https?:$/.test(url.protocol) || !["127.0.0.1", "[::1]"].includes(url.hostname)) {
          throw invalid(file, `${w}.jwksUri`, "must be on this machine (http://127.0.0.1 or http://[::1])", "the gateway reaches no other host: save the issuer's keys in `jwks` instead", p("jwksUri"));
        }
        keys = createRemoteJWKSet(url, { timeoutDuration: 2000, cooldownDuration: 30_000 });
      } else {
        throw invalid(file, w, "needs exactly one of jwks and jwksUri", undefined, p());
      }
      if (rules.some((x) => x.issuer === rule.issuer)) throw invalid(file, `${w}.issuer`, `${rule.issuer} has a rule already`, undefined, p("issuer"));
      if (rule.issuer === PLATFORM_ISSUER) throw invalid(file, `${w}.issuer`, `"${PLATFORM_ISSUER}" is the platform's own issuer`, "name the other issuer (its `iss` claim)", p("issuer"));
      rules.push({ issuer: rule.issuer, audiences: audiences as string[], keys, userClaim: str("user-claim", "sub")!, teamsClaim: str("teams-claim", "groups")!, roleClaim: str("role-claim", undefined), defaultRole, maxLifetimeMs, source: `${file} ${w}` });
    });
  });
  return rules;
}

export function loadRequestAuthentication(path: string): OidcRule[] {
  let text: string;
  try {
    // Whoever can write this file chooses who is admin: it must be the platform's (or root's) and no one else's to write.
    const st = statSync(path);
    const me = process.getuid?.();
    if ((st.mode & 0o022) !== 0 || (me !== undefined && st.uid !== me && st.uid !== 0)) {
      throw new Error(`it is writable by others or owned by another user (mode ${(st.mode & 0o777).toString(8)}, owner ${st.uid}): \`chmod go-w\` it, owned by the platform's user`);
    }
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new SwitchyardError(Code.InvalidArgument, `SWITCHYARD_REQUEST_AUTHN_FILE=${path} cannot be read: ${(err as Error).message}`);
  }
  return parseRequestAuthentication(text, path);
}

const unauthenticated = (m: string) => new SwitchyardError(Code.Unauthenticated, m);

/** Verifies tokens of the configured issuers; `owns` says whether a token claims one of them. */
export class OidcVerifier {
  private readonly byIssuer: Map<string, OidcRule>;
  constructor(
    rules: readonly OidcRule[],
    private readonly clock: Clock = systemClock,
  ) {
    this.byIssuer = new Map(rules.map((r) => [r.issuer, r]));
  }

  /** The rule for the issuer the token claims (unverified), if any. */
  owns(token: string): OidcRule | undefined {
    if (this.byIssuer.size === 0) return undefined;
    try {
      const iss = decodeJwt(token).iss;
      return typeof iss === "string" ? this.byIssuer.get(iss) : undefined;
    } catch {
      return undefined;
    }
  }

  async verify(token: string, rule: OidcRule): Promise<Identity> {
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, rule.keys, {
        issuer: rule.issuer,
        algorithms: ALGORITHMS,
        clockTolerance: 30,
        currentDate: new Date(this.clock.now()),
        ...(rule.audiences.length > 0 ? { audience: rule.audiences } : {}),
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw unauthenticated(`token expired: get a new one from ${rule.issuer}`);
      if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === "aud") throw unauthenticated(`token not meant for this platform: its audience is not one of ${rule.audiences.join(", ")}`);
      throw unauthenticated(`invalid token from ${rule.issuer}: not signed by its keys, or altered`);
    }
    if (typeof payload.exp !== "number" || typeof payload.iat !== "number") throw unauthenticated(`invalid token from ${rule.issuer}: it has no expiry (exp) or issue time (iat), and the platform takes none without both`);
    if ((payload.exp - payload.iat) * 1000 > rule.maxLifetimeMs) throw unauthenticated(`token from ${rule.issuer} lives longer than the ${rule.maxLifetimeMs / 1000} s this platform takes (switchyard.io/max-token-lifetime)`);
    const rawUser = payload[rule.userClaim];
    let user: string;
    try {
      user = checkUserName(typeof rawUser === "string" ? rawUser.toLowerCase() : "", rule.userClaim);
    } catch {
      throw unauthenticated(`token from ${rule.issuer}: claim ${rule.userClaim} is not a user name the platform takes`);
    }
    const rawTeams = payload[rule.teamsClaim];
    const list = Array.isArray(rawTeams) ? rawTeams : typeof rawTeams === "string" ? rawTeams.split(/[\s,]+/) : [];
    const teams = [...new Set(list.filter((t): t is string => typeof t === "string" && t !== "").map((t) => t.toLowerCase()))].filter((t) => {
      try {
        checkTeamName(t);
        return true;
      } catch {
        return false;
      }
    });
    const rawRole = rule.roleClaim ? payload[rule.roleClaim] : undefined;
    const role = typeof rawRole === "string" && isRole(rawRole) ? rawRole : rule.defaultRole;
    return { user, teams: Object.freeze(teams.slice(0, 64)), role, tokenId: typeof payload.jti === "string" ? `oidc:${payload.jti}` : "", expiresAtMs: payload.exp * 1000 };
  }
}
