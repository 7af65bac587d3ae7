/**
 * What every driver's restore checks before it touches a store: that the file is a snapshot its driver wrote, of the
 * same service, holding no migration the service does not know (a newer Switchyard's, or another service's).
 */
import { closeSync, openSync, readSync } from "node:fs";
import { Code, SwitchyardError } from "@switchyard/core";
import type { StoreSnapshot, StoreSnapshotOptions } from "./store-types.js";

/** The driver a snapshot file is for, by its first bytes (a SQLite database, a pg_dump archive), or undefined. */
export function snapshotDriver(path: string): "sqlite" | "postgres" | undefined {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch (err) {
    throw new SwitchyardError(Code.NotFound, `snapshot ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
  try {
    const head = Buffer.alloc(16);
    const n = readSync(fd, head, 0, 16, 0);
    if (n === 16 && head.toString("latin1") === "SQLite format 3\0") return "sqlite";
    if (n >= 5 && head.subarray(0, 5).toString("latin1") === "PGDMP") return "postgres";
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Throws FAILED_PRECONDITION unless the snapshot at `path` was written by `driver`. */
export function expectSnapshotDriver(path: string, driver: "sqlite" | "postgres"): void {
  const found = snapshotDriver(path);
  if (found === driver) return;
  const what = found === undefined ? "is not a Switchyard store snapshot (neither a SQLite database nor a pg_dump archive)" : `is a ${found} snapshot`;
  throw new SwitchyardError(Code.FailedPrecondition, `snapshot ${path} ${what}: the store is ${driver}; restore a snapshot that its own driver wrote (switch the store's driver first to move between databases)`);
}

/**
 * Throws FAILED_PRECONDITION when `snapshot` belongs to another service, or (when the service's migrations are given)
 * holds migrations the service does not know.
 */
export function checkSnapshotFits(snapshot: StoreSnapshot, options: StoreSnapshotOptions): void {
  const service = options.schema ?? "";
  if (snapshot.service !== "" && service !== "" && snapshot.service !== service) {
    throw new SwitchyardError(Code.FailedPrecondition, `snapshot ${snapshot.path} is of the ${snapshot.service} service's store, not ${service}'s: restore each service's own snapshot`);
  }
  if (options.migrations === undefined) return;
  const known = options.migrations;
  const unknown = snapshot.migrations.filter((m) => !(m in known));
  if (unknown.length > 0) {
    throw new SwitchyardError(
      Code.FailedPrecondition,
      `snapshot ${snapshot.path} holds migrations ${unknown.join(", ")} that ${service || "this"} service does not have: it is another service's, or a newer Switchyard's; restore it with the version that wrote it`,
    );
  }
}
