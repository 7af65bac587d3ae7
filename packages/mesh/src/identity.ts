/**
 * Who is calling, as far as it is proven. The server chain verifies the calling service's credential
 * (`CallContext.callerService`); the end user's identity (IDENTITY_METADATA) is believed only when that service is
 * one that speaks for users — the gateway, which sets it from a verified token. From any other service the user
 * headers are ignored and the call is the service's own. A call with no proven service is refused: nothing inside the
 * mesh is trusted for being inside.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { IDENTITY_METADATA, type CallContext } from "./types.js";

export type UserRole = "admin" | "member" | "viewer";

export type VerifiedCaller =
  | { readonly kind: "service"; readonly service: string }
  | { readonly kind: "user"; readonly user: string; readonly teams: readonly string[]; readonly role: UserRole; readonly via: string };

/** The services whose calls carry an end user's identity (the edge). */
export const USER_DELEGATES: readonly string[] = ["gateway"];

const [USER, TEAMS, ROLE] = IDENTITY_METADATA;

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
  const md = ctx.metadata;
  const user = md[USER];
  const role = md[ROLE];
  if (user === undefined && role === undefined) {
    if (o.delegateMayActAsItself) return { kind: "service", service };
    throw new SwitchyardError(Code.Unauthenticated, `the ${service} forwarded a call without a verified identity`);
  }
  if (!user || (role !== "admin" && role !== "member" && role !== "viewer")) {
    throw new SwitchyardError(Code.Unauthenticated, `the call's identity is incomplete (${USER} and ${ROLE} are both required)`);
  }
  const teams = (md[TEAMS] ?? "").split(",").filter((t) => t.length > 0);
  return { kind: "user", user, teams, role, via: service };
}

/** Platform-wide changes: an admin user, or a platform service (which proved it holds the service key). */
export function requirePlatformAdmin(c: VerifiedCaller, action: string): void {
  if (c.kind === "user" && c.role !== "admin") throw new SwitchyardError(Code.PermissionDenied, `only admins ${action} (you are ${c.user}, a ${c.role})`);
}
