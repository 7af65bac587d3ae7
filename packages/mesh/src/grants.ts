/**
 * Delegation grants: what lets a platform service act for a user after the user's request is over. An experiment
 * submits trials hours after its owner's token expired, a deployment replaces replicas after its creator logged out —
 * but only within what the user gave: this service, this team, the jobs that carry this label (that experiment's
 * trials, that deployment's replicas). A grant is recorded while the user is present (the delegate's call carries the
 * gateway's proof of the user, user-token.ts "on behalf of"), kept in the config center's `grants` namespace (control
 * checks who writes what), watched by the services that honour grants (jobs), and removed with the user or their
 * membership (the gateway) or with its scope (the delegate).
 *
 * A grant names the user's teams and role as the gateway knew them when it was given: a call under a grant is the
 * user with those, never with what the delegate's own token claims.
 */
import { createHash } from "node:crypto";
import { Code, SwitchyardError } from "@switchyard/core";

/** The config center namespace and document kind of grants. */
export const GRANTS_NAMESPACE = "grants";
export const GRANT_KIND = "Grant";

/**
 * Services that act for users under grants: a call from one of them with a user token is that user only under a live
 * grant (or with the gateway's proof that the user is calling right now). Their calls without a user are their own.
 */
export const GRANT_DELEGATES: readonly string[] = ["serving", "experiments"];

/**
 * The label each grant delegate puts on the jobs it runs for users: its grants name this key, and acting as itself it
 * touches only jobs that carry it (the jobs service's rule), not every team's jobs.
 */
export const GRANT_DELEGATE_LABELS: Readonly<Record<string, string>> = {
  serving: "serving.switchyard.io/deployment",
  experiments: "experiments.switchyard.io/experiment",
};

export interface Grant {
  /** The document name: derived from the rest (grantName), so recording one twice is one grant. */
  readonly id: string;
  readonly user: string;
  readonly teams: readonly string[];
  readonly role: "admin" | "member" | "viewer";
  /** The service it lets act (a platform service's account, e.g. "serving"). */
  readonly delegate: string;
  /** The team it covers: jobs submitted under it must be of this team. */
  readonly team: string;
  /** The jobs it covers: those labelled key=value (e.g. serving.switchyard.io/deployment=iris). */
  readonly label: { readonly key: string; readonly value: string };
  readonly createdAtMs: number;
}

export type GrantInit = Omit<Grant, "id" | "createdAtMs">;

const LABEL_KEY = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const LABEL_VALUE = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
const NAME = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const USER = /^[a-z0-9][a-z0-9._@-]{0,127}$/;
const ROLES: readonly string[] = ["admin", "member", "viewer"];

/** The grant's document name: the delegate, then a digest of who and what (user names may hold '@'). */
export function grantName(g: Pick<GrantInit, "delegate" | "user" | "team" | "label">): string {
  const digest = createHash("sha256").update(JSON.stringify([g.delegate, g.user, g.team, g.label.key, g.label.value])).digest("hex").slice(0, 40);
  return `${g.delegate}-${digest}`;
}

export function newGrant(init: GrantInit, nowMs: number): Grant {
  return { ...init, teams: [...init.teams], id: grantName(init), createdAtMs: nowMs };
}

/** The grant as a config center document. */
export function grantDocument(g: Grant): { namespace: string; kind: string; name: string; content: string } {
  const { id, ...content } = g;
  return { namespace: GRANTS_NAMESPACE, kind: GRANT_KIND, name: id, content: JSON.stringify(content) };
}

/** A grant document's content, checked field by field; `name` must be the one its content derives. */
export function parseGrant(name: string, content: string): Grant {
  const bad = (why: string) => new SwitchyardError(Code.InvalidArgument, `grant ${name.slice(0, 80)}: ${why}`, { details: [{ field: "content", message: why }] });
  if (content.length > 4096) throw bad(`${content.length} bytes, more than 4096`);
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(content) as Record<string, unknown>;
  } catch {
    throw bad("is not JSON");
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw bad("is not an object");
  const str = (k: string, re: RegExp, what: string) => {
    const x = v[k];
    if (typeof x !== "string" || !re.test(x)) throw bad(`${k} is not ${what}`);
    return x;
  };
  const user = str("user", USER, "a user name");
  const delegate = str("delegate", NAME, "a service name");
  const team = str("team", NAME, "a team name");
  const role = v.role;
  if (typeof role !== "string" || !ROLES.includes(role)) throw bad("role is not admin, member or viewer");
  const teams = v.teams;
  if (!Array.isArray(teams) || teams.length > 100 || !teams.every((t) => typeof t === "string" && NAME.test(t))) throw bad("teams is not a list of team names");
  const label = v.label as Record<string, unknown> | undefined;
  if (typeof label !== "object" || label === null || typeof label.key !== "string" || !LABEL_KEY.test(label.key) || typeof label.value !== "string" || !LABEL_VALUE.test(label.value) || label.value === "") {
    throw bad("label is not {key, value} of a label");
  }
  const createdAtMs = v.createdAtMs;
  if (typeof createdAtMs !== "number" || !Number.isFinite(createdAtMs)) throw bad("createdAtMs is not a time");
  const g: Grant = { id: name, user, teams: teams as string[], role: role as Grant["role"], delegate, team, label: { key: label.key, value: label.value }, createdAtMs };
  if (grantName(g) !== name) throw bad(`its name is not the one its content gives (${grantName(g)})`);
  return g;
}

/** Whether a job of `team` with `labels` is inside one of `grants`. */
export function grantCovers(grants: readonly Grant[], team: string, labels: Readonly<Record<string, string>>): Grant | undefined {
  return grants.find((g) => g.team === team && labels[g.label.key] === g.label.value);
}

/**
 * The live grants, as the last snapshot of the config center's `grants` namespace had them. `loaded` is false until
 * the first snapshot arrived: until then a call under a grant is UNAVAILABLE (retried), not refused.
 */
export class GrantBook {
  private byDelegateUser = new Map<string, Grant[]>();
  private loadedAt: number | undefined;
  private staleBecause: string | undefined;

  get loaded(): boolean {
    return this.loadedAt !== undefined;
  }

  /**
   * Why the book cannot be trusted now, or undefined: not read yet, or its watch broke a while ago (a grant revoked
   * meanwhile would still be honoured: calls under grants are refused as UNAVAILABLE until the watch is back).
   */
  get unavailable(): string | undefined {
    if (this.loadedAt === undefined) return "the grants have not been read from control yet: retry";
    return this.staleBecause;
  }

  /** The watch broke (`why`), or is back (undefined: the next snapshot is the current state). */
  setStale(why: string | undefined): void {
    this.staleBecause = why;
  }

  /** Replaces the book with a snapshot's documents; a document that does not parse is skipped (reported). */
  replace(documents: readonly { name: string; content: string }[], onBad?: (name: string, why: string) => void, nowMs = Date.now()): void {
    const next = new Map<string, Grant[]>();
    for (const d of documents) {
      let g: Grant;
      try {
        g = parseGrant(d.name, d.content);
      } catch (err) {
        onBad?.(d.name, (err as Error).message);
        continue;
      }
      const k = `${g.delegate}\u0000${g.user}`;
      next.set(k, [...(next.get(k) ?? []), g]);
    }
    this.byDelegateUser = next;
    this.loadedAt = nowMs;
    this.staleBecause = undefined;
  }

  /** The grants `user` gave `delegate`. */
  forUser(delegate: string, user: string): readonly Grant[] {
    return this.byDelegateUser.get(`${delegate}\u0000${user}`) ?? [];
  }
}
