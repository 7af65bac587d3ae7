/**
 * The config center's documents and its revision counter in control.db: the only module that queries those tables
 * (scripts/check-sql.mjs keeps it so). Documents come out typed (`StoredDocument`), never as rows.
 */
import type { Kysely, Migration, Selectable } from "@switchyard/store";

export interface DocumentsTable {
  namespace: string;
  kind: string;
  name: string;
  content: string;
  version: number;
  updated_at_ms: number;
  updated_by: string;
}

export interface RevisionTable {
  id: number;
  revision: number;
}

/** Join tokens already used (identity-store.ts), kept until they expire: what makes a token one-time. */
export interface UsedJoinTokensTable {
  nonce: string;
  expires_at_ms: number;
}

/** control.db's schema: the config center's tables here, the CA's (used_join_tokens) queried by identity-store.ts. */
export interface ControlDatabase {
  documents: DocumentsTable;
  revision: RevisionTable;
  used_join_tokens: UsedJoinTokensTable;
}

export const migrations: Record<string, Migration> = {
  "0001_config": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("documents")
        .addColumn("namespace", "text", (c) => c.notNull())
        .addColumn("kind", "text", (c) => c.notNull())
        .addColumn("name", "text", (c) => c.notNull())
        .addColumn("content", "text", (c) => c.notNull())
        .addColumn("version", "integer", (c) => c.notNull())
        .addColumn("updated_at_ms", "integer", (c) => c.notNull())
        .addColumn("updated_by", "text", (c) => c.notNull().defaultTo(""))
        .addPrimaryKeyConstraint("documents_pk", ["namespace", "kind", "name"])
        .execute();
      await db.schema.createTable("revision").addColumn("id", "integer", (c) => c.primaryKey()).addColumn("revision", "integer", (c) => c.notNull()).execute();
      await db.insertInto("revision" as never).values({ id: 1, revision: 0 } as never).execute();
    },
  },
  "0002_join_tokens": {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable("used_join_tokens")
        .addColumn("nonce", "text", (c) => c.primaryKey())
        .addColumn("expires_at_ms", "integer", (c) => c.notNull())
        .execute();
    },
  },
};

/** What names a document: its primary key. */
export interface DocumentKey {
  namespace: string;
  kind: string;
  name: string;
}

export interface StoredDocument extends DocumentKey {
  content: string;
  /** 1 when first stored, one more at each change of its content. */
  version: number;
  updatedAtMs: number;
  /** The user or service that made the change. */
  updatedBy: string;
}

function toDocument(r: Selectable<DocumentsTable>): StoredDocument {
  return { namespace: r.namespace, kind: r.kind, name: r.name, content: r.content, version: r.version, updatedAtMs: r.updated_at_ms, updatedBy: r.updated_by };
}

/** The store as seen inside a transaction: everything but starting another. */
export type ConfigTransaction = Omit<ConfigStore, "transaction">;

/**
 * Queries only; what a change means (validation, versions, who may make it) is the config service's. Writes cannot
 * break a constraint: a document is stored by upsert on its key, the revision row exists from the first migration.
 */
export class ConfigStore {
  constructor(private readonly db: Kysely<ControlDatabase>) {}

  /** Runs `fn` in one transaction: its reads and writes through `tx` commit together, or not at all if it throws. */
  transaction<T>(fn: (tx: ConfigTransaction) => Promise<T>): Promise<T> {
    return this.db.transaction().execute((tx) => fn(new ConfigStore(tx)));
  }

  /** The number of committed changes so far (0 for a new database). */
  async revision(): Promise<number> {
    return Number((await this.db.selectFrom("revision").select("revision").where("id", "=", 1).executeTakeFirstOrThrow()).revision);
  }

  /** One more committed change. */
  async bumpRevision(): Promise<void> {
    await this.db.updateTable("revision").set((eb) => ({ revision: eb("revision", "+", 1) })).where("id", "=", 1).execute();
  }

  /** The documents of `namespace` (every namespace when empty), by namespace, kind and name. */
  async list(namespace: string): Promise<StoredDocument[]> {
    let q = this.db.selectFrom("documents").selectAll();
    if (namespace) q = q.where("namespace", "=", namespace);
    return (await q.orderBy("namespace").orderBy("kind").orderBy("name").execute()).map(toDocument);
  }

  async get(key: DocumentKey): Promise<StoredDocument | undefined> {
    const r = await this.db.selectFrom("documents").selectAll().where("namespace", "=", key.namespace).where("kind", "=", key.kind).where("name", "=", key.name).executeTakeFirst();
    return r && toDocument(r);
  }

  /** Stores `doc` under its key, replacing what was there. */
  async put(doc: StoredDocument): Promise<void> {
    const row = { namespace: doc.namespace, kind: doc.kind, name: doc.name, content: doc.content, version: doc.version, updated_at_ms: doc.updatedAtMs, updated_by: doc.updatedBy };
    await this.db.insertInto("documents").values(row).onConflict((oc) => oc.columns(["namespace", "kind", "name"]).doUpdateSet(row)).execute();
  }

  /** Removes the document under `key`; false when there was none. */
  async remove(key: DocumentKey): Promise<boolean> {
    const res = await this.db.deleteFrom("documents").where("namespace", "=", key.namespace).where("kind", "=", key.kind).where("name", "=", key.name).executeTakeFirst();
    return Number(res.numDeletedRows) > 0;
  }
}
