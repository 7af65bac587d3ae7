import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, FakeClock, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import { Echo, registerWhileAlive, spawnEcho, startEcho, type EchoChild, type EchoInstance } from "./echo-fixture.js";
import { MemoryRegistry } from "./registry-memory.js";
import { retryAfterMs, wasNotExecuted } from "./status.js";
import { DR, OWN, VS, backgroundLoad, runConcurrent, tally, testRuntime, until } from "./test-support.js";
import type { MeshClient } from "./types.js";

// Each policy against real servers on loopback; a FakeClock wherever time is what the policy is about.
describe("mesh governance on real servers", () => {
  const registry = new MemoryRegistry({ sweepMs: 20 });
  const instances: EchoInstance[] = [];
  const clients: MeshClient<typeof Echo>[] = [];
  const children: EchoChild[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(instances.map((i) => i.stop()));
    await Promise.all(children.map((c) => c.kill()));
    await registry.close();
  });
  const echo = async (host: string, ids: string[], runtime?: Parameters<typeof startEcho>[0]["runtime"]) => {
    const started = await Promise.all(ids.map((id) => startEcho({ id, name: host, registry, ...(runtime ? { runtime } : {}) })));
    instances.push(...started);
    return started;
  };
  const client = (host: string, rt: Parameters<typeof createClient>[1]["runtime"], extra: Partial<Parameters<typeof createClient<typeof Echo>>[1]> = {}) => {
    const c = createClient(Echo, { target: `mesh:///${host}`, registry, ...(rt ? { runtime: rt } : {}), ...extra });
    clients.push(c);
    return c;
  };

  it("least-request keeps calls off a slowed endpoint that round robin keeps feeding", async () => {
    const [, , slow] = await echo("lr", ["a", "b", "slow"]);
    slow!.behavior.delayMs = 100;
    const t = await testRuntime({ yaml: DR("lr", "  trafficPolicy: {loadBalancer: {simple: LEAST_REQUEST}}\n") });
    const c = client("lr", t.rt);
    await runConcurrent(3, 30, () => c.echo({}));
    const share = async (n: number) => {
      const r = await runConcurrent(12, n, () => c.echo({}));
      const t0 = tally(r.map((x) => (x.status === "fulfilled" ? x.value.instance : "failed")));
      return (t0.slow ?? 0) / n;
    };
    const leastRequest = await share(360);
    await t.apply({ policies: DR("lr", "  trafficPolicy: {loadBalancer: {simple: ROUND_ROBIN}}\n") });
    const roundRobin = await share(120);
    assert.ok(leastRequest < 0.1, `least-request sent ${(leastRequest * 100).toFixed(1)}% to the slowed endpoint`);
    assert.ok(roundRobin > 0.25, `round robin sent ${(roundRobin * 100).toFixed(1)}%`);
  });

  it("ejects an erroring endpoint, brings it back after baseEjectionTime, and ejects it longer when it fails again", async () => {
    const [, , bad] = await echo("od", ["a", "b", "bad"]);
    bad!.behavior.failCode = Code.Internal;
    const clock = new FakeClock(Date.now());
    const t = await testRuntime({ clock, yaml: DR("od", "  trafficPolicy:\n    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 10s, maxEjectionPercent: 50}\n") });
    const ejections = t.record("eject");
    const c = client("od", t.rt);
    const run = async (n: number) => tally((await runConcurrent(1, n, () => c.echo({}))).map((r) => (r.status === "fulfilled" ? r.value.instance : "failed")));
    const first = await run(30);
    assert.equal(first.failed, 3, JSON.stringify(first));
    assert.equal(bad!.counters.calls, 3);
    assert.deepEqual(ejections.map((e) => [e.endpoint, e.ejectionMs, e.times]), [[bad!.address, 10_000, 1]]);
    const during = await run(30);
    assert.deepEqual(Object.keys(during).sort(), ["a", "b"]);
    bad!.behavior.failCode = 0;
    clock.advance(10_000);
    const back = await run(30);
    assert.ok((back.bad ?? 0) >= 5, `returned endpoint got ${back.bad ?? 0} of 30`);
    bad!.behavior.failCode = Code.DataLoss; // not retried: with a fake clock a retry's backoff would wait for advance()
    await run(30);
    assert.deepEqual(ejections.map((e) => e.ejectionMs), [10_000, 20_000], "the second ejection in a row lasts twice as long");
    clock.advance(10_000);
    assert.equal((await run(12)).bad, undefined, "still ejected after 10 s");
  });

  it("keeps retries inside the budget, retries only what is idempotent or surely did not run", async () => {
    const [down] = await echo("rb", ["down"]);
    down!.behavior.failCode = Code.Unavailable;
    const t = await testRuntime({
      yaml: `${OWN("ResiliencePolicy", "rb", "  host: rb\n  retryBudget: {percent: 20, minRetriesPerSecond: 0}\n  retryBackoff: {baseInterval: 1ms, maxInterval: 2ms}\n")}---\n${VS("rb", "  http:\n  - route: [{destination: {host: rb}}]\n    retries: {attempts: 2, retryOn: unavailable}\n")}`,
    });
    const denied = t.record("retryDenied");
    const c = client("rb", t.rt);
    const r = await runConcurrent(1, 200, () => c.echo({}));
    assert.ok(r.every((x) => x.status === "rejected" && (x.reason as SwitchyardError).code === Code.Unavailable));
    const retries = down!.counters.calls - 200;
    assert.ok(retries > 0 && retries <= 40, `${retries} retries for 200 calls (budget: 20%)`);
    assert.ok(denied.filter((d) => d.reason === "budget").length >= 100);
    down!.counters.calls = 0;
    await runConcurrent(1, 20, () => c.write({}));
    assert.equal(down!.counters.calls, 20, "Write has side effects: never sent twice");
    assert.equal(denied.filter((d) => d.reason === "not_idempotent").length, 20);

    // A server's admission control refuses before the handler runs, so even Write is retried (and refused again here).
    const server = await testRuntime({ yaml: OWN("BulkheadPolicy", "ne", "  host: ne\n  methods: [{method: Write, maxConcurrent: 1, maxQueue: 0}]\n") });
    const [busy] = await echo("ne", ["busy"], server.rt);
    const serverRejects = server.record("reject");
    const t2 = await testRuntime({ yaml: `${VS("ne", "  http:\n  - route: [{destination: {host: ne}}]\n    retries: {attempts: 2, retryOn: resource-exhausted}\n")}` });
    const retried = t2.record("retry");
    const c2 = client("ne", t2.rt);
    const long = c2.write({ delayMs: 400 });
    await until(() => busy!.counters.calls === 1);
    const err = await c2.write({}).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof SwitchyardError && err.code === Code.ResourceExhausted, String(err));
    assert.ok(wasNotExecuted(err) && (retryAfterMs(err) ?? 0) > 0);
    assert.equal(retried.length, 2);
    assert.equal(serverRejects.length, 3);
    assert.equal(busy!.counters.calls, 1, "the refused attempts never reached the handler");
    await long;
  });

  it("opens the breaker, answers from the fallback, half-opens after openTime and closes on a good trial", async () => {
    const [sick] = await echo("cb", ["sick"]);
    sick!.behavior.failCode = Code.Internal;
    const clock = new FakeClock(Date.now());
    const t = await testRuntime({ clock, yaml: `${OWN("ResiliencePolicy", "cb", "  host: cb\n  circuitBreaker: {consecutiveFailures: 3, openTime: 5s}\n")}---\n${VS("cb", "  http:\n  - route: [{destination: {host: cb}}]\n    retries: {attempts: 0}\n")}` });
    const moves = t.record("breakerState");
    const withFallback = client("cb", t.rt, { fallbacks: { echo: (_req, e) => ({ payload: new TextEncoder().encode("cached"), instance: `fallback after code ${e.code}` }) } });
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push((await withFallback.echo({})).instance);
    assert.deepEqual(tally(answers), { "fallback after code 13": 3, "fallback after code 14": 7 });
    assert.equal(sick!.counters.calls, 3, "while open, calls do not reach the destination");
    const plain = client("cb", t.rt);
    await assert.rejects(plain.echo({}), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unavailable && /circuit breaker of "cb" is open/.test(e.message));
    sick!.behavior.failCode = 0;
    clock.advance(5000);
    assert.equal((await plain.echo({})).instance, "sick");
    assert.deepEqual(moves.map((m) => `${m.from}>${m.to}`), ["closed>open", "open>half_open", "half_open>closed"]);
    assert.equal((await withFallback.echo({})).instance, "sick");
  });

  it("refuses beyond the bulkheads (server per method, client per destination) with RESOURCE_EXHAUSTED at once", async () => {
    const server = await testRuntime({ yaml: OWN("BulkheadPolicy", "bh", "  host: bh\n  methods: [{method: Echo, maxConcurrent: 2, maxQueue: 1}]\n") });
    await echo("bh", ["s"], server.rt);
    const noRetry = await testRuntime({ yaml: `${VS("bh", "  http:\n  - route: [{destination: {host: bh}}]\n    retries: {attempts: 0}\n")}---\n${VS("cbh", "  http:\n  - route: [{destination: {host: cbh}}]\n    retries: {attempts: 0}\n")}---\n${DR("cbh", "  trafficPolicy: {connectionPool: {http: {http2MaxRequests: 2, http1MaxPendingRequests: 1}}}\n")}` });
    const refusedIn = async (host: string) => {
      const c = client(host, noRetry.rt);
      await c.echo({});
      const t0 = Date.now();
      const r = await runConcurrent(8, 8, () => c.echo({ delayMs: 200 }).then(() => Date.now() - t0, (e: unknown) => Promise.reject(Object.assign(e as object, { afterMs: Date.now() - t0 }))));
      const refused = r.filter((x): x is PromiseRejectedResult => x.status === "rejected").map((x) => x.reason as SwitchyardError & { afterMs: number });
      assert.equal(refused.length, 5, `${host}: ${refused.length} refused`);
      for (const e of refused) {
        assert.equal(e.code, Code.ResourceExhausted);
        assert.ok(e.afterMs < 150, `refused after ${e.afterMs} ms`);
        assert.ok(wasNotExecuted(e));
      }
      return refused;
    };
    const serverSide = await refusedIn("bh");
    assert.ok(serverSide.every((e) => (retryAfterMs(e) ?? 0) > 0), "the server sends a retry-after hint");
    const [cbh] = await echo("cbh", ["c"]);
    await refusedIn("cbh");
    assert.equal(cbh!.counters.calls, 1 + 3, "the client bulkhead refused before sending");
  });

  it("rate-limits per caller with token buckets and answers with a retry-after hint", async () => {
    const clock = new FakeClock(Date.now());
    const server = await testRuntime({ clock, yaml: OWN("RateLimitPolicy", "rl", "  host: rl\n  limits: [{per: caller, tokenBucket: {maxTokens: 3, tokensPerFill: 3, fillInterval: 1s}}]\n") });
    await echo("rl", ["s"], server.rt);
    const caller = await testRuntime({ serviceName: "reports", yaml: VS("rl", "  http:\n  - route: [{destination: {host: rl}}]\n    retries: {attempts: 0}\n") });
    const c = client("rl", caller.rt);
    const as = async (user: string | undefined, n: number) => {
      const r = await runConcurrent(1, n, () => c.echo({}, user ? { metadata: { "x-switchyard-user": user } } : {}));
      return r.map((x) => (x.status === "fulfilled" ? "ok" : `${(x.reason as SwitchyardError).code}/${retryAfterMs(x.reason)}`));
    };
    assert.deepEqual(await as("alice", 5), ["ok", "ok", "ok", "8/1000", "8/1000"]);
    assert.deepEqual(await as("bob", 3), ["ok", "ok", "ok"]);
    assert.deepEqual(await as(undefined, 4), ["ok", "ok", "ok", "8/1000"], "no verified user: the calling service's bucket");
    clock.advance(1000);
    assert.deepEqual(await as("alice", 1), ["ok"]);
  });

  it("propagates the deadline (what remains of it) and the caller's identity to the last hop", async () => {
    await echo("hop-a", ["a"]);
    await echo("hop-b", ["b"]);
    await echo("hop-c", ["c"]);
    const c = client("hop-a", undefined);
    const r = await c.relay({ hops: ["hop-b", "hop-c"], delayMs: 100 }, { timeoutMs: 1500, metadata: { "x-switchyard-user": "carol" } });
    assert.equal(r.instance, "a>b>c");
    const remaining = Number(r.deadlineRemainingMs);
    assert.ok(remaining > 0 && remaining <= 1400, `the last hop saw ${remaining} ms left of 1500`);
    assert.equal(r.seen["x-switchyard-user"], "carol");
  });

  it("follows discovery by watch: started instances get traffic, a SIGKILLed one loses it without failed calls", async () => {
    const spawn = async (id: string) => {
      const child = await spawnEcho(["--id", id, "--name", "disc"]);
      children.push(child);
      await registerWhileAlive(registry, child, "disc", id, {}, 300);
      return child;
    };
    await spawn("k1");
    const c = client("disc", undefined);
    const seen: { at: number; who: string }[] = [];
    const load = backgroundLoad(4, async () => {
      try {
        seen.push({ at: Date.now(), who: (await c.echo({})).instance });
      } catch (e) {
        seen.push({ at: Date.now(), who: `failed: ${String(e)}` });
      }
    });
    const since = (t: number) => new Set(seen.filter((s) => s.at > t).map((s) => s.who));
    const k2 = await spawn("k2");
    await spawn("k3");
    let t = Date.now();
    await until(() => since(t).size === 3, 5000, "traffic on k1, k2, k3");
    await k2.kill("SIGKILL");
    const killedAt = Date.now();
    await new Promise((r) => setTimeout(r, 400));
    t = Date.now();
    await new Promise((r) => setTimeout(r, 300));
    await load.stop();
    assert.deepEqual([...since(t)].sort(), ["k1", "k3"]);
    const failed = seen.filter((s) => s.who.startsWith("failed"));
    assert.deepEqual(failed, [], "calls in flight on the killed instance were retried elsewhere");
    assert.ok(seen.filter((s) => s.at > killedAt).length > 50);
  });
});
