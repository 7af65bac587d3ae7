// `switchyard join-token`: what an operator runs on control's host for a service on another host.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { keyPath, loadOrCreateKey } from "@switchyard/core";
import { DEFAULT_TRUST_DOMAIN, verifyJoinToken } from "@switchyard/mesh";
import { loadOrCreateCa } from "@switchyard/mesh/ca";
import { cliEnv, runCli } from "./test-platform.js";

describe("switchyard join-token", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-join-"));
  const dataDir = join(dir, "data");
  const env = cliEnv(join(dir, "config.yaml"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("says to start the platform first where there is no CA", () => {
    const r = runCli(env, ["join-token", "--service", "jobs", "--data-dir", dataDir]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /no CA in .*switchyard up --data-dir/);
  });

  it("mints a one-time token for the service, pinned to the CA, that control's join key verifies", async () => {
    const ca = await loadOrCreateCa(dataDir, DEFAULT_TRUST_DOMAIN);
    const r = runCli(env, ["join-token", "--service", "jobs", "--data-dir", dataDir, "--ttl", "5m"]);
    assert.equal(r.code, 0, r.stderr);
    const claims = verifyJoinToken(loadOrCreateKey(keyPath(dataDir, "join")), r.stdout.trim());
    assert.deepEqual([claims.namespace, claims.account, claims.caFingerprint], ["system", "jobs", ca.fingerprint]);
    assert.ok(claims.expiresAtMs > Date.now() + 4 * 60_000 && claims.expiresAtMs <= Date.now() + 5 * 60_000);
    assert.match(r.stderr, /SWITCHYARD_JOIN_TOKEN=.*SWITCHYARD_CA_FILE=.*SWITCHYARD_CONTROL=/);
  });

  it("issues etcd's server certificate from the CA, for the hosts given, and prints etcd's flags", () => {
    const r = runCli(env, ["etcd-cert", "--host", "127.0.0.1", "etcd.internal", "-o", join(dir, "etcd"), "--data-dir", dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /--client-cert-auth --trusted-ca-file .*ca\.crt --cert-file .*server\.crt --key-file .*server\.key/);
    const cert = new X509Certificate(readFileSync(join(dir, "etcd", "server.crt")));
    assert.equal(cert.checkIP("127.0.0.1"), "127.0.0.1");
    assert.equal(cert.checkHost("etcd.internal"), "etcd.internal");
    // server.crt is the chain etcd serves: its certificate, then the intermediate the platform's root signed.
    const intermediate = new X509Certificate(readFileSync(join(dir, "etcd", "server.crt"), "utf8").split("-----END CERTIFICATE-----")[1]! + "-----END CERTIFICATE-----");
    assert.ok(cert.checkIssued(intermediate) && intermediate.checkIssued(new X509Certificate(readFileSync(join(dir, "etcd", "ca.crt")))), "issued by the platform CA");
    assert.equal(statSync(join(dir, "etcd", "server.key")).mode & 0o777, 0o600);
  });

  it("refuses a bad service name or lifetime, saying which", () => {
    const bad = runCli(env, ["join-token", "--service", "Jobs/../x", "--data-dir", dataDir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--service: "Jobs\/\.\.\/x" is not a service name/);
    const ttl = runCli(env, ["join-token", "--service", "jobs", "--data-dir", dataDir, "--ttl", "forever"]);
    assert.equal(ttl.code, 2);
    assert.match(ttl.stderr, /--ttl: "forever"/);
  });
});
