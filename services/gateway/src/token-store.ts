import type { Kysely, Migration, Selectable } from "@switchyard/store";
import type { Role } from "./identity.js";

/** The gateway's own database (`<data>/gateway/gateway.db`): signing keys, users, team memberships, issued tokens. */
export interface GatewayDatabase {
  signing_keys: { kid: string; secret: string; created_at: number };
  users: { name: string; role: string; created_at: number };
  memberships: { user: string; team: string; created_at: number };
  /** Every token issued: its id and claims (never its text), its expiry, and when it was revoked. */
  tokens: {
    jti: string;
    user: string;
    teams: string;
    role: string;
    issued_at: number;
    expires_at: number;
    revoked_at: number | null;
    description: string;
    issued_by: string;
  };
}

export type TokenRow = Selectable<GatewayDatabase["tokens"]>;

export const migrations: Record<string, Migration> = {
  "0001_auth": {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable("signing_keys").addColumn("kid", "text", (c) => c.primaryKey()).addColumn("secret", "text", (c) => c.notNull()).addColumn("created_at", "integer", (c) => c.notNull()).execute();
      await db.schema.createTable("users").addColumn("name", "text", (c) => c.primaryKey()).addColumn("role", "text", (c) => c.notNull()).addColumn("created_at", "integer", (c) => c.notNull()).execute();
      await db.schema
        .createTable("memberships")
        .addColumn("user", "text", (c) => c.notNull().references("users.name"))
        .addColumn("team", "text", (c) => c.notNull())
        .addColumn("created_at", "integer", (c) => c.notNull())
        .addPrimaryKeyConstraint("memberships_pk", ["user", "team"])
        .execute();
      await db.schema
        .createTable("tokens")
        .addColumn("jti", "text", (c) => c.primaryKey())
        .addColumn("user", "text", (c) => c.notNull())
        .addColumn("teams", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("issued_at", "integer", (c) => c.notNull())
        .addColumn("expires_at", "integer", (c) => c.notNull())
        .addColumn("revoked_at", "integer")
        .addColumn("description", "text", (c) => c.notNull().defaultTo(""))
        .addColumn("issued_by", "text", (c) => c.notNull().defaultTo(""))
        .execute();
      await db.schema.createIndex("tokens_user").on("tokens").column("user").execute();
    },
  },
};

/** The gateway's queries, in one place. */
export class TokenStore {
  constructor(readonly db: Kysely<GatewayDatabase>) {}

  async signingKey(): Promise<{ kid: string; secret: string } | undefined> {
    return this.db.selectFrom("signing_keys").select(["kid", "secret"]).orderBy("created_at", "desc").orderBy("kid", "desc").executeTakeFirst();
  }

  async addSigningKey(kid: string, secret: string, now: number): Promise<void> {
    await this.db.insertInto("signing_keys").values({ kid, secret, created_at: now }).onConflict((oc) => oc.doNothing()).execute();
  }

  async user(name: string): Promise<{ name: string; role: Role; teams: string[]; createdAt: number } | undefined> {
    const u = await this.db.selectFrom("users").selectAll().where("name", "=", name).executeTakeFirst();
    if (!u) return undefined;
    const teams = await this.db.selectFrom("memberships").select("team").where("user", "=", name).orderBy("team").execute();
    return { name: u.name, role: u.role as Role, teams: teams.map((t) => t.team), createdAt: u.created_at };
  }

  async users(): Promise<{ name: string; role: Role; teams: string[]; createdAt: number }[]> {
    const users = await this.db.selectFrom("users").selectAll().orderBy("name").execute();
    const ms = await this.db.selectFrom("memberships").select(["user", "team"]).orderBy("team").orderBy("user").execute();
    return users.map((u) => ({ name: u.name, role: u.role as Role, teams: ms.filter((m) => m.user === u.name).map((m) => m.team), createdAt: u.created_at }));
  }

  /** Creates the user or updates its role, and adds it to `teams`; all in one transaction. */
  async upsertUser(name: string, role: Role | undefined, teams: readonly string[], now: number): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx
        .insertInto("users")
        .values({ name, role: role ?? "member", created_at: now })
        .onConflict((oc) => (role ? oc.column("name").doUpdateSet({ role }) : oc.column("name").doNothing()))
        .execute();
      for (const team of teams) await tx.insertInto("memberships").values({ user: name, team, created_at: now }).onConflict((oc) => oc.doNothing()).execute();
    });
  }

  /** How many users have the admin role. */
  async adminCount(): Promise<number> {
    const r = await this.db.selectFrom("users").select((eb) => eb.fn.countAll<number>().as("n")).where("role", "=", "admin").executeTakeFirstOrThrow();
    return Number(r.n);
  }

  /** Deletes a user and their memberships in one transaction; false when there was no such user. */
  async deleteUser(name: string): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom("memberships").where("user", "=", name).execute();
      const r = await tx.deleteFrom("users").where("name", "=", name).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    });
  }

  /** Takes a user out of a team; false when they were not in it. */
  async removeMembership(user: string, team: string): Promise<boolean> {
    const r = await this.db.deleteFrom("memberships").where("user", "=", user).where("team", "=", team).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  async insertToken(row: TokenRow): Promise<void> {
    await this.db.insertInto("tokens").values(row).execute();
  }

  async token(jti: string): Promise<TokenRow | undefined> {
    return this.db.selectFrom("tokens").selectAll().where("jti", "=", jti).executeTakeFirst();
  }

  async tokens(filter: { user?: string; activeAt?: number }): Promise<TokenRow[]> {
    let q = this.db.selectFrom("tokens").selectAll();
    if (filter.user) q = q.where("user", "=", filter.user);
    if (filter.activeAt !== undefined) q = q.where("revoked_at", "is", null).where("expires_at", ">", filter.activeAt);
    return q.orderBy("issued_at", "asc").orderBy("jti", "asc").execute();
  }

  /** Marks tokens revoked; returns the ids that were not revoked before. */
  async revoke(jtis: readonly string[], now: number): Promise<string[]> {
    if (jtis.length === 0) return [];
    const fresh = await this.db.selectFrom("tokens").select("jti").where("jti", "in", jtis).where("revoked_at", "is", null).execute();
    if (fresh.length === 0) return [];
    await this.db.updateTable("tokens").set({ revoked_at: now }).where("jti", "in", fresh.map((r) => r.jti)).execute();
    return fresh.map((r) => r.jti);
  }

  /** Ids of revoked tokens that have not expired yet (expired ones are refused anyway). */
  async revokedUnexpired(now: number): Promise<string[]> {
    return (await this.db.selectFrom("tokens").select("jti").where("revoked_at", "is not", null).where("expires_at", ">", now).orderBy("jti").execute()).map((r) => r.jti);
  }
}
