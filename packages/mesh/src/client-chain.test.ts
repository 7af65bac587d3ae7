import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, FakeClock, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import { Echo, startEcho } from "./echo-fixture.js";
import type { EchoRequestSchema } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
import type { MeshEventMap } from "./events.js";
import { retryAfterMs } from "./status.js";
import { DR, OWN, VS, testRuntime, until, type TestRuntime } from "./test-support.js";
import { echoSuite } from "./test-suite.js";
import type { CallOptions, MeshClient } from "./types.js";

// Unary and server-streaming calls take one chain of policies (client-chain.ts): each scenario runs for both shapes.
type Shape = "unary" | "server_stream";
const SHAPES: readonly Shape[] = ["unary", "server_stream"];

/** One call of the shape: Echo, or Stream (one message unless `count` says otherwise) read to its end. */
async function call(c: MeshClient<typeof Echo>, shape: Shape, req: MessageInitShape<typeof EchoRequestSchema> = {}, o?: CallOptions): Promise<string[]> {
  if (shape === "unary") return [(await c.echo(req, o)).instance];
  const out: string[] = [];
  for await (const m of c.stream({ count: 1, ...req }, o)) out.push(m.instance);
  return out;
}

const failure = (p: Promise<unknown>) => p.then(() => assert.fail("the call succeeded"), (e: unknown) => e as SwitchyardError);

/** Events without what differs between the two shapes (destination names, durations). */
function log(t: TestRuntime): string[] {
  const out: string[] = [];
  const on = <K extends keyof MeshEventMap>(type: K, f: (e: MeshEventMap[K]) => string) => t.events.on(type, (e) => out.push(`${type} ${f(e)}`));
  on("fault", (e) => e.kind);
  on("retry", (e) => `attempt ${e.attempt} after ${e.code}`);
  on("retryDenied", (e) => e.reason);
  on("reject", (e) => `${e.side} ${e.reason}`);
  on("eject", (e) => `times ${e.times}`);
  on("breakerState", (e) => `${e.from}>${e.to}`);
  on("clientCall", (e) => `code ${e.code} attempts ${e.attempts}${e.fallback ? " fallback" : ""}`);
  return out;
}

describe("the client's call chain, unary and streaming alike", () => {
  const { registry, instances, clients } = echoSuite();
  const echo = async (host: string, runtime?: TestRuntime) => {
    const e = await startEcho({ id: host, name: host, registry, ...(runtime ? { runtime: runtime.rt } : {}) });
    instances.push(e);
    return e;
  };
  const client = (host: string, t: TestRuntime) => {
    const c = createClient(Echo, { target: `mesh:///${host}`, registry, runtime: t.rt });
    clients.push(c);
    return c;
  };

  it("takes both call shapes through the same policies: fault, retries, outlier detection, breaker, events", async () => {
    const logs: Record<string, string[]> = {};
    for (const shape of SHAPES) {
      const host = `same-${shape}`;
      const t = await testRuntime({
        yaml: [
          DR(host, "  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3, interval: 1m, baseEjectionTime: 1m, maxEjectionPercent: 100}\n"),
          VS(host, `  http:\n  - route: [{destination: {host: ${host}}}]\n    retries: {attempts: 2, retryOn: unavailable}\n    fault: {delay: {fixedDelay: 1ms, percentage: {value: 100}}}\n`),
          OWN("ResiliencePolicy", host, `  host: ${host}\n  circuitBreaker: {consecutiveFailures: 3, openTime: 1m}\n  retryBackoff: {baseInterval: 1ms, maxInterval: 1ms}\n`),
        ].join("---\n"),
      });
      const events = log(t);
      const sick = await echo(host);
      sick.behavior.failCode = Code.Unavailable;
      const c = client(host, t);
      const first = await failure(call(c, shape));
      const second = await failure(call(c, shape));
      assert.equal(first.code, Code.Unavailable, String(first));
      assert.match(second.message, /circuit breaker .* is open/);
      assert.equal(sick.counters.calls, 3);
      logs[shape] = events;
    }
    assert.deepEqual(logs.unary, [
      "fault delay", "retry attempt 2 after 14", "retry attempt 3 after 14", "breakerState closed>open", "eject times 1", "clientCall code 14 attempts 3",
      "fault delay", "reject client circuit_open", "clientCall code 14 attempts 1",
    ]);
    assert.deepEqual(logs.server_stream, logs.unary);
  });

  it("emits the fault event for a server stream, as for a unary call", async () => {
    for (const shape of SHAPES) {
      const host = `fault-${shape}`;
      const t = await testRuntime({ yaml: VS(host, `  http:\n  - route: [{destination: {host: ${host}}}]\n    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}\n`) });
      const faults = t.record("fault");
      const target = await echo(host);
      const err = await failure(call(client(host, t), shape));
      assert.equal(err.code, Code.Unavailable);
      assert.match(err.message, /fault injected/);
      assert.deepEqual(faults.map((f) => [f.destination, f.method, f.kind]), [[host, shape === "unary" ? "Echo" : "Stream", "abort"]], shape);
      assert.equal(target.counters.calls, 0, "an injected abort is not sent");
    }
  });

  it("waits the server's pushback before retrying a server stream, as a unary call", async () => {
    for (const shape of SHAPES) {
      const host = `pushback-${shape}`;
      // One call at a time on the server: the rest are refused at once, not executed, with a retry-after hint.
      const server = await testRuntime({ yaml: OWN("BulkheadPolicy", host, `  host: ${host}\n  methods: [{method: "*", maxConcurrent: 1, maxQueue: 0}]\n`) });
      const busy = await echo(host, server);
      // The client's own backoff is at most 1 ms: any longer wait is the server's.
      const t = await testRuntime({
        yaml: `${VS(host, `  http:\n  - route: [{destination: {host: ${host}}}]\n    retries: {attempts: 2, retryOn: resource-exhausted}\n`)}---\n${OWN("ResiliencePolicy", host, `  host: ${host}\n  retryBackoff: {baseInterval: 1ms, maxInterval: 1ms}\n`)}`,
      });
      const retries = t.record("retry");
      const c = client(host, t);
      const long = c.write({ delayMs: 400 });
      await until(() => busy.counters.calls === 1);
      const err = await failure(call(c, shape));
      assert.equal(err.code, Code.ResourceExhausted, String(err));
      const pushback = retryAfterMs(err);
      assert.ok(pushback !== undefined && pushback >= 5, `the server asked for ${pushback} ms`);
      assert.deepEqual(retries.map((r) => r.backoffMs), [pushback, pushback], `${shape}: retries waited the server's pushback`);
      assert.equal(busy.counters.calls, 1, "the refused attempts never reached the handler");
      await long;
    }
  });

  it("counts a server stream's retries in flight against maxRetries, as a unary call's", async () => {
    for (const shape of SHAPES) {
      const host = `inflight-${shape}`;
      const clock = new FakeClock(Date.now());
      const t = await testRuntime({
        clock,
        random: () => 0.5,
        yaml: `${DR(host, "  trafficPolicy: {connectionPool: {http: {maxRetries: 1}}}\n")}---\n${OWN("ResiliencePolicy", host, `  host: ${host}\n  retryBackoff: {baseInterval: 100ms, maxInterval: 100ms}\n`)}`,
      });
      const retries = t.record("retry");
      const denied = t.record("retryDenied");
      const flaky = await echo(host);
      const c = client(host, t);
      const inFlight = () => t.rt.destination(host, "").retriesInFlight;
      // A fails at once, and its retry (after a backoff on the fake clock) waits on the server: a retry in flight.
      flaky.behavior.failCode = Code.Unavailable;
      const stopA = new AbortController();
      const a = failure(call(c, shape, { delayMs: 10_000 }, { signal: stopA.signal }));
      await until(() => retries.length === 1);
      flaky.behavior.failCode = 0;
      clock.advance(100);
      await until(() => flaky.counters.calls === 2);
      assert.equal(inFlight(), 1, shape);
      // B fails too; with one retry already in flight, maxRetries: 1 leaves none for it.
      flaky.behavior.failCode = Code.Unavailable;
      const b = await failure(call(c, shape));
      assert.equal(b.code, Code.Unavailable);
      assert.deepEqual(denied.map((d) => d.reason), ["max_retries"], shape);
      stopA.abort();
      assert.equal((await a).code, Code.Canceled);
      assert.equal(inFlight(), 0);
    }
  });

  it("retries a server stream only before its first message", async () => {
    const host = "committed";
    const t = await testRuntime({ yaml: OWN("ResiliencePolicy", host, `  host: ${host}\n  retryBackoff: {baseInterval: 1ms, maxInterval: 1ms}\n`) });
    const retries = t.record("retry");
    const calls = t.record("clientCall");
    const target = await echo(host);
    const c = client(host, t);
    const got: string[] = [];
    const err = await failure((async () => {
      for await (const m of c.stream({ count: 2, failCode: Code.Unavailable })) got.push(m.instance);
    })());
    assert.equal(err.code, Code.Unavailable);
    assert.deepEqual(got, [host, host]);
    assert.equal(target.counters.calls, 1, "committed after the first message: not retried");
    assert.equal(retries.length, 0);
    assert.deepEqual(calls.map((e) => [e.type, e.code, e.attempts]), [["server_stream", Code.Unavailable, 1]]);
  });

  it("ends a stream its caller stops reading as a success, and gives its bulkhead slot back", async () => {
    const host = "stopped";
    const t = await testRuntime({ yaml: DR(host, "  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 1, http1MaxPendingRequests: 0}}}\n") });
    const calls = t.record("clientCall");
    await echo(host);
    const c = client(host, t);
    for (let i = 0; i < 2; i++) {
      for await (const m of c.stream({ count: 5 })) {
        assert.equal(m.instance, host);
        break;
      }
    }
    assert.deepEqual(calls.map((e) => [e.code, e.attempts]), [[0, 1], [0, 1]]);
    assert.equal(t.rt.destination(host, "").bulkhead?.active, 0);
  });
});
