import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { SpanKind } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base";
import { Code } from "@switchyard/core";
import { createClient } from "./client.js";
import { Echo, startEcho } from "./echo-fixture.js";
import { MeshEvents } from "./events.js";
import { createMeshMetrics } from "./metrics.js";
import { DR, OWN, VS, testRuntime } from "./test-support.js";
import { echoSuite } from "./test-suite.js";
import { createMeshTracing, startTracingFromEnv } from "./tracing-setup.js";

describe("mesh observability", () => {
  const { registry, instances, clients } = echoSuite();

  it("exposes RED metrics per service, method and code on both sides, and endpoint and breaker states", async () => {
    const events = new MeshEvents();
    const metrics = createMeshMetrics({ events, processMetrics: false });
    const server = await testRuntime({ events, serviceName: "obs" });
    const [s] = await Promise.all([startEcho({ id: "o1", name: "obs", registry, runtime: server.rt })]);
    instances.push(s!);
    const client = await testRuntime({
      events,
      serviceName: "tester",
      yaml: `${VS("obs", "  http:\n  - route: [{destination: {host: obs}}]\n    retries: {attempts: 0}\n")}---\n${OWN("ResiliencePolicy", "obs", "  host: obs\n  circuitBreaker: {consecutiveFailures: 2, openTime: 1m}\n")}---\n${DR("obs", "  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n")}`,
    });
    const c = createClient(Echo, { target: "mesh:///obs", registry, runtime: client.rt });
    clients.push(c);
    for (let i = 0; i < 5; i++) await c.echo({});
    for (let i = 0; i < 2; i++) await c.echo({ failCode: Code.Internal }).catch(() => undefined);
    await c.echo({}).catch(() => undefined); // refused by the now open breaker
    const text = await metrics.text();
    const line = (name: string, labels: string) => new RegExp(`^${name}${labels ? `\\{${labels}\\}` : ""} (\\d+(?:\\.\\d+)?)$`, "m").exec(text)?.[1];
    const echo = 'grpc_type="unary",grpc_service="switchyard.mesh.testing.v1.Echo",grpc_method="Echo"';
    assert.equal(line("grpc_client_handled_total", `destination="obs",${echo},grpc_code="OK"`), "5");
    assert.equal(line("grpc_client_handled_total", `destination="obs",${echo},grpc_code="INTERNAL"`), "2");
    assert.equal(line("grpc_client_handled_total", `destination="obs",${echo},grpc_code="UNAVAILABLE"`), "1");
    assert.equal(line("grpc_server_handled_total", `server="obs",${echo},grpc_code="OK"`), "5");
    assert.equal(line("grpc_server_handled_total", `server="obs",${echo},grpc_code="INTERNAL"`), "2");
    assert.equal(line("grpc_client_handling_seconds_count", `destination="obs",${echo}`), "8");
    assert.equal(line("grpc_server_handling_seconds_count", `server="obs",${echo}`), "7");
    assert.equal(line("grpc_client_handling_seconds_bucket", `destination="obs",${echo},le="\\+Inf"`), "8");
    assert.equal(line("grpc_client_handling_seconds_bucket", `destination="obs",${echo},le="0.0005"`) !== undefined, true);
    assert.equal(line("switchyard_mesh_endpoint_state", `destination="obs",endpoint="${s!.address}",state="serving"`), "1");
    assert.equal(line("switchyard_mesh_breaker_state", 'destination="obs",subset="",state="open"'), "1");
    assert.equal(line("switchyard_mesh_breaker_state", 'destination="obs",subset="",state="closed"'), "0");
    assert.equal(line("switchyard_mesh_rejected_total", 'side="client",destination="obs",grpc_service="switchyard.mesh.testing.v1.Echo",grpc_method="Echo",reason="circuit_open"'), "1");
    assert.equal(line("switchyard_mesh_policy_revision", ""), "1");
    assert.match(metrics.contentType, /^text\/plain/);
    metrics.close();
  });

  it("carries W3C trace context across every hop and records client and server spans", async () => {
    const exporter = new InMemorySpanExporter();
    const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
    const tracing = createMeshTracing({ tracerProvider: provider });
    const t = await testRuntime({ tracing });
    instances.push(await startEcho({ id: "a", name: "tr-a", registry, runtime: t.rt }), await startEcho({ id: "b", name: "tr-b", registry, runtime: t.rt }));
    const c = createClient(Echo, { target: "mesh:///tr-a", registry, runtime: t.rt });
    clients.push(c);
    const r = await c.relay({ hops: ["tr-b"] });
    assert.equal(r.instance, "a>b");
    const spans = exporter.getFinishedSpans();
    assert.equal(spans.length, 4);
    const traceId = spans[0]!.spanContext().traceId;
    assert.ok(spans.every((s) => s.spanContext().traceId === traceId), "one trace");
    const byKind = (kind: SpanKind) => spans.filter((s) => s.kind === kind);
    assert.equal(byKind(SpanKind.CLIENT).length, 2);
    assert.equal(byKind(SpanKind.SERVER).length, 2);
    const parentOf = (s: (typeof spans)[number]) => spans.find((p) => p.spanContext().spanId === s.parentSpanContext?.spanId);
    const root = spans.find((s) => s.parentSpanContext === undefined)!;
    assert.equal(root.kind, SpanKind.CLIENT);
    const serverA = spans.find((s) => s.kind === SpanKind.SERVER && parentOf(s) === root)!;
    const clientAB = spans.find((s) => s.kind === SpanKind.CLIENT && parentOf(s) === serverA)!;
    const serverB = spans.find((s) => s.kind === SpanKind.SERVER && parentOf(s) === clientAB);
    assert.ok(serverB, "server b is a child of the a→b client span, itself a child of server a");
    assert.equal(serverB.attributes["rpc.method"], "Relay");
    assert.match(r.seen["traceparent"] ?? "", new RegExp(`^00-${traceId}-${serverB.parentSpanContext!.spanId}-01$`));

    // Without tracing, a caller's traceparent still reaches the last hop unchanged.
    const off = createClient(Echo, { target: "mesh:///tr-a", registry });
    clients.push(off);
    const tp = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    assert.equal((await off.relay({ hops: ["tr-b"] }, { metadata: { traceparent: tp } })).seen["traceparent"]?.split("-")[1], "0af7651916cd43dd8448eb211c80319c");
    await provider.shutdown();
  });

  it("turns tracing on only when the standard OpenTelemetry variables ask for it", async () => {
    assert.equal(await startTracingFromEnv({}, { serviceName: "x" }), undefined);
    assert.equal(await startTracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318", OTEL_SDK_DISABLED: "true" }, { serviceName: "x" }), undefined);
    assert.equal(await startTracingFromEnv({ OTEL_TRACES_EXPORTER: "none", OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:4318" }, { serviceName: "x" }), undefined);
    await assert.rejects(startTracingFromEnv({ OTEL_TRACES_EXPORTER: "zipkin" }, { serviceName: "x" }), /not supported/);
    const on = await startTracingFromEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" }, { serviceName: "x" });
    assert.ok(on?.tracing.tracer);
    await on.shutdown();
  });
});
