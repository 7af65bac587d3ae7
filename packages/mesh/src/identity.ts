/**
 * Who is calling, as far as it is proven. The server chain verifies the calling workload's certificate
 * (`CallContext.callerService`) and the user token a call carries (`CallContext.user`: minted for this server alone,
 * user-token.ts); a user is believed only when the token's issuer and the calling service are both ones that speak
 * for users — the gateway, which mints it from a verified edge token. From any other service the call is the service's
 * own. A call with no proven service is refused: nothing inside the mesh is trusted for being inside.
 *
 * Services that act for users after the users' requests are over (serving, experiments: grants.ts GRANT_DELEGATES)
 * are believed for a user in two cases only: with the gateway's proof that the user is calling right now (the
 * delegate passes on the token it received, user-token.ts "on behalf of"), or under a live grant the user gave that
 * delegate — then the caller carries the grants, and the callee checks that the request is inside one of them.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { GRANT_DELEGATES, type Grant } from "./grants.js";
import { parseSpiffeId, SYSTEM_NAMESPACE } from "./spiffe.js";
import type { CallContext } from "./types.js";
import type { UserRole } from "./user-token.js";

export type { UserRole } from "./user-token.js";

export type VerifiedCaller =
  | { readonly kind: "service"; readonly service: string }
  | {
      readonly kind: "user";
      readonly user: string;
      readonly teams: readonly string[];
      readonly role: UserRole;
      readonly via: string;
      /**
       * Set when the call is a grant delegate's acting under the user's grants (not the user calling now): only what
       * one of these covers may be done (grantCovers), and only where the callee says grants apply.
       */
      readonly grants?: readonly Grant[];
    };

/** The service whose calls carry an end user's identity: the edge, which verified the user's own token. */
export const USER_DELEGATES: readonly string[] = ["gateway"];

/**
 * Delegates that also act for themselves: a call from one without a user token is the service's own (serving
 * follows, cancels and deletes its replicas' jobs as itself). The gateway is not one: a call from it naming no user
 * is refused, so a forwarding mistake never becomes the gateway's service rights.
 */
const ACT_AS_THEMSELVES: readonly string[] = GRANT_DELEGATES;

export interface VerifiedCallerOptions {
  /** Services whose calls carry a user's identity (default USER_DELEGATES). */
  delegates?: readonly string[];
  /**
   * A delegate's call without a user identity is the delegate's own (its registry watch, its policy reads). Off by
   * default: where users are served, a call from the gateway that names no user is refused, so a forwarding mistake
   * can never turn into the gateway's service rights.
   */
  delegateMayActAsItself?: boolean;
  /**
   * The handler checks a grant delegate's request against the caller's `grants` (grantCovers). Without it a call
   * under grants is refused: a grant is usable only where its callee knows what it covers.
   */
  honoursGrants?: boolean;
  /**
   * The handler may serve a grant delegate passing on the user it is serving now (the gateway's token inside its own:
   * user-token.ts "on behalf of"). Without it such a call is refused: the proof is good for minutes, so it is
   * accepted only by the methods a delegate needs within a user's call (reads of the user's jobs, recording a grant).
   */
  acceptsOnBehalfOf?: boolean;
}

export function verifiedCaller(ctx: CallContext, o: VerifiedCallerOptions = {}): VerifiedCaller {
  const delegates = o.delegates ?? USER_DELEGATES;
  const service = ctx.callerService;
  if (service === undefined) {
    throw new SwitchyardError(Code.Unauthenticated, `${ctx.method}: the caller did not prove which platform service it is (no service credential); users call the gateway with a token`);
  }
  if (o.delegates === undefined && GRANT_DELEGATES.includes(service) && ctx.user !== undefined) return delegatedUser(ctx, service, delegates, o);
  if (!delegates.includes(service)) return { kind: "service", service };
  const u = ctx.user;
  if (u === undefined) {
    if (o.delegateMayActAsItself || ACT_AS_THEMSELVES.includes(service)) return { kind: "service", service };
    throw new SwitchyardError(Code.Unauthenticated, `the ${service} forwarded a call without a verified user token`);
  }
  const issuer = parseSpiffeId(u.issuer);
  if (issuer?.namespace !== SYSTEM_NAMESPACE || !delegates.includes(issuer.account)) {
    throw new SwitchyardError(Code.Unauthenticated, `the call's user token was minted by ${u.issuer}, which does not speak for users here`);
  }
  return { kind: "user", user: u.user, teams: [...u.teams], role: u.role, via: service };
}

/** A grant delegate's call for a user: with the gateway's proof of the user now, or under the user's live grants. */
function delegatedUser(ctx: CallContext, service: string, userDelegates: readonly string[], o: VerifiedCallerOptions): VerifiedCaller {
  const u = ctx.user!;
  const issuer = parseSpiffeId(u.issuer);
  if (issuer?.namespace !== SYSTEM_NAMESPACE || issuer.account !== service) {
    throw new SwitchyardError(Code.Unauthenticated, `the ${service}'s call carries a user token minted by ${u.issuer}, not by the ${service}`);
  }
  if (u.onBehalfOf !== undefined) {
    const proof = parseSpiffeId(u.onBehalfOf);
    if (proof?.namespace !== SYSTEM_NAMESPACE || !userDelegates.includes(proof.account)) {
      throw new SwitchyardError(Code.Unauthenticated, `the ${service} passed on a user token minted by ${u.onBehalfOf}, which does not speak for users here`);
    }
    if (!o.acceptsOnBehalfOf) throw new SwitchyardError(Code.PermissionDenied, `${ctx.method}: the ${service} does not act for ${u.user} here, even while ${u.user} is calling it (a delegate reads the user's jobs and records the user's grants for them, nothing else)`);
    return { kind: "user", user: u.user, teams: [...u.teams], role: u.role, via: service };
  }
  if (!o.honoursGrants) {
    throw new SwitchyardError(Code.PermissionDenied, `${ctx.method}: the ${service} acts for ${u.user} here only while ${u.user} is calling (grants cover submitting jobs, nothing else)`);
  }
  const d = u.delegation;
  if (d === undefined || "unavailable" in d) {
    throw new SwitchyardError(Code.Unavailable, `${ctx.method}: the ${service} acts for ${u.user} under a grant, and ${d === undefined ? "this service does not read grants" : d.unavailable}`);
  }
  if (d.grants.length === 0) {
    throw new SwitchyardError(Code.PermissionDenied, `the ${service} acts for ${u.user} only under a grant ${u.user} gave it, and none is live: the user was deleted or left the team, or what it was given for is gone`, {
      details: [{ field: "grant", message: "no live grant", hint: `${u.user} creates it again (or an admin does, as ${u.user} cannot any more)` }],
    });
  }
  // The user as the gateway knew them when they gave the grants, never as the delegate's token claims: in the teams
  // the grants are for (a membership removed since took its grants with it), with the role they were given with (a
  // role change removes every grant).
  const g = d.grants[0]!;
  const teams = [...new Set(d.grants.map((x) => x.team))];
  return { kind: "user", user: u.user, teams, role: g.role, via: service, grants: d.grants };
}

/** Platform-wide changes: an admin user, or a platform service (proven by its certificate of the platform CA). */
export function requirePlatformAdmin(c: VerifiedCaller, action: string): void {
  if (c.kind === "user" && c.role !== "admin") throw new SwitchyardError(Code.PermissionDenied, `only admins ${action} (you are ${c.user}, a ${c.role})`);
}
