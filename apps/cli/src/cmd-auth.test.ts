import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseTtl } from "./cmd-auth.js";
import { cliEnv, runCli, spawnUp, type UpProcess } from "./test-platform.js";

// Teams, users and tokens as a user meets them: `switchyard up` as a real process tree, then the real CLI binary
// with one CLI config per person (the admin's, written by `up`, and alice's, written by `login`).

describe("switchyard login, whoami and token", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-auth-"));
  const adminEnv = cliEnv(join(dir, "admin.yaml"));
  const aliceEnv = cliEnv(join(dir, "alice.yaml"));
  let platform: UpProcess;
  let url: string;
  const cli = runCli;

  before(async () => {
    platform = await spawnUp({ ...adminEnv, SWITCHYARD_LOG_LEVEL: "warn" }, ["--data-dir", join(dir, "data"), "--port", "0"]);
    url = platform.url;
  });
  after(async () => {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("makes `up` the first admin: its token in the CLI config is a signed admin token", () => {
    const cfg = readFileSync(join(dir, "admin.yaml"), "utf8");
    assert.match(cfg, /token: sy_eyJ/);
    const me = cli(adminEnv, ["whoami", "-o", "json"]);
    assert.equal(me.code, 0, me.stderr);
    assert.deepEqual(JSON.parse(me.stdout), { user: "admin", role: "admin", teams: ["default"] });
  });

  it("lets an admin issue a token that a user logs in with; the user sees only what the role allows", () => {
    const c = cli(adminEnv, ["token", "create", "--user", "alice", "--team", "vision,nlp,default", "--role", "member", "--ttl", "2h", "--description", "laptop"]);
    assert.equal(c.code, 0, c.stderr);
    const token = c.stdout.trim();
    assert.match(token, /^sy_[\w-]+\.[\w-]+\.[\w-]+$/);
    assert.match(c.stderr, /for alice \(member; teams: default, nlp, vision\)/);
    const bad = cli(aliceEnv, ["login", "--server", url, "--token", "sy_not.a.token"]);
    assert.equal(bad.code, 3);
    assert.match(bad.stderr, /invalid token/);
    const login = cli(aliceEnv, ["login", "--server", url], token + "\n");
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stdout, /logged in to .* as alice \(member; teams: default, nlp, vision\)/);
    assert.match(readFileSync(join(dir, "alice.yaml"), "utf8"), new RegExp(`token: ${token.replace(/[.-]/g, "\\$&")}`));
    assert.match(cli(aliceEnv, ["whoami"]).stdout, /^alice\nrole: {2}member\nteams: default, nlp, vision\n$/);
    const escalate = cli(aliceEnv, ["token", "create", "--user", "mallory", "--team", "vision", "--role", "admin"]);
    assert.equal(escalate.code, 3);
    assert.match(escalate.stderr, /only admins create tokens/);
    assert.equal(cli(aliceEnv, ["users"]).code, 3);
    assert.match(cli(adminEnv, ["users"]).stdout, /alice\s+member\s+default,nlp,vision/);
  });

  it("lists and revokes tokens; a revoked token is refused at once", () => {
    const mine = cli(aliceEnv, ["token", "list", "-o", "json"]);
    assert.equal(mine.code, 0, mine.stderr);
    const items = (JSON.parse(mine.stdout) as { items: { id: string; user: string; description: string }[] }).items;
    assert.deepEqual(items.map((t) => [t.user, t.description]), [["alice", "laptop"]]);
    assert.match(cli(adminEnv, ["token", "list"]).stdout, /admin[\s\S]*alice/);
    const r = cli(adminEnv, ["token", "revoke", items[0]!.id]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`revoked ${items[0]!.id}`));
    const after = cli(aliceEnv, ["list"]);
    assert.equal(after.code, 3);
    assert.match(after.stderr, /revoked/);
    assert.match(cli(adminEnv, ["token", "list", "--all"]).stdout, /alice.*revoked/);
    assert.match(cli(adminEnv, ["token", "revoke", items[0]!.id]).stdout, /already revoked/);
  });

  it("takes a user out of a team and deletes a user; their tokens are refused at once", () => {
    const dana = cli(adminEnv, ["token", "create", "--user", "dana", "--team", "nlp,vision"]);
    assert.equal(dana.code, 0, dana.stderr);
    const danaEnv = cliEnv(join(dir, "dana.yaml"));
    assert.equal(cli(danaEnv, ["login", "--server", url, "--token", dana.stdout.trim()]).code, 0);
    const out = cli(adminEnv, ["users", "remove-team", "dana", "vision"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /dana is no longer in vision \(teams: nlp\); revoked \S+/);
    assert.equal(cli(danaEnv, ["list"]).code, 3, "her token carried vision");
    const frank = cli(adminEnv, ["token", "create", "--user", "frank", "--team", "nlp"]).stdout.trim();
    const notAdmin = cli({ ...adminEnv, SWITCHYARD_TOKEN: frank }, ["users", "delete", "admin"]);
    assert.equal(notAdmin.code, 3);
    assert.match(notAdmin.stderr, /only admins delete users/);
    const gone = cli(adminEnv, ["users", "delete", "dana"]);
    assert.equal(gone.code, 0, gone.stderr);
    assert.doesNotMatch(cli(adminEnv, ["users"]).stdout, /dana/);
    const again = cli(adminEnv, ["users", "delete", "dana"]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /no user dana/);
    // Errors list the valid values: an unknown role, a revoke for a user that does not exist.
    const boss = cli(adminEnv, ["token", "create", "--user", "gina", "--team", "nlp", "--role", "boss"]);
    assert.equal(boss.code, 2);
    assert.match(boss.stderr, /"boss" is not a role \(one of admin, member, viewer\)/);
    const nobody = cli(adminEnv, ["token", "revoke", "--user", "nosuch"]);
    assert.equal(nobody.code, 2, "not 0 with 'nothing to revoke'");
    assert.match(nobody.stderr, /no user nosuch; users: admin, \S+/);
  });

  it("shows the audit log to admins: who changed what, and who was refused", () => {
    const out = cli(adminEnv, ["audit", "--since", "1h", "--user", "admin", "--method", "DeleteUser"]);
    assert.equal(out.code, 0, out.stderr);
    assert.match(out.stdout, /TIME\s+USER\s+METHOD\s+TARGET\s+OUTCOME[\s\S]*admin\s+Auth\/DeleteUser\s+user=dana\s+allowed/);
    const json = JSON.parse(cli(adminEnv, ["audit", "--outcome", "denied", "-o", "json"]).stdout) as { items: { user: string; outcome: string }[] };
    assert.ok(json.items.length > 0 && json.items.every((e) => e.outcome === "denied"), JSON.stringify(json));
    const erin = cli(adminEnv, ["token", "create", "--user", "erin", "--team", "nlp"]).stdout.trim();
    const member = cli({ ...adminEnv, SWITCHYARD_TOKEN: erin }, ["audit"]);
    assert.equal(member.code, 3);
    assert.match(member.stderr, /only admins read the audit log/);
    assert.equal(cli(adminEnv, ["audit", "--since", "soon"]).code, 2);
  });

  it("refuses bad usage with exit code 2", () => {
    const ttl = cli(adminEnv, ["token", "create", "--user", "bob", "--team", "x", "--ttl", "soon"]);
    assert.equal(ttl.code, 2);
    assert.match(ttl.stderr, /--ttl "soon" is not a duration/);
    const noTeam = cli(adminEnv, ["token", "create", "--user", "bob"]);
    assert.equal(noTeam.code, 2);
    assert.match(noTeam.stderr, /new user and needs a team[\s\S]*--team/);
    assert.equal(cli(adminEnv, ["token", "revoke"]).code, 2);
  });

  it("reads durations as a user writes them", () => {
    assert.deepEqual(["90", "90s", "15m", "12h", "30d", "2w"].map(parseTtl), [90, 90, 900, 43_200, 2_592_000, 1_209_600]);
  });
});
