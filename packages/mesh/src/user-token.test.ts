// User tokens (user-token.ts): what a replaying, expired, forging or tampering caller gets. Real keys and certificates
// from a real CA; the last test replays a token over the mesh.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import type { WorkloadIdentity } from "./credentials.js";
import { startEcho, type EchoInstance } from "./echo-fixture.js";
import { Echo } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
import { CertificateAuthority } from "./pki.js";
import { serviceId } from "./spiffe.js";
import { dataDirIdentity, localIdentity } from "./platform-identity.js";
import { createMeshRuntime } from "./runtime.js";
import { USER_TOKEN_HEADER, UserTokenMinter, verifierFor, type EndUser, type UserTokenVerifier } from "./user-token.js";

const TD = "switchyard.local";
const JOBS = serviceId(TD, "jobs");
const alice: EndUser = { user: "alice", teams: ["vision"], role: "member" };
const refused = (pattern: RegExp) => (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unauthenticated && pattern.test(e.message);

describe("user tokens", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-usertoken-"));
  const ids: WorkloadIdentity[] = [];
  let gateway: WorkloadIdentity;
  let verifier: UserTokenVerifier;
  let echo: EchoInstance;

  before(async () => {
    gateway = dataDirIdentity(dir, "gateway");
    const echoId = dataDirIdentity(dir, "echo");
    ids.push(gateway, echoId);
    await Promise.all([gateway.ready, echoId.ready]);
    verifier = verifierFor(gateway);
    echo = await startEcho({ id: "e1", runtime: createMeshRuntime({ serviceName: "echo", credentials: echoId }) });
  });
  after(async () => {
    await echo.stop();
    for (const i of ids) i.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("name the user, the issuer and the audience, and are reused until a minute before they expire", () => {
    const minter = new UserTokenMinter(gateway);
    const t = minter.token(alice, JOBS);
    assert.equal(minter.token(alice, JOBS), t, "cached");
    assert.notEqual(minter.token({ ...alice, role: "admin" }, JOBS), t, "another role is another token");
    const v = verifier.verify(t, JOBS);
    assert.deepEqual([v.user, v.role, v.teams, v.issuer], ["alice", "member", ["vision"], serviceId(TD, "gateway")]);
  });

  it("refuse a token replayed to another audience, an expired one, a tampered one, and one from another CA", async () => {
    const minter = new UserTokenMinter(gateway);
    assert.throws(() => verifier.verify(minter.token(alice, JOBS), serviceId(TD, "control")), refused(/minted for spiffe:\/\/switchyard.local\/ns\/system\/sa\/jobs, not for .*control/));
    const old = new UserTokenMinter(gateway).token(alice, JOBS, Date.now() - 10 * 60_000);
    assert.throws(() => verifier.verify(old, JOBS), refused(/expired/));
    const [h, p, s] = minter.token(alice, JOBS).split(".");
    const claims = JSON.parse(Buffer.from(p!, "base64url").toString()) as Record<string, unknown>;
    const forged = `${h}.${Buffer.from(JSON.stringify({ ...claims, role: "admin" })).toString("base64url")}.${s}`;
    assert.throws(() => verifier.verify(forged, JOBS), refused(/signature/));
    const other = (await CertificateAuthority.create(TD)).ca;
    const rogue = await localIdentity(other, serviceId(TD, "gateway"));
    ids.push(rogue);
    assert.throws(() => verifier.verify(new UserTokenMinter(rogue).token(alice, JOBS), JOBS), refused(/not issued by the platform CA/));
    assert.throws(() => verifier.verify("a.b", JOBS), refused(/compact JWT/));
  });

  it("over the mesh: a token minted for jobs, replayed by jobs to another service, is UNAUTHENTICATED there", async () => {
    const token = new UserTokenMinter(gateway).token(alice, JOBS);
    const jobs = dataDirIdentity(dir, "jobs");
    ids.push(jobs);
    await jobs.ready;
    const c = createClient(Echo, { target: echo.address, runtime: createMeshRuntime({ serviceName: "jobs", credentials: jobs }) });
    try {
      await assert.rejects(c.echo({}, { metadata: { [USER_TOKEN_HEADER]: token } }), refused(/not for spiffe:\/\/switchyard.local\/ns\/system\/sa\/echo/));
      const ok = await c.echo({}, { metadata: { "x-switchyard-user": "admin", "x-switchyard-role": "admin" } });
      assert.equal(ok.seen["x-switchyard-user"], undefined, "plain user headers never reach a handler under mTLS");
    } finally {
      c.close();
    }
  });
});
