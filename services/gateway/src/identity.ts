import { Code, SwitchyardError } from "@switchyard/core";

export const ROLES = ["admin", "member", "viewer"] as const;
export type Role = (typeof ROLES)[number];

/** Who is calling, as a verified token says: the user, the user's teams and role, and the token itself. */
export interface Identity {
  readonly user: string;
  readonly teams: readonly string[];
  readonly role: Role;
  /** The token's id (`jti`). */
  readonly tokenId: string;
  readonly expiresAtMs: number;
}

export function isRole(v: string): v is Role {
  return (ROLES as readonly string[]).includes(v);
}

// User names: lowercase, may be e-mail-like. Team names: DNS labels, as Kubernetes namespaces (a PyTorchJob's
// namespace becomes its team).
const USER = /^[a-z0-9]([a-z0-9._@-]{0,126}[a-z0-9])?$/;
const TEAM = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

export function checkUserName(name: string, field = "user"): string {
  if (!USER.test(name)) {
    throw new SwitchyardError(Code.InvalidArgument, `${field}: "${name}" is not a valid user name`, {
      details: [{ field, message: "is not a valid user name", expected: "lowercase letters, digits, '.', '_', '-', '@' (1–128 characters)", got: JSON.stringify(name), hint: "e.g. alice or alice@example.com" }],
    });
  }
  return name;
}

export function checkTeamName(name: string, field = "teams"): string {
  if (!TEAM.test(name)) {
    throw new SwitchyardError(Code.InvalidArgument, `${field}: "${name}" is not a valid team name`, {
      details: [{ field, message: "is not a valid team name", expected: "a DNS label: lowercase letters, digits and '-' (1–63 characters)", got: JSON.stringify(name), hint: "e.g. vision or nlp-research" }],
    });
  }
  return name;
}

export function checkRole(role: string, field = "role"): Role {
  if (!isRole(role)) {
    throw new SwitchyardError(Code.InvalidArgument, `${field}: "${role}" is not a role (one of ${ROLES.join(", ")})`, {
      details: [{ field, message: "is not a role", expected: ROLES.join(" | "), got: JSON.stringify(role), hint: "admins see and do everything, members submit and cancel their teams' jobs, viewers only read" }],
    });
  }
  return role;
}
