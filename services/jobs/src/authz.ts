/**
 * Who may do what with jobs. The gateway verifies the caller's token and sends the identity inward in call metadata
 * (IDENTITY_METADATA: user, teams, role); this file decides with it:
 * - admins see and do everything; members submit to, see and cancel their teams' jobs; viewers only read theirs;
 * - a request naming a team the caller is not in is refused (PERMISSION_DENIED) whether or not any job exists there;
 *   a lookup that names no team searches the caller's teams only, so another team's job is as "not found" as a
 *   missing one — neither answer reveals whether it exists;
 * - a call with no identity is an internal call from inside the mesh (another service, a test driving the service
 *   directly) and is trusted, unless it says it came through the gateway (`x-switchyard-caller: gateway`), which
 *   always sends an identity: such a call is refused (UNAUTHENTICATED).
 */
import { Code, SwitchyardError } from "@switchyard/core";
import type { CallContext } from "@switchyard/mesh";
import { parseJobManifest } from "@switchyard/specs";

export type Role = "admin" | "member" | "viewer";

export type Caller = { readonly kind: "internal" } | { readonly kind: "user"; readonly user: string; readonly teams: readonly string[]; readonly role: Role };

const INTERNAL: Caller = { kind: "internal" };

export function callerOf(ctx: CallContext): Caller {
  const md = ctx.metadata;
  const user = md["x-switchyard-user"];
  const role = md["x-switchyard-role"];
  if (user === undefined && role === undefined) {
    if (md["x-switchyard-caller"] === "gateway") throw new SwitchyardError(Code.Unauthenticated, "the gateway forwarded a call without a verified identity");
    return INTERNAL;
  }
  if (!user || (role !== "admin" && role !== "member" && role !== "viewer")) {
    throw new SwitchyardError(Code.Unauthenticated, "the call's identity is incomplete (x-switchyard-user and x-switchyard-role are both required)");
  }
  const teams = (md["x-switchyard-teams"] ?? "").split(",").filter((t) => t.length > 0);
  return { kind: "user", user, teams, role };
}

function seesAll(c: Caller): boolean {
  return c.kind === "internal" || c.role === "admin";
}

/** Teams a caller may read in: "all", or a list. A named team outside the caller's is refused outright. */
export function readScope(c: Caller, team: string): "all" | readonly string[] {
  if (c.kind === "internal" || c.role === "admin") return "all";
  if (team && !c.teams.includes(team)) {
    throw new SwitchyardError(Code.PermissionDenied, `${c.user} is not a member of team "${team}"${c.teams.length ? ` (your teams: ${c.teams.join(", ")})` : ""}: ask an admin to add you to it`);
  }
  return team ? [team] : c.teams;
}

export function inScope(scope: "all" | readonly string[], team: string): boolean {
  return scope === "all" || scope.includes(team);
}

/** " in your teams (a, b)" for scoped callers; "" for those who see everything. */
export function scopeText(scope: "all" | readonly string[]): string {
  return scope === "all" ? "" : ` in your teams (${scope.length ? scope.join(", ") : "none"})`;
}

/** Viewers read only: refused before anything is looked up, so the answer does not depend on what exists. */
export function requireWriter(c: Caller, action: string): void {
  if (c.kind === "user" && c.role === "viewer") throw new SwitchyardError(Code.PermissionDenied, `viewers cannot ${action} (you are ${c.user}, a viewer): ask an admin for a member's token`);
}

/**
 * Checks that the caller may submit this manifest: a writer, in the team the manifest names (admins: any team).
 * Parses the manifest for its team; a manifest that does not parse is left for the submission to reject.
 */
export function authorizeSubmit(c: Caller, manifest: string, opts: { file?: string; baseDir?: string }): void {
  if (c.kind === "internal") return;
  requireWriter(c, "submit jobs");
  if (c.role === "admin") return;
  let team: string;
  try {
    team = parseJobManifest(manifest, opts).spec.team;
  } catch {
    return;
  }
  if (!c.teams.includes(team)) {
    throw new SwitchyardError(Code.PermissionDenied, `${c.user} cannot submit to team "${team}"${c.teams.length ? ` (your teams: ${c.teams.join(", ")})` : ""}: set metadata.team (metadata.namespace for Kubeflow manifests) to one of your teams`, {
      details: [{ field: "metadata.team", message: "is not one of your teams", expected: c.teams.join(" | ") || "a team you belong to", got: team, hint: "set metadata.team (metadata.namespace for Kubeflow manifests) to one of your teams" }],
    });
  }
}

/** Whether the caller sees GPU holders' job names (others see that a GPU is taken, not by what). */
export function seesJobOf(c: Caller, team: string): boolean {
  return seesAll(c) || (c.kind === "user" && c.teams.includes(team));
}

/** Platform-wide changes (queue configuration, …): admins and internal callers only. */
export function requireAdmin(c: Caller, action: string): void {
  if (c.kind === "user" && c.role !== "admin") throw new SwitchyardError(Code.PermissionDenied, `only admins ${action} (you are ${c.user}, a ${c.role})`);
}
