export { openSqlite, openSqliteStore, sqliteConstraintOf } from "./sqlite.js";
export type { SqliteOptions, OpenedDatabase } from "./sqlite.js";
export { openStore, registerStoreDriver, storeDrivers } from "./store-registry.js";
export type { ConstraintKind, OpenedStore, StoreDriver, StoreDriverOptions, StoreOptions } from "./store-types.js";
export { sql } from "kysely";
export type { Kysely, Migration, Selectable, Insertable, Updateable, Generated, ColumnType, Transaction } from "kysely";
