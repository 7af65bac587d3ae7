import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConnectError } from "@connectrpc/connect";
import { FakeClock } from "@switchyard/core";
import { TestPlatform, suspendedJob } from "./test-harness.js";

// The gateway as users meet it: a real jobs process behind a gateway on a real port, reached over REST, Connect and
// gRPC. The gateway's clock is fake, so expiry is tested without waiting.

/** Server-sent events as an EventSource reads them (the HTML standard's parsing rules): event type and data. */
function sseEvents(text: string): { event: string; data: string }[] {
  const out: { event: string; data: string }[] = [];
  let event = "";
  let data: string[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === "") {
      if (data.length > 0) out.push({ event: event || "message", data: data.join("\n") });
      event = "";
      data = [];
      continue;
    }
    if (line.startsWith(":")) continue;
    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return out;
}

/** Reads a streaming response until `until` is true of what arrived, then returns the rest as it comes. */
async function readUntil(res: Response, until: (text: string) => boolean, then: () => void | Promise<void>): Promise<string> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  let fired = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    text += decoder.decode(value, { stream: true });
    if (!fired && until(text)) {
      fired = true;
      await then();
    }
  }
}

describe("gateway: REST, Connect and gRPC on one port", () => {
  const clock = new FakeClock(Date.now());
  let p: TestPlatform;
  before(async () => {
    p = await TestPlatform.start({ clock });
  });
  after(async () => {
    await p.stop();
  });

  it("runs a job through REST: submit, get, list, logs as server-sent events and raw, metrics, artifacts", async () => {
    const t = p.adminToken;
    const manifest = `apiVersion: switchyard/v1
kind: Job
metadata: {name: rest-run, team: default}
spec:
  resources: {cpu: 10m, memory: 16Mi}
  command: [/bin/sh, -c, 'echo loss=0.25; echo accuracy=0.9; printf weights > "$SWITCHYARD_OUTPUT_DIR/model.bin"']
`;
    const s = await p.rest("POST", "/v1/jobs", { token: t, body: { manifest, requestId: "r-1" } });
    assert.equal(s.status, 200, s.text);
    assert.equal((s.json as { job: { metadata: { name: string } } }).job.metadata.name, "rest-run");
    const logs = await p.rest("GET", "/v1/jobs/rest-run/logs?follow=true", { token: t });
    assert.equal(logs.status, 200);
    assert.equal(logs.headers.get("content-type"), "text/event-stream");
    const events = sseEvents(logs.text);
    assert.deepEqual(events, [{ event: "message", data: "loss=0.25" }, { event: "message", data: "accuracy=0.9" }, { event: "end", data: "{}" }]);
    const raw = await p.rest("GET", "/v1/jobs/rest-run/logs?alt=media", { token: t });
    assert.equal(raw.headers.get("content-type"), "application/octet-stream");
    assert.match(raw.text, /^loss=0\.25\naccuracy=0\.9\n/);

    let job: { status: { phase: string } };
    for (;;) {
      job = (await p.rest("GET", "/v1/jobs/rest-run", { token: t })).json as typeof job;
      if (job.status.phase === "Succeeded" || job.status.phase === "Failed") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(job.status.phase, "Succeeded");
    const list = await p.rest("GET", "/v1/jobs?state=Succeeded&limit=10", { token: t });
    assert.deepEqual((list.json as { jobs: { metadata: { name: string } }[] }).jobs.map((j) => j.metadata.name), ["rest-run"]);
    const metrics = (await p.rest("GET", "/v1/jobs/rest-run/metrics", { token: t })).json as { series: { name: string; latest: number }[] };
    assert.deepEqual(metrics.series.map((x) => [x.name, x.latest]).sort(), [["accuracy", 0.9], ["loss", 0.25]]);
    const arts = (await p.rest("GET", "/v1/jobs/rest-run/artifacts", { token: t })).json as { artifacts: { path: string; sizeBytes: string }[] };
    assert.deepEqual(arts.artifacts.map((a) => [a.path, a.sizeBytes]), [["model.bin", "7"]]);
    const file = await p.rest("GET", "/v1/jobs/rest-run/artifacts/model.bin", { token: t });
    assert.equal(file.status, 200);
    assert.equal(file.headers.get("content-type"), "application/octet-stream");
    assert.equal(file.text, "weights");
    const replay = await p.rest("POST", "/v1/jobs", { token: t, body: { manifest, requestId: "r-1" } });
    assert.equal((replay.json as { replayed: boolean }).replayed, true);
  });

  it("streams a job's log over REST as its text: an event per line, text/plain as written, JSON and bytes on request", async () => {
    const t = p.adminToken;
    // The job writes "caf" and the first byte of "é", then waits for the file `go`, which the test makes once both
    // streams below have read that far: the character is cut between two reads of the log.
    const gate = mkdtempSync(join(tmpdir(), "switchyard-gate-"));
    chmodSync(gate, 0o755);
    try {
      const manifest = `apiVersion: switchyard/v1
kind: Job
metadata: {name: text-log, team: default}
spec:
  resources: {cpu: 10m, memory: 16Mi}
  command:
    - /bin/sh
    - -c
    - |
      printf 'step=1 loss=0.5\\nstep=2 loss=0.25\\r\\nbad \\377 byte\\nprogress 10%%\\rprogress 20%%\\n\\n'
      printf 'first\\ncaf\\303'
      n=0; while [ ! -e ${gate}/go ] && [ $n -lt 600 ]; do sleep 0.1; n=\`expr $n + 1\`; done
      printf '\\251 ok\\nno newline at the end'
`;
      const s = await p.rest("POST", "/v1/jobs", { token: t, body: { manifest } });
      assert.equal(s.status, 200, s.text);
      const follow = (accept: string | undefined) => fetch(`${p.url}/v1/jobs/text-log/logs?follow=true`, { headers: { authorization: `Bearer ${t}`, ...(accept ? { accept } : {}) } });
      const [sseRes, plainRes] = await Promise.all([follow(undefined), follow("text/plain")]);
      assert.equal(sseRes.headers.get("content-type"), "text/event-stream");
      assert.equal(plainRes.headers.get("content-type"), "text/plain; charset=utf-8");
      let sawEvents!: () => void;
      let sawText!: () => void;
      const gone = Promise.all([new Promise<void>((r) => (sawEvents = r)), new Promise<void>((r) => (sawText = r))]).then(() => writeFileSync(join(gate, "go"), ""));
      const [sse, plain] = await Promise.all([readUntil(sseRes, (x) => x.includes("data: first\n"), () => sawEvents()), readUntil(plainRes, (x) => x.includes("first\ncaf"), () => sawText())]);
      await gone;
      const lines = ["step=1 loss=0.5", "step=2 loss=0.25", "bad \uFFFD byte", "progress 10%", "progress 20%", "", "first", "café ok", "no newline at the end"];
      assert.deepEqual(sseEvents(sse), [...lines.map((data) => ({ event: "message", data })), { event: "end", data: "{}" }]);
      const text = "step=1 loss=0.5\nstep=2 loss=0.25\r\nbad \uFFFD byte\nprogress 10%\rprogress 20%\n\nfirst\ncafé ok\nno newline at the end";
      assert.equal(plain, text);

      // What was written, byte for byte: raw with alt=media, base64 in JSON messages on request, and over Connect.
      const raw = Buffer.from(await (await fetch(`${p.url}/v1/jobs/text-log/logs?alt=media`, { headers: { authorization: `Bearer ${t}` } })).arrayBuffer());
      assert.equal(raw.toString("latin1"), "step=1 loss=0.5\nstep=2 loss=0.25\r\nbad \xff byte\nprogress 10%\rprogress 20%\n\nfirst\ncaf\xc3\xa9 ok\nno newline at the end");
      const json = await p.rest("GET", "/v1/jobs/text-log/logs", { token: t, headers: { accept: "application/json" } });
      assert.equal(json.headers.get("content-type"), "application/json");
      assert.deepEqual(Buffer.concat((json.json as { data: string }[]).map((c) => Buffer.from(c.data, "base64"))), raw);
      const viaConnect: Uint8Array[] = [];
      for await (const c of p.clients(t).jobs.getLogs({ name: "text-log" })) viaConnect.push(c.data);
      assert.deepEqual(Buffer.concat(viaConnect), raw);
      const notFollowed = await p.rest("GET", "/v1/jobs/text-log/logs", { token: t, headers: { accept: "text/plain" } });
      assert.equal(notFollowed.text, text);
    } finally {
      rmSync(gate, { recursive: true, force: true });
    }
  });

  it("cancels with a custom verb and answers the same job over REST, Connect and gRPC", async () => {
    const t = p.adminToken;
    await p.rest("POST", "/v1/jobs", { token: t, body: { manifest: suspendedJob("to-cancel", "default") } });
    const c = await p.rest("POST", "/v1/jobs/to-cancel:cancel", { token: t });
    assert.equal(c.status, 200, c.text);
    assert.equal((c.json as { status: { phase: string } }).status.phase, "Cancelled");
    const viaConnect = await p.clients(t, "connect").jobs.getJob({ name: "to-cancel" });
    const viaGrpc = await p.clients(t, "grpc").jobs.getJob({ name: "to-cancel" });
    const viaRest = (await p.rest("GET", "/v1/jobs/to-cancel", { token: t })).json as { metadata: { uid: string } };
    assert.equal(viaConnect.metadata!.uid, viaRest.metadata.uid);
    assert.equal(viaGrpc.metadata!.uid, viaRest.metadata.uid);
    assert.equal(viaGrpc.status!.phase, "Cancelled");
  });

  it("gives REST callers the error gRPC and Connect callers get: same code and message, HTTP status mapped", async () => {
    const t = p.adminToken;
    const bad = "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: bad}\nspec:\n  command: [x]\n  resources: {gpus: -1}\n";
    const rest = await p.rest("POST", "/v1/jobs", { token: t, body: { manifest: bad, fileName: "bad.yaml" } });
    assert.equal(rest.status, 400);
    const body = rest.json as { code: string; message: string; details: { field: string; line?: number }[] };
    assert.equal(body.code, "invalid_argument");
    assert.ok(body.details.some((d) => d.field.includes("gpus") && d.line === 6), rest.text);
    for (const protocol of ["connect", "grpc"] as const) {
      const err = await p.clients(t, protocol).jobs.submitJob({ manifest: bad, fileName: "bad.yaml" }).then(() => undefined, (e: unknown) => ConnectError.from(e));
      assert.equal(err?.code, 3, protocol);
      assert.equal(err?.rawMessage, body.message, protocol);
    }
    const missing = await p.rest("GET", "/v1/jobs/no-such-job", { token: t });
    assert.equal(missing.status, 404);
    assert.equal((missing.json as { code: string }).code, "not_found");
    const conflict = await p.rest("POST", "/v1/jobs", { token: t, body: { manifest: suspendedJob("to-cancel", "default") } });
    assert.equal(conflict.status, 409);
    assert.deepEqual(Object.keys(conflict.json as object), ["code", "message", "details"]);
  });

  it("rejects bad REST input with the field and the fix, and unknown routes with where to look", async () => {
    const t = p.adminToken;
    const unknownQuery = (await p.rest("GET", "/v1/jobs?stat=Running", { token: t })).json as { details: { field: string; hint: string }[] };
    assert.equal(unknownQuery.details[0]!.field, "stat");
    const typo = await p.rest("POST", "/v1/jobs", { token: t, body: { manifets: "x" } });
    assert.equal(typo.status, 400);
    assert.match((typo.json as { details: { hint: string }[] }).details[0]!.hint, /did you mean "manifest"/);
    const notInt = (await p.rest("GET", "/v1/jobs?limit=ten", { token: t })).json as { details: { field: string; expected: string }[] };
    assert.deepEqual([notInt.details[0]!.field, notInt.details[0]!.expected.startsWith("an integer")], ["limit", true]);
    const notJson = await p.rest("POST", "/v1/jobs", { token: t, rawBody: "{", headers: { "content-type": "application/json" } });
    assert.equal(notJson.status, 400);
    assert.match(notJson.text, /not valid JSON/);
    const wrongMethod = await p.rest("DELETE", "/v1/jobs", { token: t });
    assert.equal(wrongMethod.status, 404);
    assert.equal(wrongMethod.headers.get("allow"), "GET, POST");
    const nowhere = await p.rest("GET", "/v9/x");
    assert.equal(nowhere.status, 404);
    assert.match(nowhere.text, /openapi\.json/);
  });

  it("serves its OpenAPI document and a health check without credentials", async () => {
    const doc = await p.rest("GET", "/openapi.json");
    assert.equal(doc.status, 200);
    assert.equal((doc.json as { openapi: string }).openapi, "3.1.0");
    assert.equal((await p.rest("GET", "/healthz")).status, 200);
  });

  it("passes inward only the verified identity: identity headers a client sends are ignored", async () => {
    const viewer = await p.token("vera", ["default"], "viewer");
    const forged = { "x-switchyard-role": "admin", "x-switchyard-user": "admin", "x-switchyard-teams": "default" };
    const rest = await p.rest("POST", "/v1/jobs/to-cancel:cancel", { token: viewer, headers: forged });
    assert.equal(rest.status, 403, rest.text);
    const grpc = await p.clients(viewer, "grpc", forged).jobs.cancelJob({ name: "to-cancel" }).then(() => 0, (e: unknown) => ConnectError.from(e).code);
    assert.equal(grpc, 7);
    assert.equal((await p.clients(viewer, "connect", forged).platform.whoAmI({})).role, "viewer");
  });

  it("issues, lists and revokes tokens; refuses revoked and expired ones with 401 / UNAUTHENTICATED", async () => {
    const admin = p.clients(p.adminToken);
    const short = await admin.auth.createToken({ user: "sam", teams: ["default"], role: "member", ttlSeconds: 3600n });
    const other = await admin.auth.createToken({ user: "sam", teams: ["default"], ttlSeconds: 7200n });
    assert.equal((await p.rest("GET", "/v1/jobs", { token: short.token })).status, 200);
    const mine = (await p.rest("GET", "/v1/tokens", { token: short.token })).json as { tokens: { id: string; user: string }[] };
    assert.deepEqual(new Set(mine.tokens.map((x) => x.user)), new Set(["sam"]), "a member lists only their own tokens");
    const rv = await p.rest("POST", `/v1/tokens/${other.info!.id}:revoke`, { token: p.adminToken });
    assert.deepEqual((rv.json as { revoked: string[] }).revoked, [other.info!.id]);
    const revoked = await p.rest("GET", "/v1/jobs", { token: other.token });
    assert.equal(revoked.status, 401);
    assert.match(revoked.text, /revoked/);
    assert.equal(revoked.headers.get("www-authenticate"), 'Bearer realm="switchyard"');
    const grpcRevoked = await p.clients(other.token, "grpc").jobs.listJobs({}).then(() => 0, (e: unknown) => ConnectError.from(e).code);
    assert.equal(grpcRevoked, 16);
    clock.advance(3601_000);
    const expired = await p.rest("GET", "/v1/jobs", { token: short.token });
    assert.equal(expired.status, 401);
    assert.match(expired.text, /expired/);
    assert.equal(await p.clients(short.token, "connect").jobs.listJobs({}).then(() => 0, (e: unknown) => ConnectError.from(e).code), 16);
    const denied = await p.rest("POST", "/v1/tokens", { token: await p.token("mia", ["default"], "member"), body: { user: "eve", teams: ["default"], role: "admin" } });
    assert.equal(denied.status, 403, "only admins create tokens");
    assert.equal((await p.rest("GET", "/v1/jobs", { token: "sy_garbage" })).status, 401);
    // Tamper with a signature character well inside it (the last base64url character also holds unused padding bits).
    const i = p.adminToken.length - 10;
    const tampered = p.adminToken.slice(0, i) + (p.adminToken[i] === "A" ? "B" : "A") + p.adminToken.slice(i + 1);
    assert.equal((await p.rest("GET", "/v1/jobs", { token: tampered })).status, 401);
  });

  it("shows where the services listen to admins only", async () => {
    const admin = await p.clients(p.adminToken, "grpc").platform.getStatus({});
    assert.equal(admin.services[0]!.addresses.length, 1);
    const member = await p.clients(await p.token("max", ["default"], "member"), "grpc").platform.getStatus({});
    assert.deepEqual(member.services.map((s) => [s.service, s.addresses.length]), [["jobs", 0]]);
  });

  it("keeps the bootstrap admin's token in a private file and reuses it while valid", () => {
    const file = join(p.dir, "admin-token");
    assert.equal(readFileSync(file, "utf8").trim(), p.adminToken);
    assert.equal(statSync(file).mode & 0o777, 0o600);
  });
});
