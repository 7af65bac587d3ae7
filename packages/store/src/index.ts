export { openSqlite } from "./sqlite.js";
export type { SqliteOptions, OpenedDatabase } from "./sqlite.js";
export { sql } from "kysely";
export type { Kysely, Migration, Selectable, Insertable, Updateable, Generated, ColumnType, Transaction } from "kysely";
