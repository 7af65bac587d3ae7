/**
 * The team rules of the services that keep a team's things (serving's deployments, experiments' experiments), the
 * jobs service's rules for the same reasons: admins see and change everything; members change their teams' things;
 * viewers only read; a named team the caller is not in is refused whether or not anything exists there, and a lookup
 * that names no team searches the caller's teams only, so another team's thing is as "not found" as a missing one.
 * Platform services act as themselves, with a service's rights.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import type { VerifiedCaller } from "./identity.js";
import type { EndUser } from "./user-token.js";

/** The teams a caller reads in: "all", or theirs. */
export type TeamScope = "all" | readonly string[];

/** The teams a caller reads in (a named team outside theirs is refused outright). */
export function readScope(c: VerifiedCaller, team: string): TeamScope {
  if (c.kind === "service" || c.role === "admin") return "all";
  if (team && !c.teams.includes(team)) throw new SwitchyardError(Code.PermissionDenied, `${c.user} is not a member of team "${team}": ask an admin to add you to it`);
  return team ? [team] : c.teams;
}

export function inScope(scope: TeamScope, team: string): boolean {
  return scope === "all" || scope.includes(team);
}

/**
 * Changes in `team`: a member of it (not a viewer) or an admin. `where` names the manifest field that says the team
 * and how to fix it (each manifest format has its own).
 */
export function requireTeamWriter(c: VerifiedCaller, team: string, action: string, where: { field: string; fix: string }): void {
  if (c.kind === "service") return;
  if (c.role === "viewer") throw new SwitchyardError(Code.PermissionDenied, `viewers cannot ${action} (you are ${c.user}, a viewer): ask an admin for a member's token`);
  if (c.role !== "admin" && !c.teams.includes(team)) {
    throw new SwitchyardError(Code.PermissionDenied, `${c.user} cannot ${action} in team "${team}" (your teams: ${c.teams.join(", ") || "none"}): ${where.fix}`, {
      details: [{ field: where.field, message: "is not one of your teams", expected: c.teams.join(" | ") || "a team you belong to", got: team }],
    });
  }
}

/** The user a thing is made for (its owner: what runs for it runs as that user), never a service. */
export function ownerOf(c: VerifiedCaller, what: string): EndUser {
  if (c.kind === "user") return { user: c.user, teams: c.teams, role: c.role };
  throw new SwitchyardError(Code.PermissionDenied, `${c.service} cannot make ${what} for itself: it belongs to a user (call through the gateway)`);
}

/** NOT_FOUND for `kind` `name`, the same whether it is missing or another team's. */
export function notFoundIn(kind: string, name: string, scope: TeamScope, listWith: string): SwitchyardError {
  const where = scope === "all" ? "" : ` in your teams (${scope.join(", ") || "none"})`;
  return new SwitchyardError(Code.NotFound, `${kind} "${name}" not found${where}: ${listWith} lists them`);
}
