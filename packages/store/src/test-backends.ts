/**
 * The back ends the store contract tests run on (`@switchyard/store/testing`): always `sqlite` (a file in a temp
 * directory), and `postgres` when SWITCHYARD_TEST_POSTGRES holds a URL (scripts/postgres-local.sh start DIR prints
 * one). Every `fresh()` database is a test's own — a new file, or a schema of a random name — and `dispose()` removes
 * it. When the variable is set and the server cannot be reached, `fresh()` throws and the tests FAIL (CI sets it and
 * must not pass by skipping); when it is not set, the postgres suites are registered as skipped, one line each.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe } from "node:test";
import pg from "pg";
import { withPostgresClient } from "./postgres.js";
import { parsePostgresLocation, postgresUrlWithDatabase } from "./postgres-url.js";
import { openStore } from "./store-registry.js";
import type { Migration } from "kysely";
import type { OpenedStore, StoreOptions } from "./store-types.js";

export const TEST_POSTGRES_ENV = "SWITCHYARD_TEST_POSTGRES";

export interface TestStoreBackend {
  readonly name: "sqlite" | "postgres";
  /** Why this back end's tests do not run (postgres without SWITCHYARD_TEST_POSTGRES); undefined when they do. */
  readonly skip: string | undefined;
  /** The server's URL (postgres), for tests of the driver itself. */
  readonly url: string | undefined;
  /** A new, empty database for one test. */
  fresh(): Promise<TestDatabase>;
}

export interface TestDatabase {
  /** What openStore, backupStore and restoreStore take, less the migrations. */
  readonly options: Omit<StoreOptions, "migrations"> & { schema: string };
  /** Opens the database (again: it persists until `dispose`) with the service's migrations. */
  open<DB>(migrations: Record<string, Migration>): Promise<OpenedStore<DB>>;
  /** Closes what `open` opened and is still open, and removes the database (drops the schema, deletes the file). */
  dispose(): Promise<void>;
}

/** The back ends to test on, from `env` (process.env by default). */
export function storeBackends(env: Readonly<Record<string, string | undefined>> = process.env): TestStoreBackend[] {
  const url = env[TEST_POSTGRES_ENV]?.trim() ?? "";
  return [
    { name: "sqlite", skip: undefined, url: undefined, fresh: async () => freshSqlite() },
    {
      name: "postgres",
      skip: url === "" ? `${TEST_POSTGRES_ENV} is not set: the postgres half was not run (url=$(scripts/postgres-local.sh start /tmp/pg) and set it to run it)` : undefined,
      url: url === "" ? undefined : url,
      fresh: () => freshPostgres(url),
    },
  ];
}

/** `describe(title on <backend>)` once per back end, the postgres one skipped (with its reason) when not configured. */
export function describeEachStoreBackend(title: string, fn: (backend: TestStoreBackend) => void): void {
  for (const backend of storeBackends()) describe(`${title} (${backend.name})`, backend.skip === undefined ? {} : { skip: backend.skip }, () => fn(backend));
}

function tracking(options: TestDatabase["options"], remove: () => Promise<void>): TestDatabase {
  const open = new Set<OpenedStore<unknown>>();
  return {
    options,
    async open<DB>(migrations: Record<string, Migration>) {
      const store = await openStore<DB>({ ...options, migrations });
      const close = store.close.bind(store);
      const tracked: OpenedStore<DB> = {
        driver: store.driver,
        db: store.db,
        constraintOf: (err) => store.constraintOf(err),
        close: async () => {
          open.delete(tracked as OpenedStore<unknown>);
          await close();
        },
      };
      open.add(tracked as OpenedStore<unknown>);
      return tracked;
    },
    async dispose() {
      for (const s of [...open]) await s.close();
      await remove();
    },
  };
}

function freshSqlite(): TestDatabase {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-store-test-"));
  return tracking({ driver: "sqlite", location: join(dir, "store.db"), schema: "test" }, async () => rmSync(dir, { recursive: true, force: true }));
}

/**
 * A new, empty database of a random name on the server at `url`, for a test that runs whole services (each keeps its
 * tables in its fixed schema, so a test needs a database of its own): its URL, and `dispose()`, which drops it (and
 * disconnects whoever is still connected). An unreachable server fails with the driver's message.
 */
export async function freshPostgresDatabase(url: string): Promise<{ url: string; dispose(): Promise<void> }> {
  const name = `switchyard_test_${randomBytes(6).toString("hex")}`;
  await withServer(url, (c) => c.query(`create database ${name}`).then(() => undefined));
  return {
    url: postgresUrlWithDatabase(url, name),
    dispose: () => withServer(url, (c) => c.query(`drop database if exists ${name} with (force)`).then(() => undefined)),
  };
}

function withServer(url: string, fn: (c: pg.Client) => Promise<void>): Promise<void> {
  return withPostgresClient(parsePostgresLocation(url), fn);
}

async function freshPostgres(url: string): Promise<TestDatabase> {
  const schema = `test_${randomBytes(6).toString("hex")}`;
  // Reached once here, so an unreachable server fails the test with the driver's own message.
  await withServer(url, async () => undefined);
  return tracking({ driver: "postgres", location: url, schema }, () => withServer(url, (c) => c.query(`drop schema if exists ${schema} cascade`).then(() => undefined)));
}
