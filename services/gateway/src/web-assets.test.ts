import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import type { Job } from "@switchyard/api";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { noopLogger } from "@switchyard/core";
import { suspendedJob, TestPlatform } from "./test-harness.js";
import { DASHBOARD_CSP, loadWebAssets, notBuilt } from "./web-assets.js";

/** A raw GET (fetch would normalize `..` away and decompress): the path as an attacker sends it. */
function rawGet(url: string, path: string, headers: Record<string, string> = {}, method = "GET"): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url + path, { method, headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("the dashboard's files at the gateway's one port", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-web-"));
  const web = join(dir, "dist");
  const secret = join(dir, "secret.txt");
  const APP_JS = `console.log(${JSON.stringify("x".repeat(4000))});`;
  let p: TestPlatform;
  before(async () => {
    mkdirSync(join(web, "assets"), { recursive: true });
    writeFileSync(join(web, "index.html"), '<!doctype html><html lang="en"><title>Switchyard</title><script type="module" src="/assets/index-abc123.js"></script></html>');
    writeFileSync(join(web, "assets", "index-abc123.js"), APP_JS);
    writeFileSync(secret, "the platform's secret");
    symlinkSync(secret, join(web, "assets", "leak.js"));
    p = await TestPlatform.start({ webDir: web });
  });
  after(async () => {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("answers / and every route of the app with index.html, locked down by its headers", async () => {
    for (const path of ["/", "/jobs", "/jobs/vision/train-1", "/queues", "/mesh", "/serving", "/experiments", "/login"]) {
      const r = await rawGet(p.url, path);
      assert.equal(r.status, 200, path);
      assert.match(r.body.toString(), /<title>Switchyard<\/title>/, path);
      assert.equal(r.headers["content-type"], "text/html; charset=utf-8");
      assert.equal(r.headers["content-security-policy"], DASHBOARD_CSP);
      assert.equal(r.headers["x-frame-options"], "DENY");
      assert.equal(r.headers["x-content-type-options"], "nosniff");
      assert.equal(r.headers["cache-control"], "no-cache", "the page is checked each time: a new build is seen at once");
    }
    assert.match(DASHBOARD_CSP, /script-src 'self';/);
    assert.doesNotMatch(DASHBOARD_CSP, /unsafe-inline|unsafe-eval|\*/, "no inline script, no eval, no wildcard source");
  });

  it("serves the hashed assets compressed, cached for good, and 304 for an ETag the browser has", async () => {
    const plain = await rawGet(p.url, "/assets/index-abc123.js");
    assert.equal(plain.body.toString(), APP_JS);
    assert.equal(plain.headers["cache-control"], "public, max-age=31536000, immutable");
    const gz = await rawGet(p.url, "/assets/index-abc123.js", { "accept-encoding": "gzip, br" });
    assert.equal(gz.headers["content-encoding"], "gzip");
    assert.ok(gz.body.length < APP_JS.length / 10, `gzip ${gz.body.length} bytes`);
    assert.equal(gunzipSync(gz.body).toString(), APP_JS);
    const refused = await rawGet(p.url, "/assets/index-abc123.js", { "accept-encoding": "gzip;q=0, identity" });
    assert.equal(refused.headers["content-encoding"], undefined, "gzip;q=0 means not gzip");
    assert.equal(refused.body.toString(), APP_JS);
    const again = await rawGet(p.url, "/assets/index-abc123.js", { "if-none-match": String(plain.headers.etag) });
    assert.equal(again.status, 304);
    assert.equal(again.body.length, 0);
    const head = await rawGet(p.url, "/", {}, "HEAD");
    assert.equal(head.status, 200);
  });

  it("never serves a file outside the build, a symlink in it, or a path a URL names", async () => {
    for (const path of ["/assets/leak.js", "/../secret.txt", "/assets/../../secret.txt", "/%2e%2e/secret.txt", "/assets/%2e%2e%2f%2e%2e%2fsecret.txt", "/index.html/../../secret.txt", "/jobs/a/b/c"]) {
      const r = await rawGet(p.url, path);
      assert.ok(r.status >= 400, `${path}: ${r.status}`);
      assert.doesNotMatch(r.body.toString(), /the platform's secret/, path);
    }
  });

  it("leaves the API where it was: REST, Connect and POST to an app route are not the dashboard's", async () => {
    const unauthenticated = await p.rest("GET", "/v1/jobs");
    assert.equal(unauthenticated.status, 401, "REST still asks for a token");
    const post = await p.rest("POST", "/jobs", { body: {} });
    assert.notEqual(post.status, 200);
    assert.doesNotMatch(post.text, /<title>Switchyard/);
    const healthz = await p.rest("GET", "/healthz");
    assert.equal(healthz.status, 200);
  });

  it("streams the job list to the browser's protocol (Connect over HTTP/1.1): a member sees their team's jobs only", async () => {
    const alice = await p.token("alice", ["vision"], "member");
    const bob = await p.token("bob", ["nlp"], "member");
    const ac = new AbortController();
    const it = p.clients(alice).jobs.watchJobs({}, { signal: ac.signal })[Symbol.asyncIterator]();
    assert.deepEqual((await it.next()).value?.jobs, []);
    await p.clients(bob).jobs.submitJob({ manifest: suspendedJob("theirs", "nlp"), requestId: "w-theirs" });
    await p.clients(alice).jobs.submitJob({ manifest: suspendedJob("ours", "vision"), requestId: "w-ours" });
    const next = (await it.next()).value;
    assert.deepEqual(next?.jobs.map((j: Job) => [j.metadata?.name, j.metadata?.user]), [["ours", "alice"]], "bob's job, submitted first, never reaches alice");
    ac.abort();
  });

  it("says how to build the dashboard when it is not built, and loads nothing from a missing directory", async () => {
    const missing = join(dir, "missing");
    assert.equal(loadWebAssets(missing, noopLogger), undefined);
    const linked = join(dir, "current");
    symlinkSync(web, linked);
    assert.ok(loadWebAssets(linked, noopLogger)?.paths.includes("/index.html"), "a link to the build directory is followed (only links inside it are not)");
    const server = createServer((req, res) => {
      if (!notBuilt(req, res, req.url ?? "/", missing)) res.writeHead(418).end();
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const r = await rawGet(url, "/");
    assert.equal(r.status, 404);
    assert.match(JSON.parse(r.body.toString()).message, /not built .*run `npm run build`/, "as JSON, as every REST error");
    assert.equal((await rawGet(url, "/v1/jobs")).status, 418, "only / is answered so");
    server.close();
  });
});
