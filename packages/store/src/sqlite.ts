import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Kysely, Migrator, SqliteDialect, type Migration, type MigrationProvider } from "kysely";
import { Code, SwitchyardError } from "@switchyard/core";
import type { ConstraintKind, OpenedStore, StoreDriverOptions } from "./store-types.js";

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
  if (options.path !== ":memory:") {
    // The database is its service's alone: 0700 directory, 0600 file (SQLite gives its -wal and -shm files the
    // database file's mode), created that way rather than fixed afterwards.
    mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
    closeSync(openSync(options.path, "a", 0o600));
  }
  const raw = new Database(options.path);
  raw.pragma("journal_mode = WAL");
  raw.pragma("synchronous = NORMAL");
  raw.pragma("busy_timeout = 5000");
  raw.pragma("foreign_keys = ON");
  const db = new Kysely<DB>({ dialect: new SqliteDialect({ database: withStatementCache(raw) }) });
  const provider: MigrationProvider = { getMigrations: async () => options.migrations };
  const { error, results } = await new Migrator({ db, provider }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    await db.destroy();
    throw new SwitchyardError(Code.FailedPrecondition, `database ${options.path}: migration ${failed} failed: ${String(error)}`, { cause: error });
  }
  return { db, raw, close: () => db.destroy() };
}

/**
 * What a failed statement broke, from better-sqlite3's error code (`SQLITE_CONSTRAINT_UNIQUE`, …): never from the
 * message text.
 */
export function sqliteConstraintOf(err: unknown): ConstraintKind | undefined {
  if (!(err instanceof Database.SqliteError)) return undefined;
  switch (err.code) {
    case "SQLITE_CONSTRAINT_UNIQUE":
    case "SQLITE_CONSTRAINT_PRIMARYKEY":
      return "unique";
    case "SQLITE_CONSTRAINT_FOREIGNKEY":
      return "foreignKey";
    case "SQLITE_CONSTRAINT_NOTNULL":
      return "notNull";
    case "SQLITE_CONSTRAINT_CHECK":
      return "check";
    default:
      return undefined;
  }
}

/** The `sqlite` store driver: `location` is the database file (`:memory:` for a throwaway one). */
export async function openSqliteStore<DB>(options: StoreDriverOptions): Promise<OpenedStore<DB>> {
  const opened = await openSqlite<DB>({ path: options.location, migrations: options.migrations });
  return { driver: "sqlite", db: opened.db, constraintOf: sqliteConstraintOf, close: opened.close };
}

/**
 * Kysely's SQLite driver prepares every query anew; preparing costs more than running a small query. Kysely builds the
 * same SQL text for the same query shape (values are parameters), so caching statements by text removes that cost.
 * Statements are used synchronously one at a time, so sharing one per text is safe.
 */
function withStatementCache(raw: Database.Database): Database.Database {
  const cache = new Map<string, Database.Statement>();
  const prepare = raw.prepare.bind(raw);
  return new Proxy(raw, {
    get(target, prop, receiver) {
      if (prop === "prepare") {
        return (source: string) => {
          let stmt = cache.get(source);
          if (!stmt) {
            stmt = prepare(source);
            if (cache.size < 1000) cache.set(source, stmt);
          }
          return stmt;
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
}
