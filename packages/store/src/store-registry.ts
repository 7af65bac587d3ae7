/**
 * Store drivers chosen by name, as grpc-js chooses resolvers: a service's config names one (`sqlite` and `postgres`,
 * built in) and `openStore` opens it; another database is an addition (`registerStoreDriver("name", …)` in the module
 * that brings it), not an edit of the services. The services' store modules are written against Kysely, which every
 * driver returns, so the same queries run on each. A driver may also snapshot and restore a store (`backupStore`,
 * `restoreStore`).
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { openPostgresStore } from "./postgres.js";
import { backupPostgres, restorePostgres } from "./postgres-backup.js";
import { openSqliteStore } from "./sqlite.js";
import { backupSqlite, restoreSqlite } from "./sqlite-backup.js";
import type { OpenedStore, StoreDriver, StoreDriverEntry, StoreOptions, StoreSnapshot, StoreSnapshotOptions } from "./store-types.js";

const drivers = new Map<string, StoreDriverEntry>([
  ["sqlite", { open: openSqliteStore, backup: backupSqlite, restore: restoreSqlite }],
  ["postgres", { open: openPostgresStore, backup: backupPostgres, restore: restorePostgres }],
]);

/**
 * Makes `driver` the driver for `name` (a later registration of the same name replaces it): an `open` function, or an
 * entry that can also back up and restore.
 */
export function registerStoreDriver(name: string, driver: StoreDriver | StoreDriverEntry): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new SwitchyardError(Code.InvalidArgument, `store driver name "${name}": use lowercase letters, digits and '-'`);
  drivers.set(name, typeof driver === "function" ? { open: driver } : driver);
}

/** The names of the registered drivers, sorted. */
export function storeDrivers(): string[] {
  return [...drivers.keys()].sort();
}

function driverOf(name: string): StoreDriverEntry {
  const entry = drivers.get(name);
  if (entry === undefined) {
    throw new SwitchyardError(Code.InvalidArgument, `no store driver "${name}": the drivers are ${storeDrivers().join(", ")} (SWITCHYARD_DB chooses one by its URL)`, {
      details: [{ field: "store", message: "is not a registered store driver", expected: storeDrivers().join(" | "), got: name }],
    });
  }
  return entry;
}

/** Opens the database `options.location` with the driver `options.driver`, migrations applied. */
export async function openStore<DB>(options: StoreOptions): Promise<OpenedStore<DB>> {
  const { driver, ...rest } = options;
  return driverOf(driver).open<DB>(rest);
}

/**
 * Writes a consistent snapshot of the store to `destPath` (0600) while its service may be running: SQLite's `VACUUM
 * INTO`, PostgreSQL's `pg_dump` of the service's schema.
 */
export async function backupStore(options: StoreSnapshotOptions & { driver: string }, destPath: string): Promise<StoreSnapshot> {
  const { driver, ...rest } = options;
  const backup = driverOf(driver).backup;
  if (backup === undefined) throw new SwitchyardError(Code.Unimplemented, `store driver "${driver}" cannot back up a store`);
  return backup(rest, destPath);
}

/**
 * Replaces the store's contents by the snapshot at `srcPath`, with its service stopped. Refuses (FAILED_PRECONDITION)
 * a snapshot of another driver or service (by `schema`), or — when `migrations` are given — one holding a migration
 * the service does not have; the service's newer migrations run when it next opens the store.
 */
export async function restoreStore(options: StoreSnapshotOptions & { driver: string }, srcPath: string): Promise<StoreSnapshot> {
  const { driver, ...rest } = options;
  const restore = driverOf(driver).restore;
  if (restore === undefined) throw new SwitchyardError(Code.Unimplemented, `store driver "${driver}" cannot restore a store`);
  return restore(rest, srcPath);
}
