import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, FakeClock, SwitchyardError } from "@switchyard/core";
import { LookupCache } from "./lookup-cache.js";

describe("LookupCache", () => {
  const notFound = (e: SwitchyardError) => e.code === Code.NotFound;

  it("reuses an answer for ttlMs, then looks again", async () => {
    const clock = new FakeClock(1000);
    const cache = new LookupCache<string>({ ttlMs: 1000, maxEntries: 10, clock }, notFound);
    let loads = 0;
    const load = async () => `v${++loads}`;
    assert.equal(await cache.get("k", load), "v1");
    clock.advance(999);
    assert.equal(cache.get("k", load), "v1", "a fresh hit is answered at once, without a promise");
    clock.advance(1);
    assert.equal(await cache.get("k", load), "v2");
  });

  it("shares one lookup among concurrent misses of a key", async () => {
    const clock = new FakeClock(0);
    const cache = new LookupCache<number>({ ttlMs: 1000, maxEntries: 10, clock });
    let loads = 0;
    let release!: (v: number) => void;
    const load = () => (loads++, new Promise<number>((r) => (release = r)));
    const all = Promise.all([cache.get("k", load), cache.get("k", load), cache.get("k", load)]);
    release(7);
    assert.deepEqual(await all, [7, 7, 7]);
    assert.equal(loads, 1);
  });

  it("keeps the errors it is told to (NOT_FOUND) and tries again after any other", async () => {
    const clock = new FakeClock(0);
    const cache = new LookupCache<string>({ ttlMs: 1000, maxEntries: 10, clock }, notFound);
    let loads = 0;
    const missing = async () => {
      loads++;
      throw new SwitchyardError(Code.NotFound, "no such thing");
    };
    const away = async () => {
      loads++;
      throw new SwitchyardError(Code.Unavailable, "away");
    };
    await assert.rejects(async () => cache.get("gone", missing), /no such thing/);
    assert.throws(() => cache.get("gone", missing), /no such thing/);
    assert.equal(loads, 1, "the kept NOT_FOUND answers without a lookup");
    await assert.rejects(async () => cache.get("flaky", away), /away/);
    await assert.rejects(async () => cache.get("flaky", away), /away/);
    assert.equal(loads, 3);
  });

  it("keeps at most maxEntries answers, dropping the oldest", async () => {
    const clock = new FakeClock(0);
    const cache = new LookupCache<string>({ ttlMs: 60_000, maxEntries: 2, clock });
    let loads = 0;
    const load = async () => `v${++loads}`;
    await cache.get("a", load);
    await cache.get("b", load);
    await cache.get("c", load);
    assert.equal(cache.size, 2);
    assert.equal(cache.get("c", load), "v3");
    assert.equal(await cache.get("a", load), "v4", "the oldest was dropped and is looked up again");
  });
});
