import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, FakeClock, SwitchyardError } from "@switchyard/core";
import { openSqlite } from "@switchyard/store";
import { SignJWT } from "jose";
import { TokenAuthority, newTokenId } from "./token-authority.js";
import { migrations, TokenStore, type GatewayDatabase } from "./token-store.js";

async function authority(clock = new FakeClock(Date.parse("2026-01-01T00:00:00Z"))) {
  const { db } = await openSqlite<GatewayDatabase>({ path: ":memory:", migrations });
  const store = new TokenStore(db);
  return { a: await TokenAuthority.open({ store, clock }), store, clock };
}

async function refused(p: () => unknown, pattern: RegExp): Promise<void> {
  await assert.rejects(async () => p(), (err: unknown) => {
    assert.ok(err instanceof SwitchyardError);
    assert.equal(err.code, Code.Unauthenticated);
    assert.match(err.message, pattern);
    return true;
  });
}

describe("token authority", () => {
  it("issues a signed token that verifies to the user, teams and role, with or without its sy_ prefix", async () => {
    const { a, store } = await authority();
    const { token, row } = await a.issue({ user: "alice", teams: ["a", "b"], role: "member", issuedBy: "admin" });
    assert.match(token, /^sy_eyJ/);
    const id = await a.verify(token);
    assert.deepEqual({ user: id.user, teams: [...id.teams], role: id.role, tokenId: id.tokenId }, { user: "alice", teams: ["a", "b"], role: "member", tokenId: row.jti });
    assert.equal((await a.verify(token.slice(3))).user, "alice");
    assert.equal((await store.token(row.jti))?.user, "alice", "recorded by id");
  });

  it("answers a repeated token from its cache, synchronously", async () => {
    const { a } = await authority();
    const { token } = await a.issue({ user: "alice", teams: ["a"], role: "viewer", issuedBy: "admin" });
    assert.ok(a.verify(token) instanceof Promise);
    await a.verify(token);
    const again = a.verify(token);
    assert.ok(!(again instanceof Promise));
    assert.equal(again.role, "viewer");
  });

  it("refuses a token once it expires, cached or not", async () => {
    const { a, clock } = await authority();
    const { token } = await a.issue({ user: "alice", teams: ["a"], role: "member", ttlMs: 60_000, issuedBy: "admin" });
    const other = (await a.issue({ user: "bob", teams: ["a"], role: "member", ttlMs: 60_000, issuedBy: "admin" })).token;
    await a.verify(token);
    clock.advance(61_000);
    await refused(() => a.verify(token), /expired/);
    await refused(() => a.verify(other), /expired/);
  });

  it("refuses a revoked token at once, also when its verification was cached, and after a restart", async () => {
    const { a, store, clock } = await authority();
    const { token, row } = await a.issue({ user: "alice", teams: ["a"], role: "member", issuedBy: "admin" });
    await a.verify(token);
    assert.deepEqual(await a.revoke([row.jti]), [row.jti]);
    await refused(() => a.verify(token), /revoked/);
    assert.deepEqual(await a.revoke([row.jti]), [], "already revoked");
    const reopened = await TokenAuthority.open({ store, clock });
    await refused(() => reopened.verify(token), /revoked/);
  });

  it("refuses altered tokens, tokens signed with another key, and garbage", async () => {
    const { a } = await authority();
    const { b } = { b: (await authority()).a };
    const { token } = await a.issue({ user: "alice", teams: ["a"], role: "member", issuedBy: "admin" });
    const [h, p, s] = token.slice(3).split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...payload, role: "admin" })).toString("base64url")}.${s}`;
    await refused(() => a.verify(forged), /invalid token/);
    await refused(() => b.verify(token), /invalid token/);
    await refused(() => a.verify("not-a-token"), /invalid token/);
    const none = await new SignJWT({ teams: ["a"], role: "admin" }).setProtectedHeader({ alg: "HS256" }).setSubject("eve").setJti("x").setIssuer("switchyard").setAudience("switchyard").setExpirationTime("1h").sign(new Uint8Array(32));
    await refused(() => a.verify(none), /invalid token/);
  });

  it("reads a token's id without trusting it, for revocation by text", async () => {
    const { a } = await authority();
    const { token, row } = await a.issue({ user: "alice", teams: ["a"], role: "member", issuedBy: "admin" });
    assert.equal(TokenAuthority.idOf(token), row.jti);
    assert.equal(TokenAuthority.idOf("junk"), undefined);
  });
});

describe("token ids", () => {
  it("never begin with '-' (a CLI would read the id as an option) and are 16 base64url characters", () => {
    // One random id in 64 began with '-': 5,000 draws without one fail only if the filter is gone.
    const ids = Array.from({ length: 5000 }, () => newTokenId());
    assert.ok(ids.every((id) => /^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/.test(id)), ids.find((id) => !/^[A-Za-z0-9_][A-Za-z0-9_-]{15}$/.test(id)));
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe("the bootstrap admin", () => {
  it("is issued once, kept across restarts while valid, and replaced when revoked or not a token", async () => {
    const { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { ensureAdminToken } = await import("./bootstrap.js");
    const dir = mkdtempSync(join(tmpdir(), "switchyard-boot-"));
    try {
      const file = join(dir, "admin-token");
      const { a, store } = await authority();
      const first = await ensureAdminToken({ authority: a, store }, file);
      assert.equal(first.issued, true);
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal((await a.verify(first.token)).role, "admin");
      const again = await ensureAdminToken({ authority: a, store }, file);
      assert.deepEqual(again, { token: first.token, issued: false });
      await a.revoke([(await a.verify(first.token)).tokenId]);
      const renewed = await ensureAdminToken({ authority: a, store }, file);
      assert.equal(renewed.issued, true);
      assert.notEqual(renewed.token, first.token);
      writeFileSync(file, "sy_old-static-token\n");
      assert.equal((await ensureAdminToken({ authority: a, store }, file)).issued, true);
      assert.equal((await a.verify(readFileSync(file, "utf8").trim())).user, "admin");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
