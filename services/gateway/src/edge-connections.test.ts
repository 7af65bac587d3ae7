import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { connect as h2connect, constants as h2constants } from "node:http2";
import { openConnection, startLoneGateway, type LoneGateway } from "./test-attack.js";

// Connections that hold the edge without asking for anything, from 127.0.0.2 (all of 127/8 is loopback), so that the
// per-address limits never touch the tests' own calls from 127.0.0.1. Each test waits for the server to close the
// connections, with short limits configured; none measures how long that took.

const ATTACKER = "127.0.0.2";
const PREFACE = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

describe("connections at the edge", { timeout: 60_000 }, () => {
  let p: LoneGateway;
  before(async () => {
    p = await startLoneGateway({
      limits: { firstByteTimeoutMs: 300, headersTimeoutMs: 400, requestTimeoutMs: 800, keepAliveTimeoutMs: 200, h2SettingsTimeoutMs: 300, h2IdleTimeoutMs: 400, h2MaxConcurrentStreams: 64, maxHeaderBytes: 8192 },
    });
  });
  after(async () => {
    await p.close();
  });

  it("closes connections that send nothing, and half-sent HTTP/2 prefaces, at the first-bytes timeout", async () => {
    const before = p.gateway.edgeStats().timedOut;
    const silent = Array.from({ length: 50 }, () => openConnection(p.url, ATTACKER));
    const halfPreface = Array.from({ length: 50 }, () => openConnection(p.url, ATTACKER, PREFACE.slice(0, 16)));
    const answers = await Promise.all([...silent, ...halfPreface].map((c) => c.closed));
    assert.ok(answers.every((a) => a.received === ""), "closed without an answer");
    assert.equal(p.gateway.edgeStats().timedOut - before, 100);
    assert.equal((await fetch(`${p.url}/healthz`)).status, 200);
  });

  it("closes an HTTP/2 session that sends its preface but never its SETTINGS", async () => {
    const before = p.gateway.edgeStats().timedOut;
    const sessions = Array.from({ length: 50 }, () => openConnection(p.url, ATTACKER, PREFACE));
    await Promise.all(sessions.map((c) => c.closed));
    assert.equal(p.gateway.edgeStats().timedOut - before, 50);
  });

  it("closes slowloris connections (headers a line at a time) with 408, and request bodies that never finish", async () => {
    const trickle = (first: string) => {
      const c = openConnection(p.url, ATTACKER, first);
      const t = setInterval(() => c.socket.write("x-slow: 1\r\n"), 50);
      void c.closed.then(() => clearInterval(t));
      return c;
    };
    const slowHeaders = Array.from({ length: 50 }, () => trickle("POST /v1/jobs HTTP/1.1\r\nhost: x\r\n"));
    const slowBody = (token: string) => {
      const c = openConnection(p.url, ATTACKER, `POST /v1/tokens HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100000\r\nauthorization: Bearer ${token}\r\n\r\n{`);
      const t = setInterval(() => c.socket.write(" "), 50);
      void c.closed.then(() => clearInterval(t));
      return c;
    };
    const unauthenticated = Array.from({ length: 20 }, () => slowBody("nope"));
    const authenticated = Array.from({ length: 20 }, () => slowBody(p.adminToken));
    for (const a of await Promise.all(slowHeaders.map((c) => c.closed))) assert.match(a.received, /^HTTP\/1\.1 408/);
    // Without a token the body is never read: 401, and the connection closes after the answer.
    for (const a of await Promise.all(unauthenticated.map((c) => c.closed))) assert.match(a.received, /^HTTP\/1\.1 401/);
    // With one, the body is read as it comes, until the request timeout.
    for (const a of await Promise.all(authenticated.map((c) => c.closed))) assert.match(a.received, /^HTTP\/1\.1 408/);
  });

  it("closes idle keep-alive connections, and idle HTTP/2 sessions with GOAWAY", async () => {
    const c = openConnection(p.url, ATTACKER, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    const a = await c.closed;
    assert.match(a.received, /^HTTP\/1\.1 200/);
    assert.match(a.received, /keep-alive/i, "kept alive after the answer, then closed when idle");
    const session = h2connect(p.url);
    const goaway = new Promise<number>((resolve) => session.once("goaway", (code) => resolve(code)));
    const req = session.request({ ":path": "/healthz" });
    req.resume();
    await new Promise((resolve) => req.once("close", resolve));
    assert.equal(await goaway, h2constants.NGHTTP2_NO_ERROR);
    assert.equal(session.remoteSettings.maxConcurrentStreams, 64);
    assert.equal(session.remoteSettings.maxHeaderListSize, 8192);
    session.destroy();
  });

  it("refuses a header block over the limit", async () => {
    const c = openConnection(p.url, ATTACKER, `GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(9000)}\r\n\r\n`);
    assert.match((await c.closed).received, /^HTTP\/1\.1 431/);
  });
});

describe("connections per client address", { timeout: 60_000 }, () => {
  let p: LoneGateway;
  before(async () => {
    p = await startLoneGateway({ limits: { maxConnectionsPerAddress: 20 } });
  });
  after(async () => {
    await p.close();
  });

  it("refuses an address's connection beyond its cap at once, and keeps answering other addresses", async () => {
    const held = Array.from({ length: 20 }, () => openConnection(p.url, ATTACKER, "GET /healthz HTTP/1.1\r\nhost: x\r\n"));
    await Promise.all(held.map((c) => new Promise((resolve) => c.socket.once("connect", resolve))));
    while (p.gateway.edgeStats().open < 20) await new Promise((r) => setTimeout(r, 10));
    const refused = p.gateway.edgeStats().refused;
    const extra = openConnection(p.url, ATTACKER, "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
    assert.equal((await extra.closed).received, "", "the 21st connection from 127.0.0.2 is closed unanswered");
    assert.equal(p.gateway.edgeStats().refused - refused, 1);
    // Everyone else is served meanwhile: a well-behaved client on 127.0.0.1, over both protocols.
    assert.equal((await fetch(`${p.url}/healthz`)).status, 200);
    const session = h2connect(p.url);
    const req = session.request({ ":path": "/healthz" });
    const status = await new Promise((resolve) => req.once("response", (h) => resolve(h[":status"])));
    assert.equal(status, 200);
    session.destroy();
    // When one of the address's connections closes, it may open another.
    held[0]!.socket.destroy();
    await held[0]!.closed;
    while (p.gateway.edgeStats().open >= 20) await new Promise((r) => setTimeout(r, 10));
    const next = openConnection(p.url, ATTACKER, "GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    assert.match((await next.closed).received, /^HTTP\/1\.1 200/);
    for (const c of held) c.socket.destroy();
  });

  it("refuses connections beyond the global cap, whatever their address", async () => {
    const small = await startLoneGateway({ limits: { maxConnections: 10 } });
    try {
      const held = Array.from({ length: 10 }, (_, i) => openConnection(small.url, `127.0.0.${10 + i}`, "GET /healthz HTTP/1.1\r\nhost: x\r\n"));
      while (small.gateway.edgeStats().open < 10) await new Promise((r) => setTimeout(r, 10));
      const extra = openConnection(small.url, "127.0.0.99", "GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n");
      assert.equal((await extra.closed).received, "");
      assert.equal(small.gateway.edgeStats().refused, 1);
      for (const c of held) c.socket.destroy();
    } finally {
      await small.close();
    }
  });
});

describe("failed authentications per client address", { timeout: 60_000 }, () => {
  it("closes new connections of an address that keeps failing authentication, and answers everyone else", async () => {
    const g = await startLoneGateway({ limits: { authFailuresPerSecond: 5 } });
    try {
      const attempt = (localAddress: string) =>
        new Promise<string>((resolve) => {
          const c = openConnection(g.url, localAddress, "POST /switchyard.v1.Jobs/ListJobs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nAuthorization: Bearer sy_not-a-token\r\nConnection: close\r\n\r\n{}");
          c.socket.once("data", (d: Buffer) => {
            resolve(/^HTTP\/1\.1 (\d+)/.exec(d.toString())?.[1] ?? "closed");
            c.socket.destroy();
          });
          void c.closed.then(() => resolve("closed"));
        });
      const answers: string[] = [];
      for (let i = 0; i < 30; i++) answers.push(await attempt("127.0.0.2"));
      assert.equal(answers.slice(0, 10).filter((a) => a === "401").length, 10, `the first ten (the burst) are answered 401: ${answers.join(",")}`);
      assert.ok(answers.slice(10).includes("closed"), `then its connections are closed at once: ${answers.join(",")}`);
      assert.equal(await attempt("127.0.0.1"), "401", "another address is still answered");
      const ok = await fetch(`${g.url}/switchyard.v1.Jobs/ListJobs`, { method: "POST", headers: { authorization: `Bearer ${g.adminToken}`, "content-type": "application/json" }, body: "{}" });
      assert.notEqual(ok.status, 401);
    } finally {
      await g.close();
    }
  });
});
