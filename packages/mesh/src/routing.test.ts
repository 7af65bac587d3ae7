import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import { Echo, startEcho, type EchoInstance } from "./echo-fixture.js";
import { MemoryRegistry } from "./registry-memory.js";
import { DR, VS, backgroundLoad, runConcurrent, tally, testRuntime, type TestRuntime } from "./test-support.js";
import type { MeshClient } from "./types.js";

const SUBSETS = DR("canary", "  subsets:\n  - {name: v1, labels: {version: v1}}\n  - {name: v2, labels: {version: v2}}\n");
const split = (v1: number, v2: number) =>
  VS("canary", `  http:
  - name: header
    match: [{headers: {x-canary: {exact: "true"}}}]
    route: [{destination: {host: canary, subset: v2}}]
  - name: writes
    match: [{uri: {exact: /switchyard.mesh.testing.v1.Echo/Write}}]
    route: [{destination: {host: canary, subset: v2}}]
  - name: split
    route:
    - {destination: {host: canary, subset: v1}, weight: ${v1}}
    - {destination: {host: canary, subset: v2}, weight: ${v2}}
`);

// Routes, subsets and weights, hot-reloaded while traffic flows, against real servers on loopback.
describe("mesh routing", () => {
  const registry = new MemoryRegistry({ sweepMs: 20 });
  const instances: EchoInstance[] = [];
  let t: TestRuntime;
  let c: MeshClient<typeof Echo>;
  const version = (instance: string) => (instance.startsWith("v2") ? "v2" : instance.startsWith("v1") ? "v1" : instance);
  before(async () => {
    for (const [id, v] of [["v1a", "v1"], ["v1b", "v1"], ["v2a", "v2"]] as const) instances.push(await startEcho({ id, name: "canary", registry, labels: { version: v } }));
    t = await testRuntime({ yaml: `${SUBSETS}---\n${split(90, 10)}` });
    c = createClient(Echo, { target: "mesh:///canary", registry, runtime: t.rt });
    await runConcurrent(4, 40, () => c.echo({}));
  });
  after(async () => {
    c.close();
    await Promise.all(instances.map((i) => i.stop()));
    await registry.close();
  });

  it("splits 90/10 between subsets within ±3% over 2,000 calls", async () => {
    const r = await runConcurrent(16, 2000, () => c.echo({}));
    assert.ok(r.every((x) => x.status === "fulfilled"));
    const t0 = tally(r.map((x) => version((x as PromiseFulfilledResult<{ instance: string }>).value.instance)));
    const v2 = (t0.v2 ?? 0) / 2000;
    assert.ok(Math.abs(v2 - 0.1) <= 0.03, `v2 got ${(v2 * 100).toFixed(1)}%`);
  });

  it("sends header and method matches where their routes say", async () => {
    const canary = await runConcurrent(8, 100, () => c.echo({}, { metadata: { "x-canary": "true" } }));
    assert.deepEqual(tally(canary.map((x) => version((x as PromiseFulfilledResult<{ instance: string }>).value.instance))), { v2: 100 });
    const writes = await runConcurrent(8, 100, () => c.write({}));
    assert.deepEqual(tally(writes.map((x) => version((x as PromiseFulfilledResult<{ instance: string }>).value.instance))), { v2: 100 });
    const other = await runConcurrent(8, 100, () => c.echo({}, { metadata: { "x-canary": "false" } }));
    assert.ok(other.filter((x) => x.status === "fulfilled" && version(x.value.instance) === "v1").length >= 75);
  });

  it("shifts weights under traffic without a failed call or a restart", async () => {
    const log: string[] = [];
    const load = backgroundLoad(8, async () => {
      log.push(await c.echo({}).then((r) => version(r.instance), (e: unknown) => `failed: ${String(e)}`));
    });
    const settle = () => new Promise((r) => setTimeout(r, 150));
    await settle();
    await t.apply({ policies: `${SUBSETS}---\n${split(50, 50)}` });
    await settle();
    await t.apply({ policies: `${SUBSETS.replace("  subsets:", "  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}\n  subsets:")}---\n${split(0, 100)}` });
    const mark = log.length;
    await settle();
    await load.stop();
    assert.deepEqual(log.filter((l) => l.startsWith("failed")), []);
    assert.deepEqual(tally(log.slice(mark + 16)), { v2: log.length - mark - 16 }, "after the last shift, everything goes to v2");
    assert.ok(log.length > 200, `${log.length} calls during the shifts`);
    await t.apply({ policies: `${SUBSETS}---\n${split(90, 10)}` });
  });

  it("injects faults at their percentage (abort with a gRPC status, delay)", async () => {
    const faults = t.record("fault");
    await t.apply({
      policies: `${SUBSETS}---\n${VS("canary", `  http:
  - route: [{destination: {host: canary, subset: v1}}]
    retries: {attempts: 0}
    fault:
      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 25}}
      delay: {fixedDelay: 1ms, percentage: {value: 40}}
`)}`,
    });
    const r = await runConcurrent(16, 1000, () => c.echo({}));
    const aborted = r.filter((x) => x.status === "rejected" && (x.reason as SwitchyardError).code === Code.Unavailable && /fault injected/.test((x.reason as Error).message)).length;
    assert.equal(r.filter((x) => x.status === "rejected").length, aborted);
    assert.ok(Math.abs(aborted / 1000 - 0.25) <= 0.04, `aborted ${aborted} of 1000`);
    const delayedOrAborted = faults.length;
    // P(delay or abort) = 1 − 0.6 × 0.75 = 0.55
    assert.ok(Math.abs(delayedOrAborted / 1000 - 0.55) <= 0.05, `${delayedOrAborted} calls with a fault`);
    await t.apply({ policies: `${SUBSETS}---\n${split(90, 10)}` });
  });

  it("keeps each key on one endpoint with consistent hashing on a header", async () => {
    await t.apply({ policies: DR("canary", "  trafficPolicy: {loadBalancer: {consistentHash: {httpHeaderName: x-user}}}\n") });
    const owners = new Map<string, Set<string>>();
    await runConcurrent(8, 200, async (i) => {
      const user = `user-${i % 40}`;
      const r = await c.echo({}, { metadata: { "x-user": user } });
      if (!owners.has(user)) owners.set(user, new Set());
      owners.get(user)!.add(r.instance);
    });
    for (const [user, set] of owners) assert.equal(set.size, 1, `${user} went to ${[...set]}`);
    assert.equal(new Set([...owners.values()].map((s) => [...s][0])).size, 3, "keys spread over all endpoints");
  });
});
