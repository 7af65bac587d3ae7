/**
 * Store drivers chosen by name, as grpc-js chooses resolvers: a service's config names one (`sqlite`, built in) and
 * `openStore` opens it; another database is an addition (`registerStoreDriver("postgres", …)` in the module that
 * brings it), not an edit of the services. The services' store modules are written against Kysely, which every
 * driver returns, so the same queries run on each.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import { openSqliteStore } from "./sqlite.js";
import type { OpenedStore, StoreDriver, StoreOptions } from "./store-types.js";

const drivers = new Map<string, StoreDriver>([["sqlite", openSqliteStore]]);

/** Makes `open` the driver for `name` (a later registration of the same name replaces it). */
export function registerStoreDriver(name: string, open: StoreDriver): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new SwitchyardError(Code.InvalidArgument, `store driver name "${name}": use lowercase letters, digits and '-'`);
  drivers.set(name, open);
}

/** The names of the registered drivers, sorted. */
export function storeDrivers(): string[] {
  return [...drivers.keys()].sort();
}

/** Opens the database `options.location` with the driver `options.driver`, migrations applied. */
export async function openStore<DB>(options: StoreOptions): Promise<OpenedStore<DB>> {
  const open = drivers.get(options.driver);
  if (open === undefined) {
    throw new SwitchyardError(Code.InvalidArgument, `no store driver "${options.driver}": the drivers are ${storeDrivers().join(", ")} (set SWITCHYARD_STORE to one of them)`, {
      details: [{ field: "store", message: "is not a registered store driver", expected: storeDrivers().join(" | "), got: options.driver }],
    });
  }
  return open<DB>({ location: options.location, migrations: options.migrations });
}
