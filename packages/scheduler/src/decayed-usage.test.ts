import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { DecayedUsage, usageKey } from "./decayed-usage.js";
import { createSwitchyardScheduler } from "./scheduler-switchyard.js";
import { makeJob, makeNodes, replica } from "./testing.js";
import type { QueuesConfig } from "./types.js";

const DAY = 24 * 3600_000;

describe("decayed usage (fair share's memory)", () => {
  it("halves what was used one half-life ago, and adds what is used since", () => {
    const u = new DecayedUsage(7 * DAY);
    u.add("a", 1000, 0);
    assert.equal(u.value("a", 0), 1000);
    assert.equal(u.value("a", 7 * DAY), 500);
    assert.equal(u.value("a", 14 * DAY), 250);
    u.add("a", 100, 7 * DAY);
    assert.equal(u.value("a", 7 * DAY), 600);
    assert.equal(u.value("nobody", 7 * DAY), 0);
    assert.deepEqual(u.snapshot(14 * DAY), { a: 300 });
    assert.throws(() => new DecayedUsage(0), /half-life must be > 0/);
  });

  it("gives the same value whatever order runs are added in (a store read is not in end-time order)", () => {
    const inOrder = new DecayedUsage(7 * DAY);
    inOrder.add("a", 1000, 0);
    inOrder.add("a", 1000, 7 * DAY);
    const reversed = new DecayedUsage(7 * DAY);
    reversed.add("a", 1000, 7 * DAY);
    reversed.add("a", 1000, 0);
    assert.equal(reversed.value("a", 14 * DAY), inOrder.value("a", 14 * DAY));
    assert.equal(reversed.value("a", 7 * DAY), 1500, "the older run counts decayed, not as if it had just ended");
  });

  it("puts the queue that used less in the past first, until its usage has decayed", () => {
    const sy = createSwitchyardScheduler();
    const queues: QueuesConfig = { queues: [{ name: "a", team: "a", resources: {} }, { name: "b", team: "b", resources: {} }] };
    const nodes = makeNodes(1, 1);
    // a arrived first; both queues use nothing now.
    const pending = [makeJob("a1", [replica(1)], { queue: "a", team: "a", submittedAtMs: 1 }), makeJob("b1", [replica(1)], { queue: "b", team: "b", submittedAtMs: 2 })];
    const now = 100 * DAY;
    assert.deepEqual(sy.schedule({ nowMs: now, nodes, pending, running: [], queues }).start.map((s) => s.uid), ["a1"], "no history: arrival decides");
    const u = new DecayedUsage(7 * DAY);
    u.add("a", 1 * 24 * 3600_000, now - DAY); // a held the GPU for a whole day, yesterday
    assert.deepEqual(sy.schedule({ nowMs: now, nodes, pending, running: [], queues, usageHistory: u.snapshot(now) }).start.map((s) => s.uid), ["b1"]);
    const later = now + 20 * 7 * DAY; // twenty half-lives on: forgotten
    assert.deepEqual(sy.schedule({ nowMs: later, nodes, pending, running: [], queues, usageHistory: u.snapshot(later) }).start.map((s) => s.uid), ["a1"]);
    assert.equal(usageKey({ queue: "nosuch", team: "b" }, queues), "b", "a job counts under its team's queue");
  });
});
