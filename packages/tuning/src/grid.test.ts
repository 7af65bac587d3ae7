import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkAlgorithm, createSuggester } from "./registry.js";
import type { SearchSpace, TrialRecord } from "./types.js";

const space: SearchSpace = {
  direction: "minimize",
  parameters: [
    { name: "lr", type: "double", min: 0.1, max: 0.3, step: 0.1 },
    { name: "layers", type: "int", min: 1, max: 5, step: 2 },
    { name: "opt", type: "categorical", list: ["sgd", "adam"] },
  ],
};

const done = (assignments: readonly Record<string, number | string>[], state: TrialRecord["state"] = "succeeded"): TrialRecord[] => assignments.map((assignment, i) => ({ name: `t${i}`, assignment, state, objective: 1 }));

describe("grid", () => {
  it("enumerates exactly the product of the parameters' values, the last parameter fastest, then stops", () => {
    const s = createSuggester("grid", space, {}, 1);
    const all = s.suggest([], 100).map((x) => x.assignment);
    assert.equal(all.length, 3 * 3 * 2);
    assert.deepEqual(all.slice(0, 3), [
      { lr: 0.1, layers: 1, opt: "sgd" },
      { lr: 0.1, layers: 1, opt: "adam" },
      { lr: 0.1, layers: 3, opt: "sgd" },
    ]);
    assert.deepEqual(all[17], { lr: 0.3, layers: 5, opt: "adam" });
    assert.equal(new Set(all.map((a) => JSON.stringify(a))).size, 18);
    assert.deepEqual(s.suggest(done(all), 5), []);
  });

  it("returns the first points not yet in the history, whatever their state, a failed one included", () => {
    const s = createSuggester("grid", space, {}, 1);
    const first = s.suggest([], 4).map((x) => x.assignment);
    const history = [...done([first[0]!, first[2]!]), ...done([first[1]!], "failed"), ...done([first[3]!], "running")];
    assert.deepEqual(s.suggest(history, 2).map((x) => x.assignment), [
      { lr: 0.1, layers: 5, opt: "sgd" },
      { lr: 0.1, layers: 5, opt: "adam" },
    ]);
  });

  it("recognises a point in the history whose value carries binary noise", () => {
    const s = createSuggester("grid", { direction: "minimize", parameters: [{ name: "x", type: "double", min: 0, max: 0.3, step: 0.1 }] }, {}, 1);
    assert.deepEqual(s.suggest(done([{ x: 0 }, { x: 0.1 }, { x: 0.1 + 0.2 }]), 5).map((x) => x.assignment), [{ x: 0.2 }]);
  });

  it("spreads points_per_double over a double without a step, geometrically on a log scale", () => {
    const s = createSuggester("grid", { direction: "minimize", parameters: [{ name: "lr", type: "double", min: 0.001, max: 1, log: true }, { name: "m", type: "double", min: 0, max: 1 }] }, { points_per_double: "4" }, 1);
    const pts = s.suggest([], 100).map((x) => x.assignment);
    assert.equal(pts.length, 16);
    assert.deepEqual([...new Set(pts.map((p) => p["lr"]))], [0.001, 0.01, 0.1, 1]);
    assert.deepEqual([...new Set(pts.map((p) => p["m"]))], [0, 0.333333333333, 0.666666666667, 1]);
  });

  it("refuses a double without a step unless points_per_double is set, naming the setting", () => {
    const noStep: SearchSpace = { direction: "minimize", parameters: [{ name: "m", type: "double", min: 0, max: 1 }] };
    assert.deepEqual(checkAlgorithm("grid", {}, noStep), [
      { setting: "points_per_double", message: "grid needs a step for the double parameter m: give it a step, or set points_per_double (an integer ≥ 2) for every double without one" },
    ]);
    assert.deepEqual(checkAlgorithm("grid", { points_per_double: "5" }, noStep), []);
    assert.deepEqual(checkAlgorithm("grid", { points_per_double: "1" }, noStep)[0]?.setting, "points_per_double");
  });
});
