import { it } from "node:test";
import assert from "node:assert/strict";
import { describeEachStoreBackend } from "@switchyard/store/testing";
import { ConfigStore, migrations, type ControlDatabase } from "./config-store.js";

describeEachStoreBackend("config store", (backend) => {
  const doc = (name: string, content: string, version = 1) => ({ namespace: "app", kind: "K", name, content, version, updatedAtMs: 1, updatedBy: "t" });

  it("lists by namespace, kind and name, replaces a document under its key, and counts revisions", async (t) => {
    const database = await backend.fresh();
    t.after(() => database.dispose());
    const opened = await database.open<ControlDatabase>(migrations);
    const store = new ConfigStore(opened.db);
    assert.equal(await store.revision(), 0);
    await store.put(doc("b", "1"));
    await store.put({ ...doc("a", "1"), namespace: "mesh" });
    await store.put(doc("b", "2", 2));
    await store.bumpRevision();
    assert.deepEqual((await store.list("")).map((d) => [d.namespace, d.name, d.content, d.version]), [["app", "b", "2", 2], ["mesh", "a", "1", 1]]);
    assert.deepEqual((await store.list("app")).map((d) => d.name), ["b"]);
    assert.equal((await store.get({ namespace: "app", kind: "K", name: "b" }))?.updatedBy, "t");
    assert.equal(await store.revision(), 1);
    assert.equal(await store.remove({ namespace: "app", kind: "K", name: "b" }), true);
    assert.equal(await store.remove({ namespace: "app", kind: "K", name: "b" }), false);
  });

  it("keeps nothing of a transaction that throws", async (t) => {
    const database = await backend.fresh();
    t.after(() => database.dispose());
    const opened = await database.open<ControlDatabase>(migrations);
    const store = new ConfigStore(opened.db);
    await assert.rejects(
      store.transaction(async (tx) => {
        await tx.put(doc("x", "1"));
        await tx.bumpRevision();
        throw new Error("refused");
      }),
      /refused/,
    );
    assert.deepEqual(await store.list(""), []);
    assert.equal(await store.revision(), 0);
  });
});
