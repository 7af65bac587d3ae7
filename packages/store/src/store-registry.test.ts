import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Kysely, Migration } from "kysely";
import { backupStore, openStore, registerStoreDriver, restoreStore, storeDrivers } from "./store-registry.js";
import type { OpenedStore } from "./store-types.js";

interface Db {
  things: { name: string; owner: string | null };
}

const migrations: Record<string, Migration> = {
  "0001_things": {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable("things").addColumn("name", "text", (c) => c.primaryKey()).addColumn("owner", "text", (c) => c.notNull()).execute();
    },
  },
};

describe("store drivers chosen by name", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-store-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("opens the built-in sqlite driver with its migrations applied", async () => {
    assert.deepEqual(storeDrivers().includes("sqlite"), true);
    const store = await openStore<Db>({ driver: "sqlite", location: join(dir, "a.db"), migrations });
    try {
      assert.equal(store.driver, "sqlite");
      await store.db.insertInto("things").values({ name: "x", owner: "me" }).execute();
      assert.deepEqual(await store.db.selectFrom("things").selectAll().execute(), [{ name: "x", owner: "me" }]);
    } finally {
      await store.close();
    }
  });

  it("says which constraint a statement broke from the driver's error code, not its message", async () => {
    const store = await openStore<Db>({ driver: "sqlite", location: join(dir, "b.db"), migrations });
    try {
      await store.db.insertInto("things").values({ name: "x", owner: "me" }).execute();
      const dup = await store.db.insertInto("things").values({ name: "x", owner: "you" }).execute().then(() => undefined, (e: unknown) => e);
      assert.equal(store.constraintOf(dup), "unique");
      const nul = await store.db.insertInto("things").values({ name: "y", owner: null }).execute().then(() => undefined, (e: unknown) => e);
      assert.equal(store.constraintOf(nul), "notNull");
      assert.equal(store.constraintOf(new Error("UNIQUE constraint failed: things.name")), undefined, "a message alone means nothing");
    } finally {
      await store.close();
    }
  });

  it("refuses a driver nobody registered, naming the ones there are", async () => {
    await assert.rejects(openStore<Db>({ driver: "oracle", location: "oracle://db/x", migrations }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.InvalidArgument);
      assert.match(e.message, /no store driver "oracle": the drivers are postgres, sqlite/);
      return true;
    });
  });

  it("has sqlite and postgres built in, and backs up only with a driver that can", async () => {
    assert.ok(storeDrivers().includes("sqlite") && storeDrivers().includes("postgres"));
    registerStoreDriver("no-backup", async () => assert.fail("never opened"));
    await assert.rejects(backupStore({ driver: "no-backup", location: "x", migrations }, join(dir, "x.snap")), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unimplemented && /cannot back up/.test(e.message));
    await assert.rejects(restoreStore({ driver: "no-backup", location: "x", migrations }, join(dir, "x.snap")), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unimplemented && /cannot restore/.test(e.message));
  });

  it("opens a registered driver by its name", async () => {
    const opened: string[] = [];
    registerStoreDriver("recording", async <DB>(o: { location: string }) => {
      opened.push(o.location);
      return { driver: "recording", db: undefined as unknown as Kysely<DB>, constraintOf: () => undefined, close: async () => undefined } satisfies OpenedStore<DB>;
    });
    const store = await openStore<Db>({ driver: "recording", location: "mem://1", migrations });
    assert.equal(store.driver, "recording");
    assert.deepEqual(opened, ["mem://1"]);
    assert.ok(storeDrivers().includes("recording"));
    assert.throws(() => registerStoreDriver("Bad Name", async () => assert.fail("never opened")), /lowercase/);
  });
});
