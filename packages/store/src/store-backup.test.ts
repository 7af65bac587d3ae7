import { it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Kysely, Migration } from "kysely";
import { backupStore, restoreStore } from "./store-registry.js";
import { describeEachStoreBackend } from "./test-backends.js";

interface Db {
  notes: { id: number; text: string; at: number };
  extra: { x: number };
}

const v1: Record<string, Migration> = {
  "0001_notes": {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable("notes").addColumn("id", "integer", (c) => c.primaryKey()).addColumn("text", "text", (c) => c.notNull()).addColumn("at", "integer", (c) => c.notNull()).execute();
    },
  },
};
const v2: Record<string, Migration> = {
  ...v1,
  "0002_extra": {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable("extra").addColumn("x", "integer").execute();
    },
  },
};

const refused = (re: RegExp) => (e: unknown) => e instanceof SwitchyardError && e.code === Code.FailedPrecondition && re.test(e.message);

describeEachStoreBackend("store backup and restore", (backend) => {
  it("snapshots a store in use (0600) and restores its rows over later changes, a later migration's tables included", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-backup-"));
    const database = await backend.fresh();
    t.after(async () => {
      await database.dispose();
      rmSync(dir, { recursive: true, force: true });
    });
    const store = await database.open<Db>(v1);
    await store.db.insertInto("notes").values([{ id: 1, text: "kept", at: 2 ** 41 }, { id: 2, text: "also kept", at: 2 }]).execute();
    const snapshot = await backupStore({ ...database.options, migrations: v1 }, join(dir, "snap", "store.snapshot"));
    assert.deepEqual([snapshot.driver, snapshot.service, snapshot.migrations], [backend.name, database.options.schema, ["0001_notes"]]);
    assert.equal(statSync(snapshot.path).mode & 0o777, 0o600);
    assert.ok(snapshot.bytes > 0);
    // After the snapshot: rows changed, and a newer version's migration ran.
    await store.db.updateTable("notes").set({ text: "changed" }).where("id", "=", 1).execute();
    await store.db.insertInto("notes").values({ id: 3, text: "after", at: 3 }).execute();
    await store.close();
    const newer = await database.open<Db>(v2);
    await newer.db.insertInto("extra").values({ x: 1 }).execute();
    await newer.close();

    const restored = await restoreStore({ ...database.options, migrations: v2 }, snapshot.path);
    assert.deepEqual(restored.migrations, ["0001_notes"]);
    const reopened = await database.open<Db>(v2);
    assert.deepEqual(await reopened.db.selectFrom("notes").selectAll().orderBy("id").execute(), [{ id: 1, text: "kept", at: 2 ** 41 }, { id: 2, text: "also kept", at: 2 }]);
    assert.deepEqual(await reopened.db.selectFrom("extra").selectAll().execute(), [], "the later migration ran again on the restored store");
  });

  it("refuses a snapshot of another service, of a newer version, or of another driver, and leaves the store as it was", async (t) => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-backup-"));
    const a = await backend.fresh();
    const b = await backend.fresh();
    t.after(async () => {
      await a.dispose();
      await b.dispose();
      rmSync(dir, { recursive: true, force: true });
    });
    const sa = await a.open<Db>(v2);
    await sa.db.insertInto("notes").values({ id: 1, text: "a", at: 1 }).execute();
    const snap = await backupStore({ ...a.options, migrations: v2 }, join(dir, "a.snapshot"));
    await sa.close();
    await (await b.open<Db>(v1)).close();

    const other = backend.name === "sqlite" ? { ...a.options, schema: "serving" } : b.options;
    await assert.rejects(restoreStore({ ...other, migrations: v2 }, snap.path), refused(new RegExp(`is of the ${a.options.schema} service's store, not ${other.schema}'s`)));
    await assert.rejects(restoreStore({ ...a.options, migrations: v1 }, snap.path), refused(/holds migrations 0002_extra that .* does not have: it is another service's, or a newer Switchyard's/));
    const foreign = join(dir, "foreign.snapshot");
    writeFileSync(foreign, backend.name === "sqlite" ? "PGDMP\x01\x0e\x00" : "SQLite format 3\0rest of a database");
    await assert.rejects(restoreStore({ ...a.options, migrations: v2 }, foreign), refused(new RegExp(`is a ${backend.name === "sqlite" ? "postgres" : "sqlite"} snapshot: the store is ${backend.name}`)));
    writeFileSync(foreign, "hello");
    await assert.rejects(restoreStore({ ...a.options, migrations: v2 }, foreign), refused(/is not a Switchyard store snapshot/));

    const still = await a.open<Db>(v2);
    assert.deepEqual(await still.db.selectFrom("notes").select("text").execute(), [{ text: "a" }]);
  });
});
