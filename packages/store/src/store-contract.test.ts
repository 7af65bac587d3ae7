import { describe, it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { sql, type Generated, type Kysely, type Migration } from "kysely";
import { openStore } from "./store-registry.js";
import { describeEachStoreBackend, freshPostgresDatabase, type TestStoreBackend } from "./test-backends.js";
import type { OpenedStore } from "./store-types.js";

interface Db {
  owners: { name: string; created_at: number };
  things: { id: Generated<number>; name: string; owner: string | null; at: number; score: number | null; blob: Buffer | null; qty: Generated<number> };
}

const migrations: Record<string, Migration> = {
  "0001_things": {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable("owners").addColumn("name", "text", (c) => c.primaryKey()).addColumn("created_at", "integer", (c) => c.notNull()).execute();
      await db.schema
        .createTable("things")
        .addColumn("id", "integer", (c) => c.primaryKey().autoIncrement())
        .addColumn("name", "text", (c) => c.notNull().unique())
        .addColumn("owner", "text", (c) => c.references("owners.name"))
        .addColumn("at", "integer", (c) => c.notNull())
        .addColumn("score", "real")
        .addColumn("blob", "blob")
        .addColumn("qty", "integer", (c) => c.notNull().defaultTo(0).check(sql`qty >= 0`))
        .execute();
    },
  },
};

async function fresh(backend: TestStoreBackend, t: TestContext): Promise<OpenedStore<Db>> {
  const database = await backend.fresh();
  t.after(() => database.dispose());
  return database.open<Db>(migrations);
}

const failure = (p: Promise<unknown>): Promise<unknown> => p.then(() => assert.fail("the statement succeeded"), (e: unknown) => e);

describeEachStoreBackend("store contract", (backend) => {
  it("returns what it stored with SQLite's JS types: numbers (past 2^31 too), strings, Buffers, nulls", async (t) => {
    const { db } = await fresh(backend, t);
    const big = 2 ** 31 * 1000 + 7;
    await db.insertInto("things").values({ name: "ünïcode ✓", owner: null, at: big, score: -0.125, blob: Buffer.from([0, 255, 1]), qty: 3 }).execute();
    await db.insertInto("things").values({ name: "", owner: null, at: Number.MAX_SAFE_INTEGER, score: null, blob: null, qty: 0 }).execute();
    const rows = await db.selectFrom("things").selectAll().orderBy("id").execute();
    assert.deepEqual(rows, [
      { id: 1, name: "ünïcode ✓", owner: null, at: big, score: -0.125, blob: Buffer.from([0, 255, 1]), qty: 3 },
      { id: 2, name: "", owner: null, at: Number.MAX_SAFE_INTEGER, score: null, blob: null, qty: 0 },
    ]);
    assert.ok(Buffer.isBuffer(rows[0]!.blob));
    const agg = await db.selectFrom("things").select((eb) => [eb.fn.countAll<number>().as("n"), eb.fn.sum<number>("qty").as("sum"), eb.fn.max("at").as("max"), eb.fn.min("score").as("min")]).executeTakeFirstOrThrow();
    assert.deepEqual(agg, { n: 2, sum: 3, max: Number.MAX_SAFE_INTEGER, min: -0.125 }, "aggregates are numbers too");
  });

  it("says which constraint a statement broke, by the driver's code", async (t) => {
    const store = await fresh(backend, t);
    const { db } = store;
    await db.insertInto("owners").values({ name: "ann", created_at: 1 }).execute();
    await db.insertInto("things").values({ name: "a", owner: "ann", at: 1, score: null, blob: null }).execute();
    assert.equal(store.constraintOf(await failure(db.insertInto("things").values({ name: "a", owner: null, at: 2, score: null, blob: null }).execute())), "unique");
    assert.equal(store.constraintOf(await failure(db.insertInto("things").values({ name: "b", owner: "nobody", at: 2, score: null, blob: null }).execute())), "foreignKey");
    assert.equal(store.constraintOf(await failure(db.insertInto("things").values({ name: "c", owner: null, at: null as unknown as number, score: null, blob: null }).execute())), "notNull");
    assert.equal(store.constraintOf(await failure(db.insertInto("things").values({ name: "d", owner: null, at: 2, score: null, blob: null, qty: -1 }).execute())), "check");
    assert.equal(store.constraintOf(new Error("duplicate key value violates unique constraint")), undefined, "a message alone means nothing");
  });

  it("keeps nothing of a transaction that throws, and everything of one that returns", async (t) => {
    const { db } = await fresh(backend, t);
    await assert.rejects(
      db.transaction().execute(async (tx) => {
        await tx.insertInto("owners").values({ name: "gone", created_at: 1 }).execute();
        throw new SwitchyardError(Code.Aborted, "changed my mind");
      }),
      /changed my mind/,
    );
    await db.transaction().execute(async (tx) => {
      await tx.insertInto("owners").values({ name: "kept", created_at: 1 }).execute();
    });
    assert.deepEqual(await db.selectFrom("owners").select("name").execute(), [{ name: "kept" }]);
  });

  it("upserts on a key: replaces, or leaves the row and says nothing was written", async (t) => {
    const { db } = await fresh(backend, t);
    const upsert = (name: string, createdAt: number) => db.insertInto("owners").values({ name, created_at: createdAt }).onConflict((oc) => oc.column("name").doUpdateSet({ created_at: createdAt })).execute();
    await upsert("ann", 1);
    await upsert("ann", 2);
    const ignored = await db.insertInto("owners").values({ name: "ann", created_at: 3 }).onConflict((oc) => oc.column("name").doNothing()).executeTakeFirst();
    assert.equal(Number(ignored.numInsertedOrUpdatedRows ?? 0n), 0);
    assert.deepEqual(await db.selectFrom("owners").selectAll().execute(), [{ name: "ann", created_at: 2 }]);
  });

  it("writes large batches in slices, in one transaction, and lists by id and by text byte order", async (t) => {
    const { db } = await fresh(backend, t);
    const names = Array.from({ length: 2_345 }, (_, i) => `n${String(i).padStart(5, "0")}`);
    await db.transaction().execute(async (tx) => {
      for (let i = 0; i < names.length; i += 500) await tx.insertInto("things").values(names.slice(i, i + 500).map((name, j) => ({ name, owner: null, at: 2 ** 40 + i + j, score: null, blob: null }))).execute();
    });
    const ids = (await db.selectFrom("things").select("id").orderBy("id").execute()).map((r) => r.id);
    assert.deepEqual(ids, names.map((_, i) => i + 1), "ids count up from 1 in insertion order");
    // Ids are never reused: the largest deleted, the next insert still gets a new one (AUTOINCREMENT, an identity).
    await db.deleteFrom("things").where("id", "=", names.length).execute();
    const next = await db.insertInto("things").values({ name: "after", owner: null, at: 0, score: null, blob: null }).returning("id").executeTakeFirstOrThrow();
    assert.equal(next.id, names.length + 1);
    for (const name of ["b", "B", "a", "é", "_", "A1", "a1"]) await db.insertInto("owners").values({ name, created_at: 0 }).execute();
    assert.deepEqual((await db.selectFrom("owners").select("name").orderBy("name").execute()).map((r) => r.name), ["A1", "B", "_", "a", "a1", "b", "é"], "code point order, as SQLite's BINARY");
    assert.deepEqual((await db.selectFrom("owners").select("name").where("name", ">", "Z").orderBy("name").execute()).map((r) => r.name), ["_", "a", "a1", "b", "é"]);
  });

  it("runs one transaction at a time, so a read-modify-write never loses an update (as SQLite's one writer)", async (t) => {
    const { db } = await fresh(backend, t);
    await db.insertInto("owners").values({ name: "counter", created_at: 0 }).execute();
    await Promise.all(
      Array.from({ length: 20 }, () =>
        db.transaction().execute(async (tx) => {
          const { created_at } = await tx.selectFrom("owners").select("created_at").where("name", "=", "counter").executeTakeFirstOrThrow();
          await new Promise((r) => setImmediate(r));
          await tx.updateTable("owners").set({ created_at: created_at + 1 }).where("name", "=", "counter").execute();
        }),
      ),
    );
    assert.equal((await db.selectFrom("owners").select("created_at").executeTakeFirstOrThrow()).created_at, 20);
  });

  it("applies migrations once: reopened, the rows are there and nothing runs again", async (t) => {
    const database = await backend.fresh();
    t.after(() => database.dispose());
    const first = await database.open<Db>(migrations);
    await first.db.insertInto("owners").values({ name: "ann", created_at: 5 }).execute();
    await first.close();
    const again = await database.open<Db>(migrations);
    assert.deepEqual(await again.db.selectFrom("owners").selectAll().execute(), [{ name: "ann", created_at: 5 }]);
  });

  if (backend.name === "postgres") {
    it("refuses an integer beyond 2^53 rather than rounding it", async (t) => {
      const { db } = await fresh(backend, t);
      await sql`insert into things (name, at) values ('huge', 9007199254740993)`.execute(db);
      await assert.rejects(db.selectFrom("things").select("at").execute(), (e: unknown) => e instanceof SwitchyardError && e.code === Code.OutOfRange && /9007199254740993, beyond the integers JavaScript holds exactly/.test(e.message));
      assert.deepEqual(await db.selectFrom("things").select("name").execute(), [{ name: "huge" }], "the connection is still usable");
    });

    it("keeps each service's tables in its own schema of one database", async (t) => {
      const a = await backend.fresh();
      const b = await backend.fresh();
      t.after(async () => {
        await a.dispose();
        await b.dispose();
      });
      const sa = await a.open<Db>(migrations);
      const sb = await b.open<Db>(migrations);
      await sa.db.insertInto("owners").values({ name: "in-a", created_at: 1 }).execute();
      assert.deepEqual(await sb.db.selectFrom("owners").selectAll().execute(), []);
      const where = await sql<{ schema: string }>`select current_schema() as schema`.execute(sa.db);
      assert.equal(where.rows[0]?.schema, a.options.schema);
    });

    it("makes a database of its own for a test that runs whole services, and drops it", async () => {
      const database = await freshPostgresDatabase(backend.url!);
      const store = await openStore<Db>({ driver: "postgres", location: database.url, schema: "jobs", migrations });
      const names = await sql<{ db: string; schema: string }>`select current_database() as db, current_schema() as schema`.execute(store.db);
      assert.match(names.rows[0]?.db ?? "", /^switchyard_test_[0-9a-f]{12}$/);
      assert.equal(names.rows[0]?.schema, "jobs");
      await database.dispose();
      await assert.rejects(store.db.selectFrom("owners").selectAll().execute(), "dropped, its connections closed");
      await store.close().catch(() => undefined);
      await assert.rejects(openStore({ driver: "postgres", location: database.url, schema: "jobs", migrations }), /does not exist/);
    });

    it("says which database is missing and how to create it, without its password", async () => {
      // The test server trusts its socket: a password is sent to no one, but must still not be shown.
      const location = backend.url!.replace(/^(postgres(?:ql)?:\/\/)([^:@/]*)@([^/?#]*)\/[^?#]*/, "$1$2:hunter2@$3/no_such_database");
      await assert.rejects(openStore({ driver: "postgres", location, schema: "jobs", migrations }), (e: unknown) => {
        assert.ok(e instanceof SwitchyardError && e.code === Code.FailedPrecondition, String(e));
        assert.match(e.message, /no_such_database.*does not exist.*Create it/);
        assert.ok(!e.message.includes("hunter2"));
        return true;
      });
    });
  }
});

describe("postgres stores that cannot be reached", () => {
  it("say which URL (password hidden), what failed, and how to fix it", async () => {
    for (const location of ["postgres://ann:hunter2@/switchyard?host=/nonexistent/switchyard-socket-dir", "postgres://ann:hunter2@127.0.0.1:1/switchyard"]) {
      await assert.rejects(openStore({ driver: "postgres", location, schema: "jobs", migrations }), (e: unknown) => {
        assert.ok(e instanceof SwitchyardError && e.code === Code.Unavailable, String(e));
        assert.match(e.message, /^cannot reach PostgreSQL at postgres:\/\/ann:\*\*\*@.*switchyard.*: .*Is the server running and listening there.*scripts\/postgres-local.sh start DIR/);
        assert.ok(!e.message.includes("hunter2"));
        return true;
      });
    }
  });

  it("refuse a store without a schema: services would share tables", async () => {
    await assert.rejects(openStore({ driver: "postgres", location: "postgres://u@h/db", migrations }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /no schema was given/.test(e.message));
    await assert.rejects(openStore({ driver: "postgres", location: "postgres://u@h/db", schema: "Jobs; drop", migrations }), /is not a lowercase name/);
  });
});
