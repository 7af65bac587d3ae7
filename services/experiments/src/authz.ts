/**
 * Who may do what with experiments — the jobs service's rules (services/jobs/src/authz.ts), for the same reasons:
 * admins everything; members create, cancel and delete their teams' experiments; viewers only read. Looked up without
 * a team, another team's experiment answers NOT_FOUND exactly as a missing one; naming a team one is not in is
 * PERMISSION_DENIED whether or not anything exists there. Platform services act as themselves.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { verifiedCaller, type CallContext, type EndUser, type VerifiedCaller } from "@switchyard/mesh";

export type Caller = VerifiedCaller;

export function callerOf(ctx: CallContext): Caller {
  return verifiedCaller(ctx);
}

/** The teams a caller reads in: "all", or theirs (a named team outside them is refused outright). */
export function readScope(c: Caller, team: string): "all" | readonly string[] {
  if (c.kind === "service" || c.role === "admin") return "all";
  if (team && !c.teams.includes(team)) throw new SwitchyardError(Code.PermissionDenied, `${c.user} is not a member of team "${team}": ask an admin to add you to it`);
  return team ? [team] : c.teams;
}

export function inScope(scope: "all" | readonly string[], team: string): boolean {
  return scope === "all" || scope.includes(team);
}

/** Changes in `team`: a member of it (not a viewer) or an admin. */
export function requireWriter(c: Caller, team: string, action: string): void {
  if (c.kind === "service") return;
  if (c.role === "viewer") throw new SwitchyardError(Code.PermissionDenied, `viewers cannot ${action} (you are ${c.user}, a viewer): ask an admin for a member's token`);
  if (c.role !== "admin" && !c.teams.includes(team)) {
    throw new SwitchyardError(Code.PermissionDenied, `${c.user} cannot ${action} in team "${team}" (your teams: ${c.teams.join(", ") || "none"}): set metadata.namespace (metadata.team in the native form) to one of your teams`, {
      details: [{ field: "metadata.namespace", message: "is not one of your teams", expected: c.teams.join(" | ") || "a team you belong to", got: team }],
    });
  }
}

/** The user an experiment is created for: its trials run as that user's jobs. */
export function userOf(c: Caller): EndUser {
  if (c.kind === "user") return { user: c.user, teams: c.teams, role: c.role };
  throw new SwitchyardError(Code.PermissionDenied, `${c.service} cannot create an experiment for itself: an experiment belongs to a user (call through the gateway)`);
}

export function notFound(name: string, scope: "all" | readonly string[]): SwitchyardError {
  const where = scope === "all" ? "" : ` in your teams (${scope.join(", ") || "none"})`;
  return new SwitchyardError(Code.NotFound, `experiment "${name}" not found${where}: switchyard experiments lists them`);
}
