import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey, type JWK } from "jose";
import { Code, SwitchyardError } from "@switchyard/core";
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadRequestAuthentication, parseRequestAuthentication } from "./oidc.js";
import { TestPlatform, suspendedJob } from "./test-harness.js";

const ISSUER = "https://login.example.com";

function resource(rule: string, annotations = ""): string {
  return `apiVersion: security.istio.io/v1
kind: RequestAuthentication
metadata:
  name: corp
  annotations:
    switchyard.io/teams-claim: groups
    switchyard.io/role-claim: switchyard_role
${annotations}spec:
  jwtRules:
${rule}`;
}

function refusal(text: string): SwitchyardError {
  try {
    parseRequestAuthentication(text, "authn.yaml");
  } catch (err) {
    assert.ok(err instanceof SwitchyardError && err.code === Code.InvalidArgument, String(err));
    return err;
  }
  assert.fail("accepted");
}

describe("RequestAuthentication: reading the resource", () => {
  it("refuses what the edge would not enforce, by name and line, a key source off this machine, and a key set without keys", async () => {
    const jwks = `    jwks: '{"keys":[]}'\n`;
    const pub = { ...(await exportJWK((await generateKeyPair("ES256")).publicKey)), kid: "k" };
    const real = `    jwks: '${JSON.stringify({ keys: [pub] })}'\n`;
    let e = refusal(resource(`  - issuer: ${ISSUER}\n${jwks}    fromHeaders: [{name: x-jwt}]\n`));
    assert.match(e.message, /^authn\.yaml:12: corp\.spec\.jwtRules\[0\]\.fromHeaders: is not enforced/);
    e = refusal(resource(`  - issuer: ${ISSUER}\n    jwksUri: https://login.example.com/keys\n`));
    assert.match(e.message, /jwksUri: must be on this machine/);
    e = refusal(resource(`  - issuer: ${ISSUER}\n${jwks}    jwksUri: http://127.0.0.1:1/keys\n`));
    assert.match(e.message, /needs exactly one of jwks and jwksUri/);
    e = refusal(resource(`  - issuer: ${ISSUER}\n${jwks}`).replace("spec:\n", "spec:\n  selector: {matchLabels: {app: x}}\n"));
    assert.match(e.message, /spec\.selector: is not enforced/);
    e = refusal(resource(`  - issuer: ${ISSUER}\n${jwks}`, "    switchyard.io/teams: x\n"));
    assert.match(e.message, /switchyard\.io\/teams is not a Switchyard annotation/);
    e = refusal(resource(`  - issuer: ${ISSUER}\n${jwks}`));
    assert.match(e.message, /jwks: holds no key/);
    e = refusal(resource(`  - issuer: ${ISSUER}\n    jwksUri: http://localhost:9/keys\n`));
    assert.match(e.message, /must be on this machine/, "a name, not an address, could resolve elsewhere");
    e = refusal(resource(`  - issuer: switchyard\n${real}`));
    assert.match(e.message, /the platform's own issuer/);
    assert.equal(parseRequestAuthentication(resource(`  - issuer: ${ISSUER}\n${real}`), "authn.yaml").length, 1);
  });
});

describe("RequestAuthentication: the file", () => {
  it("is refused when others may write it: whoever writes it chooses who is admin", async () => {
    const dir = mkdtempSync(join(tmpdir(), "authn-"));
    try {
      const pub = { ...(await exportJWK((await generateKeyPair("ES256")).publicKey)), kid: "k" };
      const file = join(dir, "authn.yaml");
      writeFileSync(file, resource(`  - issuer: ${ISSUER}\n    jwks: '${JSON.stringify({ keys: [pub] })}'\n`));
      chmodSync(file, 0o600);
      assert.equal(loadRequestAuthentication(file).length, 1);
      chmodSync(file, 0o666);
      assert.throws(() => loadRequestAuthentication(file), (e: unknown) => e instanceof SwitchyardError && /writable by others/.test(e.message));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("RequestAuthentication: another issuer's tokens at the edge", () => {
  let p: TestPlatform;
  let key: CryptoKey;
  let other: CryptoKey;
  let jwksServer: Server;
  before(async () => {
    const pair = await generateKeyPair("ES256");
    key = pair.privateKey;
    other = (await generateKeyPair("ES256")).privateKey;
    const pub: JWK = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "ES256" };
    // The second issuer's keys come from a loopback URL, the first's inline.
    jwksServer = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: [pub] })));
    await new Promise<void>((r) => jwksServer.listen(0, "127.0.0.1", r));
    const port = (jwksServer.address() as AddressInfo).port;
    const rules = parseRequestAuthentication(
      `${resource(`  - issuer: ${ISSUER}\n    audiences: [switchyard]\n    jwks: '${JSON.stringify({ keys: [pub] })}'\n`)}---\n${resource(`  - issuer: https://sso.local\n    jwksUri: http://127.0.0.1:${port}/keys\n`).replace("name: corp", "name: sso")}`,
      "authn.yaml",
    );
    p = await TestPlatform.start({ requestAuthentication: rules });
  });
  after(async () => {
    await p.stop();
    jwksServer.close();
  });

  const token = (claims: Record<string, unknown>, o: { signer?: CryptoKey; iss?: string; aud?: string; exp?: string } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer(o.iss ?? ISSUER)
      .setAudience(o.aud ?? "switchyard")
      .setIssuedAt()
      .setExpirationTime(o.exp ?? "10m")
      .sign(o.signer ?? key);

  it("maps a valid token's claims to the user, teams and role, and the services act on them", async () => {
    const t = await token({ sub: "Alice@Example.com", groups: ["a", "Not A Team!"], switchyard_role: "member" });
    const who = await p.rest("GET", "/v1/whoami", { token: t });
    assert.equal(who.status, 200, JSON.stringify(who.json));
    assert.deepEqual(who.json, { user: "alice@example.com", teams: ["a"], role: "member" });
    assert.equal((await p.rest("POST", "/v1/jobs", { token: t, body: { manifest: suspendedJob("oidc-job", "a") } })).status, 200);
    assert.equal((await p.rest("POST", "/v1/jobs", { token: t, body: { manifest: suspendedJob("oidc-b", "b") } })).status, 403);
    const viewer = await token({ sub: "bob", groups: "a b" });
    assert.deepEqual((await p.rest("GET", "/v1/whoami", { token: viewer })).json, { user: "bob", teams: ["a", "b"], role: "viewer" }, "no role claim: the default role");
  });

  it("takes keys from a loopback JWKS URL", async () => {
    const t = await token({ sub: "carol", groups: ["a"] }, { iss: "https://sso.local", aud: "anything" });
    assert.equal((await p.rest("GET", "/v1/whoami", { token: t })).status, 200);
  });

  it("refuses a token signed by another key, for another audience, expired, too long-lived, without a usable user, naming a local user, or from an unknown issuer", async () => {
    const cases: [string, Promise<string>][] = [
      ["a lifetime over 24 h", token({ sub: "alice", groups: ["a"] }, { exp: "30d" })],
      ["the platform's own admin", token({ sub: "admin", groups: ["a"], switchyard_role: "admin" })],
      ["another key", token({ sub: "mallory", groups: ["a"], switchyard_role: "admin" }, { signer: other })],
      ["another audience", token({ sub: "alice", groups: ["a"] }, { aud: "grafana" })],
      ["expired", token({ sub: "alice", groups: ["a"] }, { exp: "-1h" })],
      ["no user", token({ groups: ["a"] })],
      ["unknown issuer", token({ sub: "alice" }, { iss: "https://evil.example.com" })],
    ];
    for (const [what, t] of cases) {
      const r = await p.rest("GET", "/v1/whoami", { token: await t });
      assert.equal(r.status, 401, `${what}: ${JSON.stringify(r.json)}`);
    }
  });

  it("still takes the platform's own tokens", async () => {
    assert.equal((await p.rest("GET", "/v1/whoami", { token: p.adminToken })).status, 200);
  });
});
