import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkAlgorithm, createSuggester, hyperbandSchedule } from "./index.js";
import type { SearchSpace, TrialRecord } from "./types.js";

const space: SearchSpace = {
  direction: "minimize",
  parameters: [
    { name: "x", type: "double", min: 0, max: 1 },
    { name: "epochs", type: "int", min: 1, max: 81 },
  ],
};
const settings = { resource_name: "epochs", r_l: "81", eta: "3" };

/** Runs every suggestion to completion with objective x/budget (smaller x is better at every budget). */
function complete(history: TrialRecord[], suggestions: readonly { assignment: Record<string, number | string>; budget?: number }[]): void {
  for (const s of suggestions) history.push({ name: `t${history.length}`, assignment: s.assignment, budget: s.budget, state: "succeeded", objective: (s.assignment["x"] as number) / s.budget! });
}

describe("hyperband", () => {
  it("lays out the brackets of Li et al.'s table for η = 3, R = 81 (n_i, r_i)", () => {
    const table = hyperbandSchedule(3, 81).map((b) => b.map((r) => [r.n, r.r]));
    assert.deepEqual(table, [
      [[81, 1], [27, 3], [9, 9], [3, 27], [1, 81]],
      [[34, 3], [11, 9], [3, 27], [1, 81]],
      [[15, 9], [5, 27], [1, 81]],
      [[8, 27], [2, 81]],
      [[5, 81]],
    ]);
  });

  it("starts the first rung with n₀ random configurations at the smallest budget, then waits for them", () => {
    const s = createSuggester("hyperband", space, settings, 1);
    const first = s.suggest([], 1000);
    assert.equal(first.length, 81);
    assert.ok(first.every((x) => x.budget === 1 && x.assignment["epochs"] === 1));
    assert.equal(new Set(first.map((x) => x.assignment["x"])).size, 81);
    const running: TrialRecord[] = first.map((x, i) => ({ name: `t${i}`, assignment: x.assignment, budget: 1, state: i === 40 ? "running" : "succeeded", objective: 0.5 }));
    assert.deepEqual(s.suggest(running, 10), [], "a rung starts only when the one before it has finished");
  });

  it("promotes the best third as new trials with the same assignment and three times the budget, in rank order across calls", () => {
    const s = createSuggester("hyperband", space, settings, 2);
    const history: TrialRecord[] = [];
    complete(history, s.suggest(history, 1000));
    const ranked = history.slice().sort((a, b) => a.objective! - b.objective!);
    const part = s.suggest(history, 5);
    assert.deepEqual(part.map((p) => p.assignment), ranked.slice(0, 5).map((t) => ({ ...t.assignment, epochs: 3 })));
    assert.ok(part.every((p) => p.budget === 3));
    // Persisted as running, then the rest of the rung: the next ranks, no repeats.
    const withRunning: TrialRecord[] = [...history, ...part.map((p, i): TrialRecord => ({ name: `r${i}`, assignment: p.assignment, budget: 3, state: "running" }))];
    const rest = s.suggest(withRunning, 1000);
    assert.deepEqual(rest.map((p) => p.assignment["x"]), ranked.slice(5, 27).map((t) => t.assignment["x"]));
  });

  it("runs every bracket to the end (206 trials for η = 3, R = 81), then is exhausted", () => {
    const s = createSuggester("hyperband", space, settings, 3);
    const history: TrialRecord[] = [];
    const budgets: number[] = [];
    for (;;) {
      const batch = s.suggest(history, 7);
      if (batch.length === 0) break;
      budgets.push(...batch.map((b) => b.budget!));
      complete(history, batch);
    }
    assert.equal(history.length, 206);
    const count = (r: number): number => budgets.filter((b) => b === r).length;
    assert.deepEqual([1, 3, 9, 27, 81].map(count), [81, 27 + 34, 9 + 11 + 15, 3 + 3 + 5 + 8, 1 + 1 + 1 + 2 + 5]);
    // The last bracket's five trials at the full budget are fresh random configurations.
    assert.deepEqual(s.suggest(history, 5), []);
  });

  it("promotes only succeeded trials: failures shrink the next rung", () => {
    const s = createSuggester("hyperband", space, settings, 4);
    const first = s.suggest([], 1000);
    const history: TrialRecord[] = first.map((x, i) => ({ name: `t${i}`, assignment: x.assignment, budget: 1, state: i < 70 ? "failed" : "succeeded", objective: i < 70 ? undefined : (x.assignment["x"] as number) }));
    const next = s.suggest(history, 1000);
    assert.equal(next.length, 11, "27 wanted, 11 succeeded");
    assert.ok(next.every((n) => history.slice(70).some((t) => t.assignment["x"] === n.assignment["x"])));
  });

  it("sets a double resource to the exact budget and names the missing or wrong settings", () => {
    const dbl: SearchSpace = { direction: "maximize", parameters: [{ name: "x", type: "double", min: 0, max: 1 }, { name: "frac", type: "double", min: 0.1, max: 0.9 }] };
    const s = createSuggester("hyperband", dbl, { resource_name: "frac", r_l: "0.9", eta: "3" }, 1);
    assert.deepEqual([...new Set(s.suggest([], 100).map((x) => x.budget))], [0.1]);
    assert.deepEqual(checkAlgorithm("hyperband", {}, space).map((p) => p.setting), ["resource_name", "r_l"]);
    assert.deepEqual(checkAlgorithm("hyperband", { resource_name: "nope", r_l: "81" }, space).map((p) => p.setting), ["resource_name"]);
    assert.deepEqual(checkAlgorithm("hyperband", { resource_name: "epochs", r_l: "100" }, space), [{ setting: "r_l", message: "expected at most the resource parameter's max 81, got 100" }]);
    assert.deepEqual(checkAlgorithm("hyperband", { resource_name: "epochs", r_l: "81", eta: "1" }, space), [{ setting: "eta", message: 'expected a number > 1 and ≤ 1000, got "1"' }]);
  });
});
