import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, FakeClock } from "@switchyard/core";
import type { Pickable } from "./balancer.js";
import { createBalancer } from "./balancer-registry.js";
import type { BreakerState } from "./events.js";
import { CircuitBreaker, compileBreakerOptions } from "./policy-breaker.js";
import { Bulkhead, compileBulkheadOptions } from "./policy-bulkhead.js";
import { decideFault } from "./policy-fault.js";
import { OutlierDetector, compileOutlierOptions, newOutlierState, type OutlierHost } from "./policy-outlier.js";
import { KeyedRateLimit, TokenBucket, admitByLimits, compileTokenBucketOptions } from "./policy-rate-limit.js";
import { AdaptiveThrottle, compileThrottleOptions } from "./policy-throttle.js";
import { DEFAULT_RETRY_POLICY, RetryBudget, backoffMs, compileRetryBudgetOptions, retryable } from "./policy-retry.js";

/** A deterministic PRNG (mulberry32) so that balancer and fault tests do not depend on luck. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("governance policies (fake clock)", () => {
  it("a circuit breaker opens after consecutive failures, half-opens after openTime, and closes on a good trial", () => {
    const clock = new FakeClock();
    const moves: string[] = [];
    const b = new CircuitBreaker(compileBreakerOptions({ consecutiveFailures: 3, openMs: 5000, halfOpenCalls: 1 }), clock, (f, t) => moves.push(`${f}>${t}`));
    for (let i = 0; i < 2; i++) (assert.ok(b.tryPass()), b.record(Code.Unavailable));
    b.record(Code.NotFound); // a request's own error counts as a success and resets the count
    for (let i = 0; i < 3; i++) (assert.ok(b.tryPass()), b.record(Code.Internal));
    assert.equal(b.state, "open");
    assert.equal(b.tryPass(), false);
    clock.advance(4999);
    assert.equal(b.state, "open");
    clock.advance(1);
    assert.equal(b.state, "half_open");
    assert.equal(b.tryPass(), true);
    assert.equal(b.tryPass(), false, "one trial at a time");
    b.record(Code.Unavailable);
    assert.equal(b.state, "open", "a failed trial opens it again");
    clock.advance(5000);
    assert.ok(b.tryPass());
    b.record(Code.OK);
    assert.equal(b.state, "closed" satisfies BreakerState);
    assert.deepEqual(moves, ["closed>open", "open>half_open", "half_open>open", "open>half_open", "half_open>closed"]);
  });

  it("a circuit breaker also opens on a failure ratio over its sliding window", () => {
    const clock = new FakeClock();
    const b = new CircuitBreaker(compileBreakerOptions({ consecutiveFailures: 0, failureRatio: 0.5, minimumCalls: 10, windowMs: 10_000 }), clock);
    for (let i = 0; i < 9; i++) b.record(i % 2 === 0 ? Code.Unavailable : Code.OK);
    assert.equal(b.state, "closed", "fewer than minimumCalls");
    clock.advance(11_000); // the window forgets them
    for (let i = 0; i < 9; i++) b.record(i % 3 === 0 ? Code.Unavailable : Code.OK);
    b.record(Code.OK);
    assert.equal(b.state, "closed", "30% < 50%");
    for (let i = 0; i < 6; i++) b.record(Code.Unavailable);
    assert.equal(b.state, "open");
  });

  it("outlier detection ejects for baseEjectionTime × times in a row, capped by maxEjectionPercent", () => {
    const clock = new FakeClock();
    const hosts: OutlierHost[] = ["a", "b", "c", "d"].map((key) => ({ key, outlier: newOutlierState() }));
    const log: string[] = [];
    const d = new OutlierDetector(compileOutlierOptions({ consecutive5xxErrors: 3, intervalMs: 1000, baseEjectionMs: 10_000, maxEjectionPercent: 25 }), clock, () => hosts, {
      onEject: (h, ms, times) => log.push(`eject ${h.key} ${ms} #${times}`),
      onReturn: (h) => log.push(`return ${h.key}`),
    });
    const [a, b] = [hosts[0]!, hosts[1]!];
    d.record(a, Code.Internal);
    d.record(a, Code.Internal);
    d.record(a, Code.OK);
    d.record(a, Code.Internal);
    assert.equal(a.outlier.ejected, false, "the streak was broken by a success");
    d.record(a, Code.Internal);
    d.record(a, Code.Unavailable);
    assert.equal(a.outlier.ejected, true);
    for (let i = 0; i < 3; i++) d.record(b, Code.Unavailable);
    assert.equal(b.outlier.ejected, false, "25% of 4 hosts: one at a time");
    clock.advance(10_000);
    assert.equal(a.outlier.ejected, false);
    for (let i = 0; i < 3; i++) d.record(a, Code.DataLoss);
    clock.advance(10_000);
    assert.equal(a.outlier.ejected, true, "second ejection in a row lasts twice as long");
    clock.advance(10_000);
    assert.equal(a.outlier.ejected, false);
    assert.deepEqual(log, ["eject a 10000 #1", "return a", "eject a 20000 #2", "return a"]);
    d.close();
  });

  it("a bulkhead admits maxConcurrent, queues maxQueue in order, refuses the rest at once, and times out waiters", async () => {
    const clock = new FakeClock();
    const b = new Bulkhead(compileBulkheadOptions({ maxConcurrent: 2, maxQueue: 2, maxQueueWaitMs: 1000 }), clock);
    assert.equal(b.enter(), true);
    assert.equal(b.enter(), true);
    const q1 = b.enter() as Promise<boolean>;
    const q2 = b.enter() as Promise<boolean>;
    assert.equal(b.enter(), false, "queue full: refused at once");
    assert.equal(b.queued, 2);
    b.leave(20);
    assert.equal(await q1, true);
    clock.advance(1000);
    assert.equal(await q2, false, "waited past maxQueueWait");
    assert.equal(b.active, 2);
    b.update(compileBulkheadOptions({ maxConcurrent: 3 }));
    assert.equal(b.enter(), true, "a larger limit applies to the calls already counted");
    assert.ok(b.retryAfterMs() >= 1);
  });

  it("token buckets refill by whole fills on the clock, per caller, and all limits must have a token", () => {
    const clock = new FakeClock(0);
    const bucket = new TokenBucket(compileTokenBucketOptions({ maxTokens: 2, tokensPerFill: 1, fillIntervalMs: 100 }), clock);
    assert.equal(bucket.waitMs(), 0);
    bucket.take();
    bucket.take();
    assert.equal(bucket.waitMs(), 100);
    clock.advance(60);
    assert.equal(bucket.waitMs(), 40);
    clock.advance(40);
    assert.equal(bucket.waitMs(), 0);
    const perCaller = new KeyedRateLimit(compileTokenBucketOptions({ maxTokens: 1, fillIntervalMs: 1000 }), "caller", clock);
    const shared = new KeyedRateLimit(compileTokenBucketOptions({ maxTokens: 3, fillIntervalMs: 1000 }), "none", clock);
    const alice = { user: "alice", team: undefined, service: "gateway" };
    const bob = { user: "bob", team: undefined, service: "gateway" };
    const jobs = { user: undefined, team: undefined, service: "jobs" };
    assert.equal(admitByLimits([perCaller, shared], alice), 0);
    assert.equal(admitByLimits([perCaller, shared], alice), 1000, "alice's own bucket is empty");
    assert.equal(admitByLimits([perCaller, shared], bob), 0);
    assert.equal(admitByLimits([perCaller, shared], jobs), 0, "no user: keyed by the calling service");
    assert.equal(admitByLimits([perCaller, shared], { ...jobs, service: "serving" }), 1000, "the shared bucket is spent");
    assert.equal(perCaller.size, 4);
  });

  it("the retry budget lets retries add at most the configured share of requests", () => {
    const clock = new FakeClock();
    const budget = new RetryBudget(compileRetryBudgetOptions({ percent: 20, minRetriesPerSecond: 0, windowMs: 10_000 }), clock);
    let granted = 0;
    for (let i = 0; i < 1000; i++) {
      budget.onRequest();
      if (budget.tryRetry()) granted++;
      clock.advance(5);
    }
    assert.ok(granted >= 195 && granted <= 200, `granted ${granted}`);
    const floor = new RetryBudget(compileRetryBudgetOptions({ percent: 0, minRetriesPerSecond: 1, windowMs: 10_000 }), clock);
    let n = 0;
    while (floor.tryRetry()) n++;
    assert.equal(n, 10, "the floor: 1 per second over 10 s");
  });

  it("retries only idempotent methods, or calls that surely did not run, on the policy's conditions", () => {
    const unavailable = { code: Code.Unavailable, notRun: false, transport: false };
    assert.equal(retryable(DEFAULT_RETRY_POLICY, unavailable, true), "yes");
    assert.equal(retryable(DEFAULT_RETRY_POLICY, unavailable, false), "not_idempotent");
    assert.equal(retryable(DEFAULT_RETRY_POLICY, { ...unavailable, notRun: true }, false), "yes");
    assert.equal(retryable(DEFAULT_RETRY_POLICY, { code: Code.Internal, notRun: false, transport: false }, true), "no");
    const rnd = seeded(1);
    for (let n = 1; n < 8; n++) {
      const ms = backoffMs(n, 25, 250, rnd);
      assert.ok(ms >= 0 && ms <= Math.min(250, 25 * 2 ** (n - 1)), `retry ${n}: ${ms}`);
    }
  });

  it("least-request (P2C) keeps calls off a busy endpoint; ring hash keeps keys in place when an endpoint leaves", () => {
    const eps: { key: string; active: number }[] = [{ key: "a", active: 0 }, { key: "b", active: 0 }, { key: "slow", active: 10 }];
    const p2c = createBalancer({ kind: "least_request" }, seeded(2));
    const counts: Record<string, number> = { a: 0, b: 0, slow: 0 };
    for (let i = 0; i < 3000; i++) counts[p2c.pick(eps, undefined, undefined)!.key]!++;
    assert.equal(counts.slow, 0);
    assert.ok(Math.abs(counts.a! - counts.b!) < 300, JSON.stringify(counts));
    const ring = createBalancer({ kind: "ring_hash", ringSize: 1024 });
    const three: Pickable[] = ["x", "y", "z"].map((key) => ({ key, active: 0 }));
    const before = new Map<string, string>();
    for (let u = 0; u < 300; u++) before.set(`user-${u}`, ring.pick(three, `user-${u}`, undefined)!.key);
    assert.equal(new Set(before.values()).size, 3);
    const two = three.filter((e) => e.key !== "z");
    for (const [k, owner] of before) if (owner !== "z") assert.equal(ring.pick(two, k, undefined)!.key, owner, `${k} moved`);
    const rr = createBalancer({ kind: "round_robin" }, seeded(3));
    const seen = [0, 1, 2, 3, 4, 5].map(() => rr.pick(three, undefined, undefined)!.key);
    assert.deepEqual(seen.slice(0, 3).sort(), ["x", "y", "z"]);
    for (let i = 0; i < 20; i++) assert.notEqual(rr.pick(three, undefined, three[0])!.key, "x", "avoids the previous host");
  });

  it("adaptive throttling refuses locally about what the destination refuses beyond K requests per accept, and stops when it accepts", () => {
    const clock = new FakeClock();
    const t = new AdaptiveThrottle(compileThrottleOptions({ requestsPerAccept: 2, windowMs: 10_000 }), clock);
    const rnd = seeded(5);
    let sent = 0;
    let localRefusals = 0;
    // One call per ms is offered; the destination can take one every 4 ms and refuses the rest for overload.
    let accepted = 0;
    let nextFreeAt = 0;
    for (let i = 0; i < 4000; i++) {
      clock.advance(1);
      if (t.reject(rnd)) {
        localRefusals++;
        continue;
      }
      sent++;
      if (clock.now() >= nextFreeAt) {
        accepted++;
        nextFreeAt = clock.now() + 4;
        t.accepted();
      } else t.refused(25);
    }
    assert.ok(sent / accepted < 2.6 && sent / accepted > 1.6, `sent ${sent} for ${accepted} accepted`);
    assert.ok(localRefusals > 1000, `${localRefusals} refused locally`);
    assert.equal(t.lastPushbackMs, 25);
    clock.advance(10_000);
    for (let i = 0; i < 100; i++) (assert.equal(t.reject(rnd), false), t.accepted());
  });

  it("faults fire at their percentage, delay and abort independently", () => {
    const rnd = seeded(4);
    const fault = { delay: { fraction: 0.5, delayMs: 7 }, abort: { fraction: 0.2, code: Code.Unavailable } };
    let delayed = 0;
    let aborted = 0;
    for (let i = 0; i < 10_000; i++) {
      const d = decideFault(fault, rnd);
      if (d.delayMs === 7) delayed++;
      if (d.abortCode === Code.Unavailable) aborted++;
    }
    assert.ok(Math.abs(delayed / 10_000 - 0.5) < 0.02, `delayed ${delayed}`);
    assert.ok(Math.abs(aborted / 10_000 - 0.2) < 0.02, `aborted ${aborted}`);
  });
});
