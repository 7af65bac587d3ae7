import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import { Echo, startEcho } from "./echo-fixture.js";
import { MeshEvents } from "./events.js";
import { LocalTable } from "./local-transport.js";
import { OWN, VS, testRuntime } from "./test-support.js";
import { echoSuite } from "./test-suite.js";

// Services co-hosted in one process (`up --single-process`): calls between them stay in memory, governed as over gRPC.
describe("mesh co-hosting (in-process transport)", () => {
  const { registry, instances, clients } = echoSuite();

  it("short-circuits calls to a co-hosted service in memory, through the same policy and event chain", async () => {
    const local = new LocalTable();
    const events = new MeshEvents();
    const policy = `${OWN("RateLimitPolicy", "b", "  host: svc-b\n  limits: [{per: caller, tokenBucket: {maxTokens: 2, fillInterval: 1m}}]\n")}---\n${VS("svc-b", "  http:\n  - match: [{headers: {x-drill: {exact: abort}}}]\n    route: [{destination: {host: svc-b}}]\n    fault: {abort: {grpcStatus: UNAVAILABLE}}\n  - route: [{destination: {host: svc-b}}]\n    retries: {attempts: 0}\n")}`;
    const b = await testRuntime({ serviceName: "svc-b", local, events, yaml: policy });
    const a = await testRuntime({ serviceName: "svc-a", local, events, yaml: policy });
    const calls = b.record("serverCall");
    const clientCalls = a.record("clientCall");
    const inst = await startEcho({ id: "b1", name: "svc-b", runtime: b.rt, listen: false });
    instances.push(inst);
    assert.match(inst.address, /^inproc:svc-b\//, "no port was bound");
    const c = createClient(Echo, { target: "mesh:///svc-b", runtime: a.rt });
    clients.push(c);
    const r = await c.echo({ payload: new Uint8Array([1, 2, 3]) }, { timeoutMs: 500 });
    assert.equal(r.instance, "b1");
    assert.deepEqual([...r.payload], [1, 2, 3]);
    assert.ok(Number(r.deadlineRemainingMs) > 0 && Number(r.deadlineRemainingMs) <= 500, "the deadline crossed in memory");
    assert.equal(r.seen["caller-service"], "svc-a", "a co-hosted caller is known by its runtime (same process: nothing to prove)");
    const streamed = [];
    for await (const m of c.stream({ count: 3 })) streamed.push(m.instance);
    assert.deepEqual(streamed, ["b1", "b1", "b1"]);
    await assert.rejects(c.echo({}), (e: unknown) => e instanceof SwitchyardError && e.code === Code.ResourceExhausted, "the rate limit applies in memory too");
    await assert.rejects(c.echo({}, { metadata: { "x-drill": "abort" } }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unavailable && /fault injected/.test(e.message));
    assert.deepEqual(calls.map((e) => `${e.method}:${e.code}:${e.caller}`), ["Echo:0:service:svc-a", "Stream:0:service:svc-a", "Echo:8:service:svc-a"]);
    assert.deepEqual(clientCalls.map((e) => `${e.method}:${e.code}`), ["Echo:0", "Stream:0", "Echo:8", "Echo:14"]);
  });

  it("prefers a co-hosted instance over remote ones and falls back to them when it stops", async () => {
    const local = new LocalTable();
    const rt = await testRuntime({ serviceName: "caller", local });
    const remote = await startEcho({ id: "remote", name: "svc-c", registry });
    const here = await startEcho({ id: "here", name: "svc-c", registry, runtime: rt.rt });
    instances.push(remote);
    const c = createClient(Echo, { target: "mesh:///svc-c", registry, runtime: rt.rt });
    clients.push(c);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await c.echo({})).instance);
    assert.deepEqual([...seen], ["here"]);
    await here.stop();
    seen.clear();
    for (let i = 0; i < 20; i++) seen.add((await c.echo({})).instance);
    assert.deepEqual([...seen], ["remote"]);
  });
});
