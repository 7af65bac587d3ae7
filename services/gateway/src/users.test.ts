import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { TestPlatform, suspendedJob } from "./test-harness.js";

// Users leave: deleting a user, taking them out of a team or changing their role takes effect at once on the tokens
// they hold — the platform's own gateway, jobs and control behind it, over REST.
describe("deleting users, memberships and roles", () => {
  let p: TestPlatform;
  before(async () => {
    p = await TestPlatform.start();
  });
  after(async () => {
    await p.stop();
  });

  const whoami = async (token: string) => (await p.rest("GET", "/v1/whoami", { token })).status;

  it("deletes a user: every token of theirs refused at once, their jobs kept, the user gone from the list", async () => {
    const alice = await p.token("alice", ["a"], "member");
    const alice2 = await p.token("alice", ["a"], "member");
    assert.equal((await p.rest("POST", "/v1/jobs", { token: alice, body: { manifest: suspendedJob("alices-job", "a") } })).status, 200);
    const r = await p.rest("DELETE", "/v1/users/alice", { token: p.adminToken });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.equal((r.json as { revoked: string[] }).revoked.length, 2);
    assert.equal(await whoami(alice), 401);
    assert.equal(await whoami(alice2), 401);
    const users = (await p.rest("GET", "/v1/users", { token: p.adminToken })).json as { users: { name: string }[] };
    assert.ok(!users.users.some((u) => u.name === "alice"), JSON.stringify(users));
    assert.equal((await p.rest("GET", "/v1/jobs/alices-job?team=a", { token: p.adminToken })).status, 200, "the job belongs to its team and stays");
    assert.equal((await p.rest("DELETE", "/v1/users/alice", { token: p.adminToken })).status, 404, "a second delete finds nobody");
  });

  it("lets only admins delete users or change memberships, and nobody delete themselves", async () => {
    const bob = await p.token("bob", ["a"], "member");
    const victor = await p.token("victor", ["a"], "viewer");
    for (const token of [bob, victor]) {
      assert.equal((await p.rest("DELETE", "/v1/users/bob", { token })).status, 403);
      assert.equal((await p.rest("DELETE", "/v1/users/victor/teams/a", { token })).status, 403);
    }
    assert.equal((await p.rest("DELETE", "/v1/users/bob")).status, 401, "no token");
    const self = await p.rest("DELETE", "/v1/users/admin", { token: p.adminToken });
    assert.equal(self.status, 400);
    assert.match((self.json as { message: string }).message, /cannot delete yourself/);
    assert.equal(await whoami(bob), 200, "refused calls changed nothing");
    assert.equal(await whoami(p.adminToken), 200);
  });

  it("takes a user out of a team: tokens that carry the team stop, older ones without it keep working", async () => {
    const onlyA = await p.token("carol", ["a"], "member");
    const aAndB = await p.token("carol", ["b"], "member"); // carol is now in a and b: this token carries both
    const r = await p.rest("DELETE", "/v1/users/carol/teams/b", { token: p.adminToken });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual((r.json as { teams: string[] }).teams, ["a"]);
    assert.equal(await whoami(aAndB), 401);
    assert.equal(await whoami(onlyA), 200);
    assert.equal((await p.rest("DELETE", "/v1/users/carol/teams/b", { token: p.adminToken })).status, 404, "no longer in b");
    const last = await p.rest("DELETE", "/v1/users/carol/teams/a", { token: p.adminToken });
    assert.equal(last.status, 400, "the only team stays: delete the user instead");
    assert.match((last.json as { message: string }).message, /only team/);
  });

  it("revokes a user's tokens when their role changes: a demoted admin acts as admin no more", async () => {
    const ada = await p.token("ada", ["a"], "admin");
    assert.equal((await p.rest("GET", "/v1/users", { token: ada })).status, 200);
    const member = await p.token("ada", ["a"], "member");
    assert.equal((await p.rest("GET", "/v1/users", { token: ada })).status, 401, "the admin token is revoked");
    assert.equal((await p.rest("GET", "/v1/users", { token: member })).status, 403);
    const same = await p.token("ada", ["a"], "member");
    assert.equal(await whoami(member), 200, "a token of the same role stays");
    assert.equal(await whoami(same), 200);
    const lastAdmin = await p.rest("POST", "/v1/tokens", { token: p.adminToken, body: { user: "admin", teams: ["default"], role: "member" } });
    assert.equal(lastAdmin.status, 400, "the last admin is not demoted");
    assert.match((lastAdmin.json as { message: string }).message, /last admin/);
    assert.equal(await whoami(p.adminToken), 200);
  });
});
