/**
 * Snapshots of a `sqlite` store. A backup is `VACUUM INTO` from a read-only connection of its own: one read
 * transaction, so a consistent snapshot however the running service writes meanwhile (WAL: readers never block the
 * writer), compacted, written to a temporary file created 0600 and renamed into place. The snapshot is a SQLite
 * database with one more table, `switchyard_snapshot` (driver, service, migrations), which restore reads to check it is
 * the store's and drops again. A restore replaces the file (the service stopped): the snapshot is copied beside it,
 * the old -wal and -shm files are removed (SQLite would otherwise replay the old log over the new file), and the copy
 * is renamed over the database.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, closeSync, copyFileSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Code, SwitchyardError } from "@switchyard/core";
import { checkSnapshotFits, expectSnapshotDriver } from "./store-snapshot.js";
import type { StoreSnapshot, StoreSnapshotOptions } from "./store-types.js";

const META = "switchyard_snapshot";

export async function backupSqlite(options: StoreSnapshotOptions, destPath: string): Promise<StoreSnapshot> {
  const location = options.location;
  if (location === ":memory:") throw new SwitchyardError(Code.InvalidArgument, "an in-memory SQLite store (:memory:) has no file to back up");
  if (!existsSync(location)) throw new SwitchyardError(Code.NotFound, `SQLite store ${location} does not exist: nothing to back up`);
  mkdirSync(dirname(destPath), { recursive: true, mode: 0o700 });
  const tmp = `${destPath}.tmp-${randomBytes(8).toString("hex")}`;
  // VACUUM INTO writes into an empty file: created here, so with the mode a snapshot of a 0600 database must have.
  // "wx": a new file, never one planted under the name beforehand (the destination's directory may be shared).
  closeSync(openSync(tmp, "wx", 0o600));
  try {
    const src = new Database(location, { readonly: true, fileMustExist: true });
    try {
      src.prepare("vacuum into ?").run(tmp);
    } finally {
      src.close();
    }
    const service = options.schema ?? "";
    const snap = new Database(tmp);
    let migrations: string[];
    try {
      migrations = appliedMigrations(snap);
      snap.exec(`create table ${META} (key text primary key, value text not null)`);
      const put = snap.prepare(`insert into ${META} (key, value) values (?, ?)`);
      snap.transaction(() => {
        put.run("driver", "sqlite");
        put.run("service", service);
        put.run("migrations", JSON.stringify(migrations));
      })();
    } finally {
      snap.close();
    }
    const fd = openSync(tmp, "r");
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, destPath);
    chmodSync(destPath, 0o600);
    return { driver: "sqlite", service, migrations, path: destPath, bytes: statSync(destPath).size };
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

export async function restoreSqlite(options: StoreSnapshotOptions, srcPath: string): Promise<StoreSnapshot> {
  expectSnapshotDriver(srcPath, "sqlite");
  const location = options.location;
  if (location === ":memory:") throw new SwitchyardError(Code.InvalidArgument, "an in-memory SQLite store (:memory:) cannot be restored into");
  const snapshot = readSnapshot(srcPath);
  checkSnapshotFits(snapshot, options);
  mkdirSync(dirname(location), { recursive: true, mode: 0o700 });
  const tmp = `${location}.restore-${process.pid}-${Date.now()}`;
  try {
    copyFileSync(srcPath, tmp);
    chmodSync(tmp, 0o600);
    const db = new Database(tmp);
    try {
      db.exec(`drop table if exists ${META}`);
      db.pragma("journal_mode = WAL");
      db.pragma("wal_checkpoint(TRUNCATE)");
    } finally {
      db.close();
    }
    for (const f of [`${tmp}-wal`, `${tmp}-shm`, `${location}-wal`, `${location}-shm`]) rmSync(f, { force: true });
    renameSync(tmp, location);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
  return snapshot;
}

/** The snapshot's label; a plain copy of a store's file (no label) counts as one of no particular service. */
function readSnapshot(path: string): StoreSnapshot {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new SwitchyardError(Code.FailedPrecondition, `snapshot ${path} cannot be opened as a SQLite database: ${(err as Error).message}`, { cause: err });
  }
  try {
    const meta = new Map<string, string>();
    if (hasTable(db, META)) for (const r of db.prepare(`select key, value from ${META}`).all() as { key: string; value: string }[]) meta.set(r.key, r.value);
    const migrations = meta.has("migrations") ? (JSON.parse(meta.get("migrations")!) as string[]) : appliedMigrations(db);
    return { driver: "sqlite", service: meta.get("service") ?? "", migrations, path, bytes: statSync(path).size };
  } finally {
    db.close();
  }
}

function appliedMigrations(db: Database.Database): string[] {
  if (!hasTable(db, "kysely_migration")) return [];
  return (db.prepare("select name from kysely_migration order by name").all() as { name: string }[]).map((r) => r.name);
}

function hasTable(db: Database.Database, name: string): boolean {
  return db.prepare("select 1 from sqlite_master where type = 'table' and name = ?").get(name) !== undefined;
}
