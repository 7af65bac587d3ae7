import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { ConfigCenter } from "@switchyard/api";
import { Code, FakeClock, SwitchyardError } from "@switchyard/core";
import { openSqlite } from "@switchyard/store";
import { AuditLog, audited } from "./audit.js";
import { edgeService, type EdgeCall } from "./edge-service.js";
import { AuditStore, auditMigrations, type AuditDatabase } from "./audit-store.js";
import { TestPlatform, suspendedJob } from "./test-harness.js";

interface Event { user: string; method: string; target: string; outcome: string; code: string }

// Who did what: the audit log as an admin reads it, after real calls through the gateway to the jobs service.
describe("the audit log", () => {
  let p: TestPlatform;
  let alice: string;
  let victor: string;
  before(async () => {
    p = await TestPlatform.start();
    alice = await p.token("alice", ["a"], "member");
    victor = await p.token("victor", ["a"], "viewer");
  });
  after(async () => {
    await p.stop();
  });

  const events = async (query = ""): Promise<Event[]> => {
    const r = await p.rest("GET", `/v1/audit${query}`, { token: p.adminToken });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    return (r.json as { events: Event[] }).events;
  };

  it("records changes allowed, denied and failed, and refusals of reads — never the reads themselves", async () => {
    assert.equal((await p.rest("POST", "/v1/jobs", { token: alice, body: { manifest: suspendedJob("alices", "a") } })).status, 200);
    assert.equal((await p.rest("POST", "/v1/jobs", { token: alice, body: { manifest: suspendedJob("elsewhere", "b") } })).status, 403);
    assert.equal((await p.rest("POST", "/v1/jobs/alices:cancel", { token: victor, body: { team: "a" } })).status, 403);
    assert.equal((await p.rest("POST", "/v1/jobs", { token: alice, body: { manifest: "kind: Nope" } })).status, 400);
    assert.equal((await p.rest("GET", "/v1/jobs/alices?team=a", { token: alice })).status, 200);
    assert.equal((await p.rest("GET", "/v1/users", { token: victor })).status, 403);
    const mine = (await events("?since=1h")).filter((e) => e.user === "alice" || e.user === "victor");
    assert.deepEqual(
      mine.map((e) => [e.user, e.method, e.target, e.outcome, e.code]).reverse(),
      [
        ["alice", "switchyard.v1.Jobs/SubmitJob", "name=alices team=a", "allowed", ""],
        ["alice", "switchyard.v1.Jobs/SubmitJob", "", "denied", "PERMISSION_DENIED"],
        ["victor", "switchyard.v1.Jobs/CancelJob", "name=alices team=a", "denied", "PERMISSION_DENIED"],
        ["alice", "switchyard.v1.Jobs/SubmitJob", "", "failed", "INVALID_ARGUMENT"],
        ["victor", "switchyard.v1.Auth/ListUsers", "", "denied", "PERMISSION_DENIED"],
      ],
    );
  });

  it("records who changed users and tokens, and filters by user, method and outcome", async () => {
    await p.token("dora", ["a"], "member");
    const created = await events("?method=Auth/CreateToken&user=admin");
    assert.ok(created.some((e) => e.target === "user=dora" && e.outcome === "allowed"), JSON.stringify(created));
    const denied = await events("?outcome=denied");
    assert.ok(denied.length >= 3 && denied.every((e) => e.outcome === "denied"));
    assert.ok((await events("?user=victor")).every((e) => e.user === "victor"));
    assert.equal((await events("?limit=1")).length, 1);
  });

  it("is for admins only, and a member's attempt to read it is itself recorded", async () => {
    assert.equal((await p.rest("GET", "/v1/audit", { token: alice })).status, 403);
    assert.equal((await p.rest("GET", "/v1/audit")).status, 401);
    const [last] = await events("?user=alice&method=ListAuditEvents");
    assert.equal(last?.outcome, "denied");
  });

  it("refuses a since, outcome or limit it cannot read, saying which", async () => {
    for (const [q, field] of [["?since=yesterday", "since"], ["?outcome=maybe", "outcome"], ["?limit=5000", "limit"]] as const) {
      const r = await p.rest("GET", `/v1/audit${q}`, { token: p.adminToken });
      assert.equal(r.status, 400, q);
      assert.match((r.json as { message: string }).message, new RegExp(`^${field}:`));
    }
  });
});

describe("audit rows are bounded", () => {
  it("stores at most 512 characters of target whatever names a caller sends", async () => {
    const { db, close } = await openSqlite<AuditDatabase>({ path: ":memory:", migrations: auditMigrations });
    const log = new AuditLog({ store: new AuditStore(db) });
    const refused = edgeService(ConfigCenter, {
      async putDocuments() {
        throw new SwitchyardError(Code.PermissionDenied, "no");
      },
    });
    const put = audited(refused, log).handlers.get("putDocuments")! as (req: unknown, call: EdgeCall) => Promise<unknown>;
    const huge = "x".repeat(800_000);
    const documents = Array.from({ length: 5 }, () => ({ namespace: huge, kind: huge, name: huge }));
    await assert.rejects(put({ documents, name: huge }, { identity: { user: "vic", teams: [], role: "viewer", tokenId: "t", expiresAtMs: 0 }, signal: new AbortController().signal, timeoutMs: undefined }));
    const [row] = await log.list({ sinceMs: 0, limit: 10 });
    assert.equal(row?.outcome, "denied");
    assert.ok(row!.target.length <= 512, String(row!.target.length));
    await log.close();
    await close();
  });
});

describe("audit retention", () => {
  it("sweeps events older than the retention and the oldest beyond the row cap", async () => {
    const { db, close } = await openSqlite<AuditDatabase>({ path: ":memory:", migrations: auditMigrations });
    const clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"));
    const store = new AuditStore(db);
    const log = new AuditLog({ store, clock, retentionMs: 10 * 86_400_000, maxRows: 3 });
    const row = (n: number) => ({ user: `u${n}`, role: "admin", method: "m", target: "", outcome: "allowed" as const, code: "", message: "" });
    log.record(row(1));
    await log.flush();
    clock.advance(11 * 86_400_000);
    for (let n = 2; n <= 6; n++) log.record(row(n));
    assert.equal(await log.sweep(), 3, "u1 is past retention; u2 and u3 beyond the cap of 3");
    assert.deepEqual((await log.list({ sinceMs: 0, limit: 10 })).map((r) => r.user), ["u6", "u5", "u4"]);
    await log.close();
    await close();
  });
});

describe("an audited service", () => {
  it("keeps what the service says about itself besides its handlers (reads, uncompressed answers)", async () => {
    const { db, close } = await openSqlite<AuditDatabase>({ path: ":memory:", migrations: auditMigrations });
    const edge = { ...edgeService(ConfigCenter, {}), auditAsReads: new Set(["putDocuments"]), uncompressedAnswers: true };
    const wrapped = audited(edge, new AuditLog({ store: new AuditStore(db) }));
    assert.equal(wrapped.uncompressedAnswers, true);
    assert.deepEqual([...(wrapped.auditAsReads ?? [])], ["putDocuments"]);
    assert.notEqual(wrapped.handlers, edge.handlers);
    await close();
  });
});
