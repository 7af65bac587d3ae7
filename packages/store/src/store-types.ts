/** The store's contract: what a driver opens, and what callers may learn about a failed statement. */
import type { Kysely, Migration } from "kysely";

/** Which constraint a failed statement broke, whatever the database (a driver maps its own error codes). */
export type ConstraintKind = "unique" | "foreignKey" | "notNull" | "check";

/** A database opened by a driver, its migrations applied. */
export interface OpenedStore<DB> {
  /** The driver's name (`sqlite`). */
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
}

/** Opens a database of one kind. */
export type StoreDriver = <DB>(options: StoreDriverOptions) => Promise<OpenedStore<DB>>;

export interface StoreOptions extends StoreDriverOptions {
  /** A registered driver's name (`sqlite`, built in). */
  driver: string;
}
