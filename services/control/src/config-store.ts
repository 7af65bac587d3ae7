import type { Kysely, Migration } from "@switchyard/store";

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

export interface ControlDatabase {
  documents: DocumentsTable;
  revision: RevisionTable;
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
};
