/**
 * Who may do what with experiments: the team rules every team-owning service shares (mesh team-access.ts). Looked up
 * without a team, another team's experiment answers NOT_FOUND exactly as a missing one; naming a team one is not in
 * is PERMISSION_DENIED whether or not anything exists there. Platform services act as themselves.
 */
import { notFoundIn, ownerOf, requireTeamWriter, verifiedCaller, type CallContext, type EndUser, type TeamScope, type VerifiedCaller } from "@switchyard/mesh";

export { inScope, readScope } from "@switchyard/mesh";
export type Caller = VerifiedCaller;

export function callerOf(ctx: CallContext): Caller {
  return verifiedCaller(ctx);
}

/** Changes in `team`: a member of it (not a viewer) or an admin. */
export function requireWriter(c: Caller, team: string, action: string): void {
  requireTeamWriter(c, team, action, { field: "metadata.namespace", fix: "set metadata.namespace (metadata.team in the native form) to one of your teams" });
}

/** The user an experiment is created for: its trials run as that user's jobs. */
export function userOf(c: Caller): EndUser {
  return ownerOf(c, "an experiment");
}

export function notFound(name: string, scope: TeamScope) {
  return notFoundIn("experiment", name, scope, "switchyard experiments");
}
