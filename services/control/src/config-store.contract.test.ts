import { it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { describeEachStoreBackend, describeUpgradeFixtures, type TestStoreBackend } from "@switchyard/store/testing";
import type { OpenedStore } from "@switchyard/store";
import { ConfigStore, migrations, type ControlDatabase, type StoredDocument } from "./config-store.js";
import { JoinTokenStore } from "./identity-store.js";

/** Milliseconds past 2^31. */
const T = 1_733_000_000_000;
const doc = (namespace: string, kind: string, name: string, o: Partial<StoredDocument> = {}): StoredDocument => ({ namespace, kind, name, content: `${name}: 1\n`, version: 1, updatedAtMs: T, updatedBy: "ann", ...o });

async function open(backend: TestStoreBackend, t: TestContext): Promise<OpenedStore<ControlDatabase>> {
  const database = await backend.fresh();
  t.after(() => database.dispose());
  return database.open<ControlDatabase>(migrations);
}

describeEachStoreBackend("control store contract", (backend) => {
  it("round-trips documents with their versions and times, in key order, upserted on their key", async (t) => {
    const store = new ConfigStore((await open(backend, t)).db);
    await store.put(doc("mesh", "VirtualService", "b"));
    await store.put(doc("mesh", "DestinationRule", "z"));
    await store.put(doc("Mesh", "DestinationRule", "a"));
    await store.put(doc("mesh", "VirtualService", "b", { content: "b: 2\n", version: 2, updatedAtMs: T + 2 ** 32, updatedBy: "bob" }));
    assert.deepEqual(
      (await store.list("")).map((d) => `${d.namespace}/${d.kind}/${d.name}`),
      ["Mesh/DestinationRule/a", "mesh/DestinationRule/z", "mesh/VirtualService/b"],
      "code point order: upper case first, as on SQLite",
    );
    assert.deepEqual(await store.get({ namespace: "mesh", kind: "VirtualService", name: "b" }), doc("mesh", "VirtualService", "b", { content: "b: 2\n", version: 2, updatedAtMs: T + 2 ** 32, updatedBy: "bob" }));
    assert.equal(await store.get({ namespace: "mesh", kind: "virtualservice", name: "b" }), undefined, "keys are case-sensitive");
  });

  it("counts revisions in the transaction that makes the change, and forgets both when it throws", async (t) => {
    const store = new ConfigStore((await open(backend, t)).db);
    for (let i = 0; i < 3; i++) {
      await store.transaction(async (tx) => {
        await tx.put(doc("app", "K", `d${i}`));
        await tx.bumpRevision();
      });
    }
    await assert.rejects(store.transaction(async (tx) => {
      await tx.bumpRevision();
      await tx.remove({ namespace: "app", kind: "K", name: "d0" });
      throw new Error("refused");
    }), /refused/);
    assert.equal(await store.revision(), 3);
    assert.equal((await store.list("app")).length, 3);
  });

  it("accepts a join token's nonce once, forgetting nonces whose tokens expired", async (t) => {
    const tokens = new JoinTokenStore((await open(backend, t)).db);
    assert.equal(await tokens.claim("n1", T + 60_000, T), true);
    assert.equal(await tokens.claim("n1", T + 60_000, T + 1), false, "used already");
    assert.equal(await tokens.claim("n2", T + 1_000, T + 2), true);
    assert.equal(await tokens.claim("n1", T + 120_000, T + 60_000), true, "n1 expired and was forgotten: a new token may reuse it");
  });
});

describeUpgradeFixtures<ControlDatabase>("control", migrations, new URL("../fixtures/upgrade/", import.meta.url), async (opened) => {
  const store = new ConfigStore(opened.db);
  assert.equal(await store.revision(), 2);
  assert.deepEqual(await store.list(""), [
    { namespace: "app", kind: "Settings", name: "ui", content: "{}", version: 2, updatedAtMs: T + 1, updatedBy: "ann" },
    { namespace: "mesh", kind: "DestinationRule", name: "jobs", content: "kind: DestinationRule\n", version: 1, updatedAtMs: T, updatedBy: "admin" },
  ]);
  assert.equal(await new JoinTokenStore(opened.db).claim("fx-nonce", T + 3_600_000, T + 1), false, "a nonce used before the upgrade stays used");
});
