/**
 * The one knob that chooses a service's database (SWITCHYARD_DB, the CLI's --db): nothing (or `sqlite`) is the
 * service's SQLite file under its data directory, `sqlite:///abs/path.db` another SQLite file, and a `postgres://`
 * URL a PostgreSQL database, where the service keeps its tables in a schema named after it (so all services can share
 * one database).
 */
import { isAbsolute } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import { parsePostgresLocation, POSTGRES_URL_FORMS, redactPostgresUrl } from "./postgres-url.js";

/** What `openStore` takes, less the migrations (the service adds its own). */
export interface StoreLocation {
  readonly driver: "sqlite" | "postgres";
  readonly location: string;
  /** The service's name: its schema on PostgreSQL, its snapshots' label on SQLite. */
  readonly schema: string;
}

export const STORE_URL_FORMS = `unset or "sqlite" (the service's file under its data directory), sqlite:///ABSOLUTE/PATH.db, or ${POSTGRES_URL_FORMS}`;

/**
 * Where `service` keeps its store, from the SWITCHYARD_DB / --db value `db`; `sqlitePath` is its default SQLite file.
 * A value of no accepted form (or a malformed postgres URL) is INVALID_ARGUMENT naming the setting and the forms.
 */
export function storeOptionsFor(db: string | undefined, service: string, sqlitePath: string): StoreLocation {
  const value = db?.trim() ?? "";
  if (!/^[a-z][a-z0-9_]{0,62}$/.test(service)) throw new SwitchyardError(Code.InvalidArgument, `service name "${service}" cannot name a store schema: use lowercase letters, digits and '_'`);
  if (value === "" || value === "sqlite") return { driver: "sqlite", location: sqlitePath, schema: service };
  if (value.startsWith("sqlite://")) {
    const path = value.slice("sqlite://".length);
    if (!isAbsolute(path) || path.includes("?") || path.includes("#")) throw invalid(value, "a sqlite:// URL names an absolute file path: sqlite:///ABSOLUTE/PATH.db (three slashes)");
    return { driver: "sqlite", location: decodeURIComponent(path), schema: service };
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    try {
      parsePostgresLocation(value);
    } catch (err) {
      throw invalid(value, err instanceof SwitchyardError ? (err.details[0]?.message ?? err.message) : String(err), err);
    }
    return { driver: "postgres", location: value, schema: service };
  }
  throw invalid(value, "is neither sqlite nor a sqlite:// or postgres:// URL");
}

function invalid(value: string, what: string, cause?: unknown): SwitchyardError {
  const shown = redactPostgresUrl(value);
  return new SwitchyardError(Code.InvalidArgument, `SWITCHYARD_DB / --db ${JSON.stringify(shown)}: ${what}. Accepted: ${STORE_URL_FORMS}`, {
    details: [{ field: "SWITCHYARD_DB", message: what, expected: STORE_URL_FORMS, got: shown }],
    ...(cause === undefined ? {} : { cause }),
  });
}
