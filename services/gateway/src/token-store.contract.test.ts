import { it, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { describeEachStoreBackend, describeUpgradeFixtures, type TestStoreBackend } from "@switchyard/store/testing";
import type { Kysely, OpenedStore } from "@switchyard/store";
import { auditMigrations, AuditStore, type AuditDatabase, type NewAuditRow } from "./audit-store.js";
import { migrations, TokenStore, type GatewayDatabase, type TokenRow } from "./token-store.js";

/** Milliseconds past 2^31. */
const T = 1_733_000_000_000;
const all = { ...migrations, ...auditMigrations };
type Db = GatewayDatabase & AuditDatabase;

async function open(backend: TestStoreBackend, t: TestContext): Promise<OpenedStore<Db>> {
  const database = await backend.fresh();
  t.after(() => database.dispose());
  return database.open<Db>(all);
}

const token = (jti: string, issuedAt: number, o: Partial<TokenRow> = {}): TokenRow => ({
  jti, user: "ann", teams: JSON.stringify(["vision"]), role: "member", issued_at: issuedAt, expires_at: issuedAt + 86_400_000, revoked_at: null, description: "", issued_by: "ann", ...o,
});
/** One database holds both stores' tables; each store is typed with its own (as gateway.ts opens them). */
const gatewayDb = (db: Kysely<Db>) => db as unknown as Kysely<GatewayDatabase>;
const auditDb = (db: Kysely<Db>) => db as unknown as Kysely<AuditDatabase>;

const audit = (i: number, o: Partial<NewAuditRow> = {}): NewAuditRow => ({ at: T + i, user: "ann", role: "admin", method: "/switchyard.v1.Jobs/SubmitJob", target: `job-${i}`, outcome: "allowed", code: "", message: "", ...o });

describeEachStoreBackend("gateway store contract", (backend) => {
  it("creates users or changes their roles by upsert, and keeps their teams in code point order", async (t) => {
    const opened = await open(backend, t);
    const store = new TokenStore(gatewayDb(opened.db));
    await store.upsertUser("ann", "admin", ["vision", "Vision", "nlp"], T);
    await store.upsertUser("ann", undefined, ["audio"], T + 1);
    await store.upsertUser("bob", undefined, [], T + 2);
    await store.upsertUser("bob", "admin", ["vision"], T + 3);
    assert.deepEqual(await store.user("ann"), { name: "ann", role: "admin", teams: ["Vision", "audio", "nlp", "vision"], createdAt: T });
    assert.deepEqual(await store.users(), [
      { name: "ann", role: "admin", teams: ["Vision", "audio", "nlp", "vision"], createdAt: T },
      { name: "bob", role: "admin", teams: ["vision"], createdAt: T + 2 },
    ]);
    assert.equal(await store.adminCount(), 2);
    // A membership of a user that does not exist breaks the foreign key.
    const err = await opened.db.insertInto("memberships").values({ user: "nobody", team: "x", created_at: T }).execute().then(() => assert.fail("inserted"), (e: unknown) => e);
    assert.equal(opened.constraintOf(err), "foreignKey");
    assert.equal(await store.deleteUser("ann"), true);
    assert.equal(await store.deleteUser("ann"), false);
    assert.equal(await store.removeMembership("bob", "vision"), true);
  });

  it("keeps the first signing key of an id, and lists and revokes tokens in issue order", async (t) => {
    const opened = await open(backend, t);
    const store = new TokenStore(gatewayDb(opened.db));
    await store.addSigningKey("k1", "s1", T);
    await store.addSigningKey("k1", "other", T + 1);
    await store.addSigningKey("k2", "s2", T + 1);
    assert.deepEqual(await store.signingKey(), { kid: "k2", secret: "s2" });
    await store.insertToken(token("t2", T + 2));
    await store.insertToken(token("t1", T + 1, { user: "bob" }));
    await store.insertToken(token("t3", T + 2));
    const err = await store.insertToken(token("t1", T)).then(() => assert.fail("inserted"), (e: unknown) => e);
    assert.equal(opened.constraintOf(err), "unique");
    assert.deepEqual((await store.tokens({})).map((r) => r.jti), ["t1", "t2", "t3"]);
    assert.deepEqual(await store.token("t1"), token("t1", T + 1, { user: "bob" }));
    assert.deepEqual(await store.revoke(["t2", "t3", "nope"], T + 5), ["t2", "t3"]);
    assert.deepEqual(await store.revoke(["t2"], T + 6), [], "revoked once");
    assert.deepEqual((await store.tokens({ user: "ann", activeAt: T + 10 })).map((r) => r.jti), []);
    assert.deepEqual(await store.revokedUnexpired(T + 10), ["t2", "t3"]);
    assert.equal((await store.token("t2"))?.revoked_at, T + 5);
  });

  it("appends more than 500 audit rows in one transaction, lists them newest first and matches methods as written", async (t) => {
    const opened = await open(backend, t);
    const store = new AuditStore(auditDb(opened.db));
    const rows = Array.from({ length: 1_234 }, (_, i) => audit(i, i % 100 === 0 ? { method: "/switchyard.v1.Secrets/Put_%", outcome: "denied", code: "PERMISSION_DENIED" } : {}));
    await store.append(rows);
    const newest = await store.list({ sinceMs: 0, limit: 3 });
    assert.deepEqual(newest.map((r) => [r.id, r.at, r.target]), [[1234, T + 1233, "job-1233"], [1233, T + 1232, "job-1232"], [1232, T + 1231, "job-1231"]]);
    assert.equal((await store.list({ sinceMs: 0, method: "Put_%", limit: 100 })).length, 13, "% and _ are the method's own characters");
    assert.equal((await store.list({ sinceMs: 0, method: "put_%", limit: 100 })).length, 0, "matched case-sensitively, as SQLite's instr does");
    assert.equal((await store.list({ sinceMs: 0, method: "Put%", limit: 100 })).length, 0, "not a LIKE pattern");
    assert.equal((await store.list({ sinceMs: T + 1000, outcome: "denied", limit: 100 })).length, 3);
    // A failing batch leaves nothing: no row of it is kept.
    await assert.rejects(store.append([...rows.slice(0, 600), { ...audit(0), user: null as unknown as string }]));
    assert.equal((await store.list({ sinceMs: 0, limit: 10_000 })).length, 1_234);
    assert.equal(await store.sweep(T + 34, 1_000), 34 + 200);
    assert.deepEqual((await store.list({ sinceMs: 0, limit: 10_000 })).map((r) => r.id).at(-1), 235);
  });
});

describeUpgradeFixtures<Db>("gateway", all, new URL("../fixtures/upgrade/", import.meta.url), async (opened) => {
  const tokens = new TokenStore(gatewayDb(opened.db));
  assert.deepEqual(await tokens.signingKey(), { kid: "fx-kid", secret: "fx-secret" });
  assert.deepEqual(await tokens.users(), [
    { name: "ann", role: "admin", teams: ["nlp", "vision"], createdAt: T + 1 },
    { name: "bob", role: "member", teams: ["vision"], createdAt: T + 2 },
  ]);
  assert.deepEqual((await tokens.tokens({})).map((r) => [r.jti, r.issued_at, r.expires_at, r.revoked_at]), [["fx-jti-1", T + 3, T + 3 + 86_400_000, null], ["fx-jti-2", T + 4, T + 4 + 86_400_000, T + 5]]);
  const rows = await new AuditStore(auditDb(opened.db)).list({ sinceMs: 0, limit: 10 });
  assert.deepEqual(rows.map((r) => [r.id, r.at, r.outcome, r.code]), [[3, T + 12, "failed", "INTERNAL"], [2, T + 11, "denied", "PERMISSION_DENIED"], [1, T + 10, "allowed", ""]]);
  await new AuditStore(auditDb(opened.db)).append([audit(99)]);
  assert.equal((await new AuditStore(auditDb(opened.db)).list({ sinceMs: 0, limit: 1 }))[0]?.id, 4, "ids go on after the upgrade");
});
