import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openSqlite } from "@switchyard/store";
import { ConfigStore, migrations, type ControlDatabase } from "./config-store.js";

describe("config store", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-config-store-"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const doc = (name: string, content: string, version = 1) => ({ namespace: "app", kind: "K", name, content, version, updatedAtMs: 1, updatedBy: "t" });

  it("lists by namespace, kind and name, replaces a document under its key, and counts revisions", async (t) => {
    const opened = await openSqlite<ControlDatabase>({ path: join(dir, "a.db"), migrations });
    t.after(() => opened.close());
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
    const opened = await openSqlite<ControlDatabase>({ path: join(dir, "b.db"), migrations });
    t.after(() => opened.close());
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
