/**
 * Who may do what with jobs. Every call proves which platform service made it (the mesh verifies the service
 * credential); the end user's identity (user, teams, role) is believed from the gateway, which sets it from a verified
 * token, and from a grant delegate (serving, experiments) only under the user's live grant (SubmitJob, inside the
 * grant's scope) or with the gateway's proof passed on (reads): `verifiedCaller` in the mesh. This file decides with it:
 * - admins see and do everything; members submit to, see and cancel their teams' jobs; viewers only read theirs;
 * - a request naming a team the caller is not in is refused (PERMISSION_DENIED) whether or not any job exists there;
 *   a lookup that names no team searches the caller's teams only, so another team's job is as "not found" as a
 *   missing one — neither answer reveals whether it exists;
 * - another platform service (proven by its certificate of the platform CA, mutual TLS) acts as itself, with a
 *   service's rights; a call that proves nothing never gets here (the handshake or the mesh refuses it).
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { GRANT_DELEGATE_LABELS, grantCovers, verifiedCaller, type CallContext, type VerifiedCaller, type VerifiedCallerOptions } from "@switchyard/mesh";
import type { JobSpec } from "@switchyard/specs";

export type Caller = VerifiedCaller;

/**
 * `honoursGrants`: the method checks a delegate's call under grants (only SubmitJob: a job inside a grant's scope).
 * Everywhere else such a call is refused (the mesh's verifiedCaller): delegates read and cancel as themselves.
 */
export function callerOf(ctx: CallContext, o?: Pick<VerifiedCallerOptions, "honoursGrants" | "acceptsOnBehalfOf">): Caller {
  return verifiedCaller(ctx, o);
}

function seesAll(c: Caller): boolean {
  return c.kind === "service" || c.role === "admin";
}

/**
 * Whether a platform service acting as itself may touch a job with these labels: a grant delegate (serving,
 * experiments) only the jobs carrying its own label — the ones it runs for users — never every team's jobs; the other
 * platform services any.
 */
export function serviceReaches(c: Caller, labels: Readonly<Record<string, string>> | undefined): boolean {
  if (c.kind !== "service") return true;
  const key = GRANT_DELEGATE_LABELS[c.service];
  return key === undefined || labels?.[key] !== undefined;
}

/** Teams a caller may read in: "all", or a list. A named team outside the caller's is refused outright. */
export function readScope(c: Caller, team: string): "all" | readonly string[] {
  if (c.kind === "service" || c.role === "admin") return "all";
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
 * Checks that the caller may submit a job to `team`: a writer (checked first, before the manifest is even read, by
 * `requireWriter`), in that team (admins: any team).
 */
export function authorizeSubmit(c: Caller, team: string, labels: Readonly<Record<string, string>> = {}): void {
  if (c.kind === "service") return;
  if (c.grants !== undefined && grantCovers(c.grants, team, labels) === undefined) {
    const given = c.grants.map((g) => `team ${g.team} jobs labelled ${g.label.key}=${g.label.value}`).join("; ");
    throw new SwitchyardError(Code.PermissionDenied, `the ${c.via} acts for ${c.user} only within what ${c.user} granted it (${given}): this job of team ${team} is not among them`);
  }
  requireWriter(c, "submit jobs");
  if (c.role === "admin") return;
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

/** Platform-wide changes (queue configuration, …): admins and platform services only. */
export { requirePlatformAdmin as requireAdmin } from "@switchyard/mesh";

/**
 * The one team a change names (secrets): `team` when given — outside a user's teams that is PERMISSION_DENIED, as
 * for reads, whether or not anything exists there — else the user's only team; admins and platform services act in
 * "default" when they name none. A user in several teams must name one.
 */
/** Team names are DNS labels, as Kubernetes namespaces (a PyTorchJob's namespace becomes its team). */
const TEAM_NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function oneTeam(c: Caller, team: string): string {
  if (team) {
    if (!TEAM_NAME.test(team)) {
      throw new SwitchyardError(Code.InvalidArgument, `team: "${team.slice(0, 80)}" is not a team name`, {
        details: [{ field: "team", message: "is not a team name", expected: "a DNS label: lowercase letters, digits and '-' (1–63 characters)", got: JSON.stringify(team.slice(0, 80)) }],
      });
    }
    readScope(c, team);
    return team;
  }
  if (c.kind === "service" || c.role === "admin") return "default";
  const [only, ...more] = c.teams;
  if (only !== undefined && more.length === 0) return only;
  throw new SwitchyardError(Code.InvalidArgument, `team: give the team (--team)${c.teams.length ? `: you are in ${c.teams.join(", ")}` : ""}`, {
    details: [{ field: "team", message: "is required unless you are in exactly one team", expected: c.teams.join(" | ") || "a team you belong to", hint: "pass --team TEAM" }],
  });
}

/** The variables of a spec whose values were written in the manifest (inline, sealed at rest), roles included. */
export function inlineSecretNames(spec: JobSpec): string[] {
  const names = new Set<string>();
  for (const env of [spec.secretEnv, ...(spec.roles ?? []).map((r) => r.secretEnv)]) {
    for (const [name, s] of Object.entries(env ?? {})) if (s.kind !== "ref") names.add(name);
  }
  return [...names].sort();
}

/**
 * Inline secret values are their submitter's: a job holding some, run again by another user (and so as that user's
 * account), would let them read the values. Only the submitter or an admin (or a platform service) reruns it.
 */
export function authorizeRerunSecrets(c: Caller, job: { name: string; user: string; spec: JobSpec }): void {
  if (c.kind !== "user" || c.role === "admin" || c.user === job.user) return;
  const inline = inlineSecretNames(job.spec);
  if (inline.length === 0) return;
  throw new SwitchyardError(
    Code.FailedPrecondition,
    `job "${job.name}" holds inline secret values of ${job.user || "its submitter"} (${inline.join(", ")}): only they or an admin may run it again; get it (switchyard get ${job.name} -o yaml), write your own values (or a secretKeyRef), and submit it`,
    { retryable: false },
  );
}

/**
 * The workload class a submission asks for: "serving" (never demoted by least-attained-service, not preempted by
 * training of its priority) only from the serving service, which runs deployments' replicas — a user who could mark
 * a training job "serving" would make it unpreemptible.
 */
export function workloadClassOf(c: Caller, asked: string): "training" | "serving" {
  if (asked === "" || asked === "training") return "training";
  if (asked !== "serving") {
    throw new SwitchyardError(Code.InvalidArgument, `workload_class "${asked}" is not one of: training, serving`, { details: [{ field: "workload_class", message: "unknown class", expected: "training | serving", got: asked }] });
  }
  const via = c.kind === "service" ? c.service : c.via;
  if (via !== "serving") throw new SwitchyardError(Code.PermissionDenied, `only the serving service submits serving replicas (this call came from ${via}): deploy a model with switchyard serve`);
  return "serving";
}
