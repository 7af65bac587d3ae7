/** The store's contract: what a driver opens, and what callers may learn about a failed statement. */
import type { Kysely, Migration } from "kysely";

/** Which constraint a failed statement broke, whatever the database (a driver maps its own error codes). */
export type ConstraintKind = "unique" | "foreignKey" | "notNull" | "check";

/** A database opened by a driver, its migrations applied. */
export interface OpenedStore<DB> {
  /** The driver's name (`sqlite`, `postgres`). */
  readonly driver: string;
  /** For the service's store modules only: nothing else builds queries (scripts/check-sql.mjs). */
  readonly db: Kysely<DB>;
  /** The constraint `err` reports breaking, from the driver's error code; undefined for any other error. */
  constraintOf(err: unknown): ConstraintKind | undefined;
  close(): Promise<void>;
}

export interface StoreDriverOptions {
  /** Where the database is, in the driver's terms: a file path for `sqlite`, a connection URL for a server. */
  location: string;
  /** Migrations by name, applied in name order before the store is returned. Each service owns its own. */
  migrations: Record<string, Migration>;
  /**
   * The service the store belongs to, as a name (`jobs`): a server database keeps each service's tables apart under it
   * (`postgres`: a schema of that name, required); `sqlite` (a file per service already) only labels its snapshots.
   */
  schema?: string;
}

/** Opens a database of one kind. */
export type StoreDriver = <DB>(options: StoreDriverOptions) => Promise<OpenedStore<DB>>;

/** A store's snapshot, as `backupStore` wrote it or `restoreStore` read it. */
export interface StoreSnapshot {
  /** The driver that wrote it (`sqlite`, `postgres`): a snapshot is restored by the same driver only. */
  readonly driver: string;
  /** The service whose store it is (its schema name); "" when the store was opened without one. */
  readonly service: string;
  /** The migrations applied in it, by name: a restore refuses a snapshot holding one its service does not know. */
  readonly migrations: readonly string[];
  readonly path: string;
  readonly bytes: number;
}

/**
 * Which store a backup or restore is of: as for opening it, but the migrations are optional (a tool that backs up
 * every service need not load their code). Given to a restore, they let it refuse a snapshot holding one it lacks.
 */
export type StoreSnapshotOptions = Omit<StoreDriverOptions, "migrations"> & { migrations?: Record<string, Migration> };

/** A driver as registered: how it opens a store, and how it snapshots and restores one (a driver may do neither). */
export interface StoreDriverEntry {
  readonly open: StoreDriver;
  /** A consistent snapshot of a store that may be in use, written to `destPath` (created 0600). */
  readonly backup?: (options: StoreSnapshotOptions, destPath: string) => Promise<StoreSnapshot>;
  /** Replaces the store's contents by the snapshot at `srcPath` (the service stopped), after checking it is the store's. */
  readonly restore?: (options: StoreSnapshotOptions, srcPath: string) => Promise<StoreSnapshot>;
}

export interface StoreOptions extends StoreDriverOptions {
  /** A registered driver's name (`sqlite` and `postgres`, built in). */
  driver: string;
}
