import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from "kysely";
import { Code, SwitchyardError } from "@switchyard/core";

export interface SqliteOptions {
  /** The database file; its directory is created. `:memory:` for a throwaway database. */
  path: string;
  /** Migrations by name, applied in name order (e.g. `0001_jobs`). Each service owns its own. */
  migrations: Record<string, Migration>;
}

export interface OpenedDatabase<DB> {
  db: Kysely<DB>;
  /** The underlying better-sqlite3 handle, for synchronous transactions on hot paths. */
  raw: Database.Database;
  close(): Promise<void>;
}

/**
 * Opens a SQLite database the way every service wants it: WAL (readers never block the writer), synchronous=NORMAL
 * (durable across process crashes; an OS crash may lose the last transactions), a busy timeout, foreign keys, and
 * the service's migrations applied before anything else touches it.
 */
export async function openSqlite<DB>(options: SqliteOptions): Promise<OpenedDatabase<DB>> {
  if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
  const raw = new Database(options.path);
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  raw.pragma("busy_timeout = 5000");
  raw.pragma("foreign_keys = ON");
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: raw }) });
  const provider: MigrationProvider = { getMigrations: async () => options.migrations };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    await db.destroy();
    throw new SwitchyardError(Code.FailedPrecondition, `database ${options.path}: migration ${failed} failed: ${String(error)}`, { cause: error });
  }
  return { db, raw, close: () => db.destroy() };
}
