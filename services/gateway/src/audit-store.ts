/**
 * The audit log's table in gateway.db: append-only rows written by audit.ts, read newest first, deleted only by the
 * retention sweep. The only module that queries it (scripts/check-sql.mjs).
 */
import type { Generated, Kysely, Migration, Selectable } from "@switchyard/store";

export interface AuditTable {
  id: Generated<number>;
  at: number;
  user: string;
  role: string;
  method: string;
  target: string;
  outcome: string;
  code: string;
  message: string;
}

export interface AuditDatabase {
  audit: AuditTable;
}

/** A stored event; `at` in ms, `code` a gRPC status name ("" when allowed). */
export type AuditRow = Omit<Selectable<AuditTable>, "outcome"> & { outcome: "allowed" | "denied" | "failed" };

export type NewAuditRow = Omit<AuditRow, "id">;

export interface AuditFilter {
  sinceMs: number;
  user?: string;
  /** Substring of the method's full name. */
  method?: string;
  outcome?: AuditRow["outcome"];
  limit: number;
}

export const auditMigrations: Record<string, Migration> = {
  "0002_audit": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("audit")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("at", "integer", (c) => c.notNull())
        .addColumn("user", "text", (c) => c.notNull())
        .addColumn("role", "text", (c) => c.notNull())
        .addColumn("method", "text", (c) => c.notNull())
        .addColumn("target", "text", (c) => c.notNull())
        .addColumn("outcome", "text", (c) => c.notNull())
        .addColumn("code", "text", (c) => c.notNull())
        .addColumn("message", "text", (c) => c.notNull())
        .execute();
      await db.schema.createIndex("audit_at").on("audit").column("at").execute();
      await db.schema.createIndex("audit_user_at").on("audit").columns(["user", "at"]).execute();
    },
  },
};

export class AuditStore {
  constructor(private readonly db: Kysely<AuditDatabase>) {}

  /**
   * Appends rows: one statement per 500 (4,000 bound values: SQLite binds at most 32,766 a statement, PostgreSQL
   * 65,535), all in one transaction.
   */
  async append(rows: readonly NewAuditRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length <= 500) {
      await this.db.insertInto("audit").values([...rows]).execute();
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += 500) await tx.insertInto("audit").values(rows.slice(i, i + 500)).execute();
    });
  }

  async list(f: AuditFilter): Promise<AuditRow[]> {
    let q = this.db.selectFrom("audit").selectAll().where("at", ">=", f.sinceMs);
    if (f.user) q = q.where("user", "=", f.user);
    if (f.outcome) q = q.where("outcome", "=", f.outcome);
    // A substring test, not LIKE: the caller's text is matched as it is (`%` and `_` included) and case-sensitively
    // (SQLite's LIKE ignores ASCII case, PostgreSQL's does not). Written with replace and length, which both databases
    // have (SQLite's instr is PostgreSQL's strpos): removing the text shortens the name only where it occurs.
    if (f.method) q = q.where((eb) => eb(eb.fn("length", [eb.fn("replace", ["method", eb.val(f.method), eb.val("")])]), "<", eb.fn("length", ["method"])));
    const rows = await q.orderBy("id", "desc").limit(f.limit).execute();
    return rows as AuditRow[];
  }

  /** Deletes rows older than `beforeMs`, then the oldest beyond `maxRows`; returns how many went. */
  async sweep(beforeMs: number, maxRows: number): Promise<number> {
    const old = await this.db.deleteFrom("audit").where("at", "<", beforeMs).executeTakeFirst();
    const newestKept = await this.db.selectFrom("audit").select("id").orderBy("id", "desc").offset(maxRows).limit(1).executeTakeFirst();
    const over = newestKept ? await this.db.deleteFrom("audit").where("id", "<=", newestKept.id).executeTakeFirst() : undefined;
    return Number(old.numDeletedRows) + Number(over?.numDeletedRows ?? 0);
  }
}
