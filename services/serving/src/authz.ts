/**
 * Who may do what with deployments and models — the jobs service's rules (services/jobs/src/authz.ts), for the same
 * reasons: admins everything; members create, change and delete their teams' deployments and register their teams'
 * models; viewers only read. A deployment of another team answers NOT_FOUND exactly as a missing one, so no answer
 * reveals what another team runs (its name is platform-wide, so creating one under a taken name does say it exists).
 * Platform services act as themselves with a service's rights (the gateway's calls always name a user).
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
    throw new SwitchyardError(Code.PermissionDenied, `${c.user} cannot ${action} in team "${team}" (your teams: ${c.teams.join(", ") || "none"}): set metadata.team (metadata.namespace for KServe manifests) to one of your teams`, {
      details: [{ field: "metadata.team", message: "is not one of your teams", expected: c.teams.join(" | ") || "a team you belong to", got: team }],
    });
  }
}

/** The user a change is made for (deployments record their owner: replicas run as that user's jobs). */
export function userOf(c: Caller, action: string): EndUser {
  if (c.kind === "user") return { user: c.user, teams: c.teams, role: c.role };
  throw new SwitchyardError(Code.PermissionDenied, `${c.service} cannot ${action} for itself: a deployment belongs to a user (call through the gateway)`);
}

export function notFound(name: string, scope: "all" | readonly string[]): SwitchyardError {
  const where = scope === "all" ? "" : ` in your teams (${scope.join(", ") || "none"})`;
  return new SwitchyardError(Code.NotFound, `deployment "${name}" not found${where}: switchyard deployments lists them`);
}
