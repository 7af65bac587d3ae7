/**
 * Who is calling, as far as it is proven. The server chain verifies the calling workload's certificate
 * (`CallContext.callerService`) and the user token a call carries (`CallContext.user`: minted for this server alone,
 * user-token.ts); a user is believed only when the token's issuer and the calling service are both ones that speak
 * for users — the gateway, which mints it from a verified edge token. From any other service the call is the service's
 * own. A call with no proven service is refused: nothing inside the mesh is trusted for being inside.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { parseSpiffeId, SYSTEM_NAMESPACE } from "./spiffe.js";
import type { CallContext } from "./types.js";
import type { UserRole } from "./user-token.js";

export type { UserRole } from "./user-token.js";

export type VerifiedCaller =
  | { readonly kind: "service"; readonly service: string }
  | { readonly kind: "user"; readonly user: string; readonly teams: readonly string[]; readonly role: UserRole; readonly via: string };

/**
 * The services whose calls carry an end user's identity: the edge, and the serving service, which runs a deployment's
 * replicas as jobs of the deployment's owner (the identity recorded when the owner created it through the edge).
 */
export const USER_DELEGATES: readonly string[] = ["gateway", "serving"];

/**
 * Delegates that also act for themselves: a call from one without a user token is the service's own (serving
 * follows, cancels and deletes its replicas' jobs as itself). The gateway is not one: a call from it naming no user
 * is refused, so a forwarding mistake never becomes the gateway's service rights.
 */
const ACT_AS_THEMSELVES: readonly string[] = ["serving"];

export interface VerifiedCallerOptions {
  /** Services whose calls carry a user's identity (default USER_DELEGATES). */
  delegates?: readonly string[];
  /**
   * A delegate's call without a user identity is the delegate's own (its registry watch, its policy reads). Off by
   * default: where users are served, a call from the gateway that names no user is refused, so a forwarding mistake
   * can never turn into the gateway's service rights.
   */
  delegateMayActAsItself?: boolean;
}

export function verifiedCaller(ctx: CallContext, o: VerifiedCallerOptions = {}): VerifiedCaller {
  const delegates = o.delegates ?? USER_DELEGATES;
  const service = ctx.callerService;
  if (service === undefined) {
    throw new SwitchyardError(Code.Unauthenticated, `${ctx.method}: the caller did not prove which platform service it is (no service credential); users call the gateway with a token`);
  }
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

/** Platform-wide changes: an admin user, or a platform service (proven by its certificate of the platform CA). */
export function requirePlatformAdmin(c: VerifiedCaller, action: string): void {
  if (c.kind === "user" && c.role !== "admin") throw new SwitchyardError(Code.PermissionDenied, `only admins ${action} (you are ${c.user}, a ${c.role})`);
}
