/**
 * Who may do what with deployments and models: the team rules every team-owning service shares (mesh team-access.ts).
 * A deployment of another team answers NOT_FOUND exactly as a missing one, so no answer reveals what another team
 * runs (its name is platform-wide, so creating one under a taken name does say it exists).
 */
import { notFoundIn, ownerOf, requireTeamWriter, verifiedCaller, type CallContext, type EndUser, type TeamScope, type VerifiedCaller } from "@switchyard/mesh";

export { inScope, readScope } from "@switchyard/mesh";
export type Caller = VerifiedCaller;

export function callerOf(ctx: CallContext): Caller {
  return verifiedCaller(ctx);
}

/** Changes in `team`: a member of it (not a viewer) or an admin. */
export function requireWriter(c: Caller, team: string, action: string): void {
  requireTeamWriter(c, team, action, { field: "metadata.team", fix: "set metadata.team (metadata.namespace for KServe manifests) to one of your teams" });
}

/** The user a deployment is made for (replicas run as that user's jobs). */
export function userOf(c: Caller, action: string): EndUser {
  return ownerOf(c, `a deployment (to ${action})`);
}

export function notFound(name: string, scope: TeamScope) {
  return notFoundIn("deployment", name, scope, "switchyard deployments");
}
