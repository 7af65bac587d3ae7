// `mode: istio` (policy-stand-down.ts): where a sidecar acts, the in-process layer stands down — one attempt per call
// against a failing server, no ejections, no breaker, plaintext to the sidecar, the caller from its XFCC header — and
// metrics and traces are still emitted. The same calls in `mesh` mode retry and eject, so each check can fail.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import * as grpc from "@grpc/grpc-js";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import { startEcho, type EchoInstance } from "./echo-fixture.js";
import { Echo } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
import { MemoryRegistry } from "./registry-memory.js";
import { serviceId } from "./spiffe.js";
import { dataDirIdentity } from "./platform-identity.js";
import { spiffeIdOfXfcc } from "./policy-stand-down.js";
import { DR, OWN, testRuntime, VS } from "./test-support.js";
import { createMeshTracing } from "./tracing-setup.js";
import type { MeshClient } from "./types.js";

const POLICIES = (h: string) =>
  [
    VS(h, `  http:\n  - route: [{destination: {host: ${h}}}]\n    retries: {attempts: 3, retryOn: unavailable}\n`),
    DR(h, "  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 1, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 100}\n"),
    OWN("ResiliencePolicy", h, `  host: ${h}\n  circuitBreaker: {consecutiveFailures: 2, openTime: 30s}\n`),
  ].join("---\n");

describe("mode: istio (the mesh stands down where a sidecar acts)", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-standdown-"));
  const registry = new MemoryRegistry({ sweepMs: 100 });
  const instances: EchoInstance[] = [];
  const clients: MeshClient<typeof Echo>[] = [];
  after(async () => {
    for (const c of clients) c.close();
    for (const i of instances) await i.stop();
    await registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function run(mode: "mesh" | "istio") {
    const exporter = new InMemorySpanExporter();
    const tracing = createMeshTracing({ tracerProvider: new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }) });
    const host = `flaky-${mode}`;
    const serverId = dataDirIdentity(dir, host);
    const clientId = dataDirIdentity(dir, "gateway");
    await Promise.all([serverId.ready, clientId.ready]);
    const server = await testRuntime({ serviceName: host, credentials: serverId, mode });
    const client = await testRuntime({ serviceName: "gateway", credentials: clientId, mode, yaml: POLICIES(host) });
    const echo = await startEcho({ id: `${mode}-1`, name: host, registry, runtime: server.rt });
    instances.push(echo);
    echo.behavior.failCode = Code.Unavailable;
    const events = client.record("retry", "eject", "breakerState", "clientCall");
    const served = server.record("serverCall");
    const c = createClient(Echo, { target: `mesh:///${host}`, registry, runtime: client.rt });
    clients.push(c);
    // A client of the istio-mode runtime with tracing, for the spans.
    const traced = await testRuntime({ serviceName: "gateway", credentials: clientId, mode, yaml: POLICIES(host), tracing });
    const tc = createClient(Echo, { target: `mesh:///${host}`, registry, runtime: traced.rt });
    clients.push(tc);
    const headers: Record<string, string> = mode === "istio" ? { "x-forwarded-client-cert": `By=spiffe://switchyard.local/ns/system/sa/${host};URI=${serviceId("switchyard.local", "gateway")}` } : {};
    for (let i = 0; i < 6; i++) {
      await assert.rejects(c.echo({}, { timeoutMs: 3000, metadata: headers }), (e: unknown) => e instanceof SwitchyardError && (e.code === Code.Unavailable || e.code === Code.ResourceExhausted));
    }
    await assert.rejects(tc.echo({}, { timeoutMs: 3000, metadata: headers }));
    echo.behavior.failCode = 0;
    return { echo, events, served, spans: exporter.getFinishedSpans(), calls: echo.counters.calls };
  }

  it("in mesh mode retries, ejects and opens the breaker (what istio mode must not do)", async () => {
    const r = await run("mesh");
    assert.ok(r.events.some((e) => "attempt" in e), "retried");
    assert.ok(r.events.some((e) => "to" in e || "ejectionMs" in e), "ejected the endpoint or opened the breaker");
  });

  it("in istio mode makes one attempt per call, ejects nothing, opens no breaker, and still emits metrics and traces", async () => {
    const r = await run("istio");
    assert.equal(r.calls, 7, "7 calls, 7 attempts: the sidecar retries, not us");
    const kinds = r.events.map((e) => ("attempt" in e ? "retry" : "method" in e && "code" in e ? "call" : "other"));
    assert.deepEqual(kinds, Array(6).fill("call"), "no retry, ejection or breaker event; a clientCall event per call (metrics)");
    assert.equal(r.served.filter((e) => e.method === "Echo").length, 7, `a serverCall event per call: ${JSON.stringify(r.served.map((e) => e.method))}`);
    assert.ok(r.spans.some((s) => s.name.endsWith("Echo/Echo")), "client spans are still recorded");
  });

  it("speaks plaintext to its sidecar and takes the caller from the sidecar's XFCC header, nowhere else", async () => {
    const echoId = dataDirIdentity(dir, "plain");
    await echoId.ready;
    const server = await testRuntime({ serviceName: "plain", credentials: echoId, mode: "istio" });
    const echo = await startEcho({ id: "p1", name: "plain", runtime: server.rt });
    instances.push(echo);
    const raw = new grpc.Client(echo.address, grpc.credentials.createInsecure());
    const call = (md: Record<string, string>) =>
      new Promise<{ code: number; body?: Buffer }>((resolve) => {
        const m = new grpc.Metadata();
        for (const [k, v] of Object.entries(md)) m.set(k, v);
        raw.makeUnaryRequest("/switchyard.mesh.testing.v1.Echo/Echo", (b: Buffer) => b, (b: Buffer) => b, Buffer.alloc(0), m, { deadline: Date.now() + 5000 }, (err, body) => resolve({ code: err?.code ?? 0, ...(body ? { body } : {}) }));
      });
    const ok = await call({ "x-forwarded-client-cert": `Hash=abc;URI=spiffe://switchyard.local/ns/system/sa/gateway` });
    assert.equal(ok.code, 0, "plaintext reaches the server: mTLS is the sidecar's");
    assert.ok(ok.body!.includes(Buffer.from("gateway")), "the handler saw the caller the sidecar named");
    assert.equal((await call({})).code, grpc.status.UNAUTHENTICATED, "no sidecar header: no caller");
    raw.close();
    assert.equal(spiffeIdOfXfcc('By=spiffe://a/ns/x/sa/y;URI=spiffe://a/ns/p/sa/first,By=spiffe://a/ns/x/sa/y;Hash=1;URI="spiffe://a/ns/q/sa/nearest"'), "spiffe://a/ns/q/sa/nearest");
    assert.equal(spiffeIdOfXfcc("Hash=1;URI=http://evil"), undefined);
  });
});
