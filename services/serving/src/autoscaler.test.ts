import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { Autoscaler, type AutoscalerOptions } from "./autoscaler.js";

const base: AutoscalerOptions = { metric: "concurrency", target: 2, minReplicas: 1, maxReplicas: 8, stableWindowMs: 60_000, panicWindowMs: 6_000, scaleDownDelayMs: 30_000, scaleToZeroGraceMs: 30_000 };

/** Feeds `concurrency` (average in flight) for `seconds`, one sample a second; returns the time reached. */
function feed(a: Autoscaler, from: number, seconds: number, concurrency: number, counters: { busy: number; completed: number }): number {
  let t = from;
  for (let i = 0; i < seconds; i++) {
    t += 1000;
    counters.busy += concurrency * 1000;
    counters.completed += concurrency > 0 ? 10 : 0;
    a.observe(t, counters.busy, counters.completed);
  }
  return t;
}

describe("autoscaler", () => {
  it("measures average concurrency from summed busy time, and scales up at once under a burst", () => {
    const a = new Autoscaler(base);
    const c = { busy: 0, completed: 0 };
    let t = feed(a, 0, 30, 2, c);
    assert.equal(a.desired(t, 1, t), 1, "2 in flight at target 2: one replica");
    t = feed(a, t, 6, 12, c);
    // The panic window (6 s) sees 12 in flight: 6 replicas now, not after the 60 s window (which averages ~4).
    assert.equal(a.desired(t, 1, t), 6);
  });

  it("scales down only after the lower figure held for the delay, never below min", () => {
    const a = new Autoscaler(base);
    const c = { busy: 0, completed: 0 };
    let t = feed(a, 0, 10, 8, c);
    assert.equal(a.desired(t, 1, t), 4);
    t = feed(a, t, 10, 0.5, c);
    let want = a.desired(t, 4, t);
    assert.equal(want, 4, "the higher recommendation of the delay window holds");
    for (let i = 0; i < 70; i++) {
      t = feed(a, t, 1, 0.5, c);
      want = a.desired(t, want, t);
    }
    assert.equal(want, 1);
  });

  it("goes to zero with minReplicas 0 only after the grace without requests", () => {
    const a = new Autoscaler({ ...base, minReplicas: 0 });
    const c = { busy: 0, completed: 0 };
    let t = feed(a, 0, 5, 1, c);
    const lastActive = t;
    assert.equal(a.desired(t, 1, lastActive), 1);
    for (let i = 0; i < 100; i++) {
      t = feed(a, t, 1, 0, c);
      const want = a.desired(t, 1, lastActive);
      if (t - lastActive < base.scaleToZeroGraceMs) assert.equal(want, 1, `at ${t - lastActive} ms idle`);
    }
    assert.equal(a.desired(t, 1, lastActive), 0);
  });

  it("a replica leaving (counters dropping) restarts the window instead of reading negative load", () => {
    const a = new Autoscaler(base);
    a.observe(1000, 50_000, 100);
    a.observe(2000, 52_000, 110);
    a.observe(3000, 10_000, 20);
    assert.equal(a.desired(3000, 3, 3000), 3, "one sample after the drop: no decision yet");
  });

  it("rps: completed requests per second against the target", () => {
    const a = new Autoscaler({ ...base, metric: "rps", target: 5 });
    const c = { busy: 0, completed: 0 };
    const t = feed(a, 0, 10, 1, c);
    // 10 completions a second at target 5: two replicas.
    assert.equal(a.desired(t, 1, t), 2);
  });
});
