// `switchyard up --tls`: the gateway's edge over TLS with a self-signed certificate, the fingerprint printed, and a
// CLI that trusts that one certificate and nothing else. A real platform, real sockets.
import assert from "node:assert/strict";
import { X509Certificate } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { parse } from "yaml";
import { cliEnv, runCli, spawnUp, type UpProcess } from "./test-platform.js";

describe("the gateway's edge over TLS (up --tls)", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-edge-tls-"));
  const dataDir = join(dir, "data");
  const env = cliEnv(join(dir, "config.yaml"));
  let p: UpProcess;
  before(async () => {
    p = await spawnUp(env, ["--data-dir", dataDir, "--jobs-dir", join(dir, "jobs"), "--port", "0", "--tls"]);
    await new Promise((r) => setTimeout(r, 200));
  });
  after(async () => {
    await p?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves https, prints the certificate's fingerprint and points the CLI at the certificate", () => {
    assert.match(p.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    const crt = join(dataDir, "gateway", "tls.crt");
    const fingerprint = new X509Certificate(readFileSync(crt)).fingerprint256;
    assert.ok(p.stdout.includes(`TLS certificate SHA-256 fingerprint: ${fingerprint}`), p.stdout);
    assert.equal(statSync(join(dataDir, "gateway", "tls.pem")).mode & 0o777, 0o600, "the key stays private");
    const config = parse(readFileSync(join(dir, "config.yaml"), "utf8")) as { server: string; ca: string };
    assert.deepEqual([config.server, config.ca], [p.url, crt]);
    const list = runCli(env, ["list"]);
    assert.equal(list.code, 0, list.stderr);
    const status = runCli(env, ["mesh", "status"]);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /jobs/, "metrics fetched over https with the same trust");
  });

  it("is refused by a CLI that does not trust the certificate, and refuses plaintext", async () => {
    const token = (parse(readFileSync(join(dir, "config.yaml"), "utf8")) as { token: string }).token;
    const stranger = runCli(cliEnv(join(dir, "other.yaml"), { SWITCHYARD_URL: p.url, SWITCHYARD_TOKEN: token }), ["list"]);
    assert.equal(stranger.code, 3, stranger.stderr);
    assert.match(stranger.stderr, /could not be reached.*(self-signed|certificate)/s);
    const plain = await fetch(p.url.replace("https:", "http:") + "/healthz").then((r) => r.status, (e: unknown) => String(e));
    assert.notEqual(plain, 200, "plain HTTP does not get through the TLS port");
  });
});
