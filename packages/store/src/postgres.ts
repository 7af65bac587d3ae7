/**
 * The `postgres` store driver: Kysely's PostgresDialect over a node-postgres pool, chosen by a `postgres://` location
 * (postgres-url.ts). It runs the services' store modules and migrations unchanged and with SQLite's semantics:
 *
 * - Each service keeps its tables in its own schema (`options.schema`, the service's name), so every service can share
 *   one database: the schema is created when missing and is the `search_path` of every pooled connection; the
 *   migrations' bookkeeping tables (Kysely's Migrator) live in it too.
 * - Migrations are the SQLite ones, their column types translated by SqliteDdlForPostgresPlugin (postgres-ddl.ts).
 * - Values come back with SQLite's JS types: bigint and numeric as numbers (a value past ±2^53−1 is an error, never a
 *   rounded number), double precision as numbers, text as strings, bytea as Buffers.
 * - ONE connection by default. SQLite serialises every write (and Kysely's SQLite driver every statement) in a
 *   service's one process; the stores' read-modify-write code (`insertJob`'s replace, ConfigService's changes, …) was
 *   written against that. One connection gives PostgreSQL the same order: a transaction holds the connection, every
 *   other query waits for it. `?pool=N` widens the pool — then concurrent transactions interleave at READ COMMITTED,
 *   and only a store whose transactions are safe so (or that uses the constraint it relies on) may ask for it.
 * - Durability is the server's: nothing here turns synchronous_commit off, so an acknowledged commit survives a crash.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { CompiledQuery, Kysely, Migrator, PostgresDialect, type MigrationProvider } from "kysely";
import pg from "pg";
import { SqliteDdlForPostgresPlugin } from "./postgres-ddl.js";
import { parsePostgresLocation, type PostgresLocation } from "./postgres-url.js";
import type { ConstraintKind, OpenedStore, StoreDriverOptions } from "./store-types.js";

/** A PostgreSQL schema name Switchyard creates: lowercase, so it needs no quoting anywhere (psql, pg_dump's --schema). */
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Which constraint a failed statement broke, from its SQLSTATE (never from the message text). */
export function postgresConstraintOf(err: unknown): ConstraintKind | undefined {
  if (!(err instanceof pg.DatabaseError)) return undefined;
  switch (err.code) {
    case "23505":
      return "unique";
    case "23503":
      return "foreignKey";
    case "23502":
      return "notNull";
    case "23514":
      return "check";
    default:
      return undefined;
  }
}

/** The schema the driver uses, checked: INVALID_ARGUMENT when missing or not a plain lowercase name. */
export function postgresSchema(options: { schema?: string | undefined }, redacted: string): string {
  const schema = options.schema;
  if (schema === undefined || !SCHEMA_NAME.test(schema)) {
    const what = schema === undefined ? "no schema was given" : `schema "${schema}" is not a lowercase name of letters, digits and '_'`;
    throw new SwitchyardError(Code.InvalidArgument, `PostgreSQL store ${redacted}: ${what}: each service keeps its tables in its own schema, named after it (storeOptionsFor sets it)`, {
      details: [{ field: "schema", message: what, expected: "a schema name such as jobs", got: schema ?? "" }],
    });
  }
  return schema;
}

/** The `postgres` store driver: `location` a postgres:// URL, `schema` the service's schema. */
export async function openPostgresStore<DB>(options: StoreDriverOptions): Promise<OpenedStore<DB>> {
  const where = parsePostgresLocation(options.location);
  const schema = postgresSchema(options, where.redacted);
  await ensureSchema(where, schema);
  const pool = new pg.Pool({ ...clientConfig(where, schema), max: where.poolSize, idleTimeoutMillis: 0, keepAlive: true });
  // A pooled connection that breaks while idle (the server restarted) is dropped by the pool and replaced on the next
  // query; without a listener its 'error' event would end the process.
  pool.on("error", () => undefined);
  const db = new Kysely<DB>({
    dialect: new PostgresDialect({
      pool,
      onCreateConnection: (connection) => connection.executeQuery(CompiledQuery.raw(`set search_path to "${schema}"`)).then(() => undefined),
    }),
    plugins: [new SqliteDdlForPostgresPlugin()],
  });
  const provider: MigrationProvider = { getMigrations: async () => options.migrations };
  const { error, results } = await new Migrator({ db, provider, migrationTableSchema: schema }).migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === "Error")?.migrationName ?? "unknown";
    await db.destroy();
    throw new SwitchyardError(Code.FailedPrecondition, `PostgreSQL store ${where.redacted} schema ${schema}: migration ${failed} failed: ${String(error)}`, { cause: error });
  }
  return { driver: "postgres", db, constraintOf: postgresConstraintOf, close: () => db.destroy() };
}

/** What every connection of the driver (and of its probe) is configured with. */
export function clientConfig(where: PostgresLocation, schema: string): pg.ClientConfig {
  return { connectionString: where.connectionString, application_name: `switchyard-${schema}`, types: { getTypeParser } as pg.CustomTypesConfig };
}

/**
 * Connects once, with a deadline, to turn "cannot connect" into a message that says which URL, what failed and what to
 * do (the pool itself waits as long as a query does), and creates the service's schema when it is missing.
 */
async function ensureSchema(where: PostgresLocation, schema: string): Promise<void> {
  await withPostgresClient(where, (client) => createSchemaIfMissing(client, where, schema), clientConfig(where, schema));
}

/**
 * One client for a few statements: connected with a deadline (a failure is `connectError`'s message, naming the URL
 * without its password), always ended. `config` defaults to the location's connection string alone.
 */
export async function withPostgresClient<T>(where: PostgresLocation, fn: (client: pg.Client) => Promise<T>, config: pg.ClientConfig = { connectionString: where.connectionString }): Promise<T> {
  const client = new pg.Client({ ...config, connectionTimeoutMillis: 10_000 });
  client.on("error", () => undefined);
  try {
    await client.connect();
  } catch (err) {
    await client.end().catch(() => undefined);
    throw connectError(where, err);
  }
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createSchemaIfMissing(client: pg.Client, where: PostgresLocation, schema: string): Promise<void> {
  try {
    const found = await client.query("select 1 from pg_namespace where nspname = $1", [schema]);
    if (found.rowCount === 0) await client.query(`create schema if not exists "${schema}"`);
  } catch (err) {
    // Two processes creating the same schema at once: the loser sees a duplicate; the schema is there either way.
    const code = err instanceof pg.DatabaseError ? err.code : undefined;
    if (code !== "23505" && code !== "42P06") {
      const fix = code === "42501" ? `: grant the user CREATE on the database, or create the schema for it (create schema ${schema} authorization USER)` : "";
      throw new SwitchyardError(code === "42501" ? Code.PermissionDenied : Code.Unavailable, `PostgreSQL ${where.redacted}: cannot create schema ${schema}: ${errorText(err)}${fix}`, { cause: err });
    }
  }
}

/** A failed connection as a SwitchyardError: which URL (password hidden), what failed, how to fix it. */
export function connectError(where: PostgresLocation, err: unknown): SwitchyardError {
  const code = err instanceof pg.DatabaseError ? err.code : undefined;
  const reason = errorText(err);
  if (code === "28P01" || code === "28000") {
    return new SwitchyardError(Code.Unauthenticated, `PostgreSQL ${where.redacted} refused the login: ${reason}. Check the user and password in the URL, and that the server's pg_hba.conf admits this user from this host`, { cause: err });
  }
  if (code === "3D000") {
    return new SwitchyardError(Code.FailedPrecondition, `PostgreSQL ${where.redacted}: ${reason}. Create it (createdb, or "create database …" in psql) or name an existing database in the URL's path`, { cause: err });
  }
  return new SwitchyardError(
    Code.Unavailable,
    `cannot reach PostgreSQL at ${where.redacted}: ${reason}. Is the server running and listening there (for a unix socket, ?host= names its directory)? ` +
      "For tests, scripts/postgres-local.sh start DIR starts one and prints its URL",
    { cause: err },
  );
}

/** An error's message with its code (SQLSTATE or errno name) when the message does not say it already. */
function errorText(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(errorText).join("; ");
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return typeof code === "string" && !err.message.includes(code) ? `${err.message} (${code})` : err.message;
}

const INT8 = 20;
const NUMERIC = 1700;

/** node-postgres returns int8 and numeric as strings; the stores want SQLite's numbers, exact or not at all. */
function getTypeParser(oid: number, format?: string): (value: string) => unknown {
  if (oid === INT8 || oid === NUMERIC) return oid === INT8 ? parseInt8 : parseNumeric;
  return pg.types.getTypeParser(oid, format as "text");
}

function parseInt8(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw beyondSafe(value);
  return n;
}

function parseNumeric(value: string): number {
  const n = Number(value);
  if (Math.abs(n) > Number.MAX_SAFE_INTEGER) throw beyondSafe(value);
  return n;
}

function beyondSafe(value: string): SwitchyardError {
  return new SwitchyardError(Code.OutOfRange, `PostgreSQL returned ${value}, beyond the integers JavaScript holds exactly (±${Number.MAX_SAFE_INTEGER}): the stores read numbers, and this one would be rounded`);
}
