import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { describeEachStoreBackend } from "@switchyard/store/testing";
import { downsample, MetricsStore, type MetricBucket } from "./metrics-store.js";
import { migrations, type JobsDatabase } from "./schema.js";

const point = (step: number, v: number): MetricBucket => ({ step, stepTo: step, value: v, min: v, max: v, count: 1, time: step });

describe("metric series bounded by downsampling", () => {
  it("keeps the curve's envelope, its last value and its point count through any downsampling", () => {
    fc.assert(
      fc.property(fc.array(fc.double({ noNaN: true, min: -1e6, max: 1e6 }), { minLength: 1, maxLength: 500 }), fc.integer({ min: 1, max: 60 }), (values, target) => {
        const rows = values.map((v, i) => point(i, v));
        const out = downsample(rows, target);
        assert.ok(out.length <= Math.max(target, 1) * 2 && out.length <= rows.length);
        if (rows.length > target) assert.ok(out.length <= target, `${out.length} > ${target}`);
        assert.equal(out.reduce((n, b) => n + b.count, 0), rows.length);
        assert.equal(Math.min(...out.map((b) => b.min)), Math.min(...values));
        assert.equal(Math.max(...out.map((b) => b.max)), Math.max(...values));
        assert.equal(out[out.length - 1]!.value, values[values.length - 1]);
        for (let i = 1; i < out.length; i++) assert.equal(out[i]!.step, out[i - 1]!.stepTo + 1, "buckets cover every step once");
      }),
      { numRuns: 300 },
    );
  });
});

describeEachStoreBackend("stored metric series", (backend) => {
  it("stores two hundred thousand points of a flood in at most twice the budget, and reads them back bounded", async (t) => {
    const database = await backend.fresh();
    t.after(() => database.dispose());
    const { db, close } = await database.open<JobsDatabase>(migrations);
    try {
      const store = new MetricsStore(db, { maxPoints: 500, maxSeries: 3, maxNameLength: 16 });
      let refused = 0;
      for (let chunk = 0; chunk < 80; chunk++) {
        const pts = Array.from({ length: 2500 }, (_, i) => ({ name: "loss", value: Math.sin((chunk * 2500 + i) / 1000) + (chunk * 2500 + i === 123_456 ? 50 : 0) }));
        refused += await db.transaction().execute((tx) => store.append(tx, "job-1", pts, chunk));
      }
      const rows = await db.selectFrom("metrics").select((eb) => eb.fn.countAll<number>().as("n")).executeTakeFirstOrThrow();
      assert.ok(Number(rows.n) <= 1000, `${rows.n} rows kept for one series`);
      const [loss] = await store.read("job-1", { maxPoints: 200 });
      assert.equal(loss!.total, 200_000);
      assert.ok(loss!.points.length <= 200);
      assert.equal(loss!.max, Math.sin(123_456 / 1000) + 50, "a spike survives every downsampling");
      assert.equal(loss!.latest, Math.sin(199_999 / 1000));
      assert.equal(refused, 0);
      // Names beyond the job's limit, and over-long ones, are counted and not stored.
      const more = [..."abcd"].map((n) => ({ name: n, value: 1 })).concat([{ name: "x".repeat(17), value: 1 }]);
      assert.equal(await db.transaction().execute((tx) => store.append(tx, "job-1", more, 0)), 3);
      assert.deepEqual((await store.read("job-1", { maxPoints: 10 })).map((s) => s.name), ["a", "b", "loss"]);
    } finally {
      await close();
    }
  });
});
