import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSuggester } from "./registry.js";
import { HARTMANN6 } from "./test-functions.js";
import type { SearchSpace, Suggester, TrialRecord } from "./types.js";

const MIXED: SearchSpace = {
  direction: "maximize",
  parameters: [
    { name: "lr", type: "double", min: 1e-4, max: 1, log: true },
    { name: "units", type: "int", min: 8, max: 256 },
    { name: "batch", type: "discrete", list: ["16", "32", "64"] },
    { name: "opt", type: "categorical", list: ["sgd", "adam", "rmsprop"] },
    { name: "epochs", type: "int", min: 1, max: 27 },
  ],
};

const CASES: readonly { algorithm: string; settings: Record<string, string> }[] = [
  { algorithm: "random", settings: {} },
  { algorithm: "tpe", settings: { n_startup_trials: "5" } },
  { algorithm: "tpe", settings: { n_startup_trials: "5", multivariate: "false" } },
  { algorithm: "bayesianoptimization", settings: { n_initial_points: "5" } },
  { algorithm: "hyperband", settings: { resource_name: "epochs", r_l: "27" } },
  { algorithm: "asha", settings: { sampler: "tpe", n_startup_trials: "5" } },
  { algorithm: "grid", settings: { points_per_double: "3" } },
];

/** A history of `n` trials driven by the suggester itself, with a made-up objective and a failure now and then. */
function drive(s: Suggester, n: number): TrialRecord[] {
  const history: TrialRecord[] = [];
  while (history.length < n) {
    const batch = s.suggest(history, 3);
    if (batch.length === 0) break;
    for (const next of batch) {
      const i = history.length;
      const lr = next.assignment["lr"] as number;
      history.push({ name: `t${i}`, assignment: next.assignment, state: i % 7 === 6 ? "failed" : "succeeded", objective: -((Math.log10(lr) + 2) ** 2) + (next.assignment["opt"] === "adam" ? 1 : 0), ...(next.budget !== undefined ? { budget: next.budget } : {}) });
    }
  }
  return history;
}

describe("determinism", () => {
  for (const { algorithm, settings } of CASES) {
    const label = `${algorithm}${settings["multivariate"] === "false" ? " (univariate)" : ""}`;

    it(`${label}: the same seed and history give the same suggestions, from a rebuilt suggester too (a restart)`, () => {
      const history = drive(createSuggester(algorithm, MIXED, settings, 42), 20);
      const before = createSuggester(algorithm, MIXED, settings, 42).suggest(history, 3);
      const afterCrash = createSuggester(algorithm, MIXED, settings, 42).suggest(JSON.parse(JSON.stringify(history)) as TrialRecord[], 3);
      assert.ok(before.length > 0 || algorithm === "hyperband");
      assert.deepEqual(afterCrash, before);
      // And the whole stream replays: driving a fresh suggester gives the same history.
      assert.deepEqual(drive(createSuggester(algorithm, MIXED, settings, 42), 20), history);
    });

    it(`${label}: a batch equals one-at-a-time with the earlier ones running, so a crash between persisting them changes nothing`, () => {
      const s = createSuggester(algorithm, MIXED, settings, 7);
      const history = drive(s, 12).filter((t) => algorithm === "hyperband" || t.state !== "running");
      const batch = s.suggest(history, 3);
      let h = history;
      const oneByOne = [];
      for (let i = 0; i < batch.length; i++) {
        const [next] = s.suggest(h, 1);
        oneByOne.push(next);
        h = [...h, { name: `pending${i}`, assignment: next!.assignment, state: "running", ...(next!.budget !== undefined ? { budget: next!.budget } : {}) }];
      }
      assert.deepEqual(oneByOne, batch);
    });
  }

  it("draws different streams for different seeds", () => {
    for (const algorithm of ["random", "tpe", "bayesianoptimization"]) {
      const a = drive(createSuggester(algorithm, HARTMANN6.space, {}, 1), 12).map((t) => t.assignment);
      const b = drive(createSuggester(algorithm, HARTMANN6.space, {}, 2), 12).map((t) => t.assignment);
      assert.notDeepEqual(a, b, algorithm);
    }
  });

  it("does not change the history it is given", () => {
    const history = Object.freeze(drive(createSuggester("tpe", MIXED, { n_startup_trials: "3" }, 3), 15).map((t) => Object.freeze({ ...t, assignment: Object.freeze({ ...t.assignment }) })));
    for (const { algorithm, settings } of CASES) createSuggester(algorithm, MIXED, settings, 3).suggest(history, 2);
  });
});
