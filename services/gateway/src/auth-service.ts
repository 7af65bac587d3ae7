import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Auth, Platform, type TokenSchema } from "@switchyard/api";
import { Code, SwitchyardError, parseSinceMs } from "@switchyard/core";
import type { AuditLog } from "./audit.js";
import { edgeService, type EdgeCall, type EdgeService } from "./edge-service.js";
import { checkRole, checkTeamName, checkUserName, type Identity, type Role } from "./identity.js";
import { TokenAuthority } from "./token-authority.js";
import type { TokenRow, TokenStore } from "./token-store.js";

export interface AuthServiceDeps {
  authority: TokenAuthority;
  store: TokenStore;
  /** Set (to the reason) on a single-user platform: member tokens are refused. */
  singleUser?: string;
  /**
   * Removes a user's delegation grants (all of them, or those for one team): what lets serving and experiments act
   * for them after their calls. None: the platform records no grants (a gateway without the mesh, in tests).
   */
  revokeGrants?: (user: string, team?: string) => Promise<number>;
}

/** The most teams one user belongs to (their token carries them all). */
const MAX_TEAMS = 64;

function requireAdmin(id: Identity, what: string): void {
  if (id.role !== "admin") throw new SwitchyardError(Code.PermissionDenied, `only admins ${what} (you are ${id.user}, ${id.role})`);
}

function tokenInfo(r: TokenRow): MessageInitShape<typeof TokenSchema> {
  return {
    id: r.jti,
    user: r.user,
    teams: JSON.parse(r.teams) as string[],
    role: r.role,
    issuedAt: timestampFromMs(r.issued_at),
    expiresAt: timestampFromMs(r.expires_at),
    ...(r.revoked_at !== null ? { revokedAt: timestampFromMs(r.revoked_at) } : {}),
    description: r.description,
    issuedBy: r.issued_by,
  };
}

/** Issues a token for `user` (created when new, added to `teams`), carrying the user's teams and role. */
export async function issueUserToken(
  d: AuthServiceDeps,
  input: { user: string; teams: readonly string[]; role?: Role; ttlSeconds?: number; description?: string; issuedBy: string },
): Promise<{ token: string; row: TokenRow }> {
  const existing = await d.store.user(input.user);
  if (new Set([...(existing?.teams ?? []), ...input.teams]).size > MAX_TEAMS) {
    throw new SwitchyardError(Code.InvalidArgument, `teams: ${input.user} would belong to more than ${MAX_TEAMS} teams`, { details: [{ field: "teams", message: "too many teams", expected: `at most ${MAX_TEAMS} in all` }] });
  }
  const role = input.role ?? existing?.role ?? "member";
  if (d.singleUser && role === "member") {
    throw new SwitchyardError(Code.FailedPrecondition, `this is a single-user platform (${d.singleUser}): a member's job would run with the platform's own rights and could read its keys and every team's data, so no member tokens are issued. Install bubblewrap (Debian: apt-get install bubblewrap) or run the platform as root with users.yaml; viewer and admin tokens still work`);
  }
  if (!existing && input.teams.length === 0) {
    throw new SwitchyardError(Code.InvalidArgument, `teams: ${input.user} is a new user and needs a team`, {
      details: [{ field: "teams", message: "is empty for a new user", expected: "at least one team", hint: "add --team TEAM (e.g. --team default)" }],
    });
  }
  // A token carries its user's role: when the role changes, the tokens that carry the old one stop working (an admin
  // made member would otherwise keep acting as admin until their tokens expired).
  if (existing?.role === "admin" && input.role && input.role !== "admin" && (await d.store.adminCount()) <= 1) {
    throw new SwitchyardError(Code.FailedPrecondition, `${input.user} is the last admin: make another user admin first`);
  }
  if (existing && input.role && input.role !== existing.role) {
    await d.authority.revoke((await d.store.tokens({ user: input.user, activeAt: d.authority.now() })).map((t) => t.jti));
    // So do the grants given with the old role (a demoted user's deployments and experiments stop acting with it).
    await d.revokeGrants?.(input.user);
  }
  await d.store.upsertUser(input.user, input.role, input.teams, d.authority.now());
  const user = (await d.store.user(input.user))!;
  return d.authority.issue({
    user: user.name,
    teams: user.teams,
    role: user.role,
    ...(input.ttlSeconds ? { ttlMs: input.ttlSeconds * 1000 } : {}),
    ...(input.description ? { description: input.description } : {}),
    issuedBy: input.issuedBy,
  });
}

/** The Auth service, answered by the gateway itself: tokens and users. */
export function authService(d: AuthServiceDeps): EdgeService {
  return edgeService(Auth, {
    async createToken(req, call: EdgeCall) {
      requireAdmin(call.identity, "create tokens");
      const user = checkUserName(req.user);
      // A token carries its user's teams, and travels in a header on every call: a few dozen teams, not thousands.
      if (req.teams.length > MAX_TEAMS) {
        throw new SwitchyardError(Code.InvalidArgument, `teams: ${req.teams.length} teams, more than ${MAX_TEAMS}`, { details: [{ field: "teams", message: "too many teams", expected: `at most ${MAX_TEAMS}`, got: String(req.teams.length), hint: "give the user the teams they work in" }] });
      }
      const teams = [...new Set(req.teams.map((t) => checkTeamName(t)))];
      const role = req.role ? checkRole(req.role) : undefined;
      const ttl = Number(req.ttlSeconds);
      if (req.ttlSeconds !== 0n && (ttl < 60 || ttl > d.authority.maxTtlSeconds)) {
        throw new SwitchyardError(Code.InvalidArgument, `ttlSeconds: ${req.ttlSeconds} is out of range`, {
          details: [{ field: "ttlSeconds", message: "is out of range", expected: `60 to ${d.authority.maxTtlSeconds} seconds, or 0 for the default (30 days)`, got: String(req.ttlSeconds), hint: "e.g. --ttl 30d" }],
        });
      }
      const { token, row } = await issueUserToken(d, {
        user,
        teams,
        ...(role ? { role } : {}),
        ...(ttl ? { ttlSeconds: ttl } : {}),
        ...(req.description ? { description: req.description } : {}),
        issuedBy: call.identity.user,
      });
      return { token, info: tokenInfo(row) };
    },

    async revokeToken(req, call) {
      const me = call.identity;
      const admin = me.role === "admin";
      if (!req.id && !req.token && !req.user) {
        throw new SwitchyardError(Code.InvalidArgument, "id: say which token to revoke", { details: [{ field: "id", message: "is required (or token, or user)", hint: "`switchyard token revoke ID` (ids from `switchyard token list`), or --user USER for all of a user's tokens" }] });
      }
      const named: string[] = [];
      if (req.id) named.push(req.id);
      if (req.token) {
        const id = TokenAuthority.idOf(req.token);
        if (!id) throw new SwitchyardError(Code.InvalidArgument, "token: is not a Switchyard token", { details: [{ field: "token", message: "is not a token", hint: "pass the token's text as printed by `switchyard token create`, or its id (`switchyard token list`)" }] });
        named.push(id);
      }
      for (const id of named) {
        const row = await d.store.token(id);
        // Another user's token looks exactly like a missing one to a non-admin.
        if (!row || (!admin && row.user !== me.user)) throw new SwitchyardError(Code.NotFound, `no token ${id}${admin ? "" : " of yours"}: list them with \`switchyard token list\``);
      }
      const ids = new Set(named);
      if (req.user) {
        if (!admin && req.user !== me.user) throw new SwitchyardError(Code.PermissionDenied, `only admins revoke another user's tokens (you are ${me.user})`);
        if (admin && !(await d.store.user(req.user))) {
          const known = (await d.store.users()).map((u) => u.name);
          throw new SwitchyardError(Code.NotFound, `no user ${req.user}; users: ${known.join(", ") || "none"}`, {
            details: [{ field: "user", message: "is not a user", expected: known.join(" | "), got: JSON.stringify(req.user), hint: "`switchyard users` lists them" }],
          });
        }
        for (const t of await d.store.tokens({ user: req.user, activeAt: d.authority.now() })) ids.add(t.jti);
      }
      return { revoked: await d.authority.revoke([...ids]) };
    },

    async listTokens(req, call) {
      const me = call.identity;
      if (me.role !== "admin" && req.user && req.user !== me.user) throw new SwitchyardError(Code.PermissionDenied, `only admins list another user's tokens (you are ${me.user})`);
      const user = me.role === "admin" ? req.user : me.user;
      const rows = await d.store.tokens({ ...(user ? { user } : {}), ...(req.includeInactive ? {} : { activeAt: d.authority.now() }) });
      return { tokens: rows.map(tokenInfo) };
    },

    async listUsers(_req, call) {
      requireAdmin(call.identity, "list users");
      return { users: (await d.store.users()).map((u) => ({ name: u.name, role: u.role, teams: u.teams, createdAt: timestampFromMs(u.createdAt) })) };
    },

    async deleteUser(req, call) {
      requireAdmin(call.identity, "delete users");
      const name = checkUserName(req.user);
      const user = await d.store.user(name);
      if (!user) throw new SwitchyardError(Code.NotFound, `no user ${name}: list them with \`switchyard users\``);
      if (name === call.identity.user) throw new SwitchyardError(Code.FailedPrecondition, `you cannot delete yourself (${name}): another admin can`);
      if (user.role === "admin" && (await d.store.adminCount()) <= 1) {
        throw new SwitchyardError(Code.FailedPrecondition, `${name} is the last admin: make another user admin first (\`switchyard token create --user U --role admin\`)`);
      }
      // Tokens first: from this moment none of theirs is accepted, even if deleting the rows below fails.
      const revoked = await d.authority.revoke((await d.store.tokens({ user: name, activeAt: d.authority.now() })).map((t) => t.jti));
      // Then their grants: the services they gave them to stop acting for them. Before the user row goes, so a
      // failure here (control away) leaves a user to delete again, not grants of a user who no longer exists.
      await d.revokeGrants?.(name);
      await d.store.deleteUser(name);
      return { revoked };
    },

    async removeMembership(req, call) {
      requireAdmin(call.identity, "change memberships");
      const name = checkUserName(req.user);
      const team = checkTeamName(req.team);
      const user = await d.store.user(name);
      if (!user) throw new SwitchyardError(Code.NotFound, `no user ${name}: list them with \`switchyard users\``);
      if (!user.teams.includes(team)) throw new SwitchyardError(Code.NotFound, `${name} is not in team ${team} (teams: ${user.teams.join(", ")})`);
      if (user.teams.length === 1) throw new SwitchyardError(Code.FailedPrecondition, `${team} is ${name}'s only team: add another first, or delete the user (\`switchyard users delete ${name}\`)`);
      // A token names the teams its user had when issued: those naming this team stop working now.
      const carrying = (await d.store.tokens({ user: name, activeAt: d.authority.now() })).filter((t) => (JSON.parse(t.teams) as string[]).includes(team));
      const revoked = await d.authority.revoke(carrying.map((t) => t.jti));
      await d.revokeGrants?.(name, team);
      await d.store.removeMembership(name, team);
      return { revoked, teams: user.teams.filter((t) => t !== team) };
    },
  });
}

/** The Platform service: who am I, which services run where, and the audit log. */
export function platformService(status: () => Promise<{ service: string; addresses: string[] }[]>, version: string, audit: AuditLog, clock: { now(): number }): EdgeService {
  return edgeService(Platform, {
    async listAuditEvents(req, call) {
      requireAdmin(call.identity, "read the audit log");
      const outcome = req.outcome;
      if (outcome !== "" && outcome !== "allowed" && outcome !== "denied" && outcome !== "failed") {
        throw new SwitchyardError(Code.InvalidArgument, `outcome: "${outcome.slice(0, 40)}" is not an outcome`, { details: [{ field: "outcome", message: "is not an outcome", expected: "allowed | denied | failed" }] });
      }
      if (req.limit < 0 || req.limit > 1000) {
        throw new SwitchyardError(Code.InvalidArgument, `limit: ${req.limit} is out of range`, { details: [{ field: "limit", message: "is out of range", expected: "1 to 1000, or 0 for 100", got: String(req.limit) }] });
      }
      const rows = await audit.list({
        // Empty: the last 24 hours.
        sinceMs: req.since ? parseSinceMs(req.since, clock.now()) : clock.now() - 86_400_000,
        ...(req.user ? { user: req.user } : {}),
        ...(req.method ? { method: req.method } : {}),
        ...(outcome ? { outcome } : {}),
        limit: req.limit || 100,
      });
      return { events: rows.map((r) => ({ id: BigInt(r.id), time: timestampFromMs(r.at), user: r.user, role: r.role, method: r.method, target: r.target, outcome: r.outcome, code: r.code, message: r.message })) };
    },
    async whoAmI(_req, call) {
      const id = call.identity;
      return { user: id.user, teams: [...id.teams], role: id.role };
    },
    async getStatus(_req, call) {
      // Where the services listen is for admins: the mesh ports are inside the trust boundary.
      const services = await status();
      return { services: call.identity.role === "admin" ? services : services.map((s) => ({ service: s.service, addresses: [] })), version };
    },
  });
}
