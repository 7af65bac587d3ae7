// The model-based algorithms on known functions, with fixed seeds: regret thresholds and "better than random".
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { createSuggester } from "./registry.js";
import { BRANIN, HARTMANN6, bestOf, medianOf, noisyQuadratic, quadraticLoss, runOn, type TestFunction } from "./test-functions.js";
import type { TrialRecord } from "./types.js";

const SEEDS = [1, 2, 3, 4, 5];

function regrets(algorithm: string, fn: TestFunction, trials: number, settings: Record<string, string> = {}): number[] {
  return SEEDS.map((s) => bestOf(runOn(algorithm, fn, trials, s, settings)) - fn.minimum);
}

/** The noise-free loss of the trial that looked best (the noisy quadratic is maximised). */
function chosenLoss(algorithm: string, seed: number): number {
  const fn = noisyQuadratic(seed);
  const h = runOn(algorithm, fn, 60, seed);
  return quadraticLoss(h.reduce((b, t) => (t.objective! > b.objective! ? t : b)).assignment);
}

describe("tpe", () => {
  it("gets within 0.05 of Branin's minimum (median over 5 seeds) in 100 trials and beats random search's median", () => {
    const tpe = regrets("tpe", BRANIN, 100);
    const random = regrets("random", BRANIN, 100);
    assert.ok(medianOf(tpe) < 0.05, `median regret ${medianOf(tpe)}`);
    assert.ok(medianOf(tpe) < medianOf(random), `tpe ${medianOf(tpe)} vs random ${medianOf(random)}`);
  });

  it("gets within 0.2 of Hartmann-6's minimum (median over 5 seeds) in 150 trials, where random search's median is worse than 0.5", () => {
    const tpe = regrets("tpe", HARTMANN6, 150);
    const random = regrets("random", HARTMANN6, 150);
    assert.ok(medianOf(tpe) < 0.2, `median regret ${medianOf(tpe)}`);
    assert.ok(medianOf(random) > 0.5 && medianOf(tpe) < medianOf(random), `tpe ${medianOf(tpe)} vs random ${medianOf(random)}`);
  });

  it("maximises a noisy quadratic over log, int, stepped, discrete and categorical parameters", () => {
    const tpe = [1, 2, 3].map((s) => chosenLoss("tpe", s));
    const random = [1, 2, 3].map((s) => chosenLoss("random", s));
    assert.ok(Math.max(...tpe) < 0.3, `losses ${tpe}`);
    assert.ok(medianOf(tpe) < medianOf(random), `tpe ${tpe} vs random ${random}`);
  });

  it("ranks early-stopped trials after every completed one, as Optuna treats pruned trials", () => {
    // One completed trial at x=0.9 and five early-stopped ones near x=0.1 with *better* last values: l(x) must be
    // built from the completed trial, so suggestions go near 0.9.
    const space = { direction: "minimize" as const, parameters: [{ name: "x", type: "double" as const, min: 0, max: 1 }] };
    const history: TrialRecord[] = [];
    for (let i = 0; i < 5; i++) history.push({ name: `p${i}`, assignment: { x: 0.05 + i * 0.02 }, state: "early-stopped", objective: -100, curve: [{ step: 1, value: -100 }] });
    history.push({ name: "done", assignment: { x: 0.9 }, state: "succeeded", objective: 5 });
    const xs = [1, 2, 3, 4, 5, 6].map((seed) => createSuggester("tpe", space, { n_startup_trials: "1" }, seed).suggest(history, 1)[0]!.assignment["x"] as number);
    assert.ok(medianOf(xs) > 0.5, `suggestions ${xs}`);
  });

  it("spreads a batch: the constant liar keeps parallel suggestions apart", () => {
    const history = runOn("tpe", BRANIN, 30, 3);
    const batch = createSuggester("tpe", BRANIN.space, {}, 3).suggest(history, 4);
    assert.equal(new Set(batch.map((b) => JSON.stringify(b.assignment))).size, 4);
  });
});

describe("bayesianoptimization", () => {
  it("gets within 0.01 of Branin's minimum (median over 5 seeds) in 40 trials", () => {
    const gp = regrets("bayesianoptimization", BRANIN, 40);
    assert.ok(medianOf(gp) < 0.01, `median regret ${medianOf(gp)}`);
    assert.ok(medianOf(gp) < medianOf(regrets("random", BRANIN, 40)) / 10);
  });

  it("gets within 0.1 of Hartmann-6's minimum (median over 5 seeds) in 50 trials, far ahead of random search", () => {
    const gp = regrets("bayesianoptimization", HARTMANN6, 50);
    assert.ok(medianOf(gp) < 0.1, `median regret ${medianOf(gp)}`);
    assert.ok(medianOf(gp) < medianOf(regrets("random", HARTMANN6, 50)) / 5);
  });

  it("maximises a noisy quadratic over log, int, stepped, discrete and categorical parameters (one-hot for the categorical)", () => {
    const gp = [1, 2, 3].map((s) => chosenLoss("bayesianoptimization", s));
    assert.ok(Math.max(...gp) < 0.3, `losses ${gp}`);
  });

  it("gives distinct points for a batch (kriging believer) and treats running trials as pending", () => {
    const history = runOn("bayesianoptimization", BRANIN, 15, 2);
    const s = createSuggester("bayesianoptimization", BRANIN.space, {}, 2);
    const batch = s.suggest(history, 3);
    assert.equal(new Set(batch.map((b) => JSON.stringify(b.assignment))).size, 3);
    const next = s.suggest(history, 1)[0]!;
    const withRunning = s.suggest([...history, { name: "r", assignment: next.assignment, state: "running" }], 1)[0]!;
    assert.notDeepEqual(withRunning.assignment, next.assignment);
  });

  it("ignores failed trials", () => {
    const history = runOn("bayesianoptimization", BRANIN, 15, 4);
    const failed: TrialRecord[] = history.map((_, i) => ({ name: `f${i}`, assignment: { x1: 10 - i * 0.1, x2: 15 - i * 0.1 }, state: "failed" }));
    const s = createSuggester("bayesianoptimization", BRANIN.space, {}, 4);
    // Failed trials count in the history's length (the stream's index), so compare with the same length of padding.
    const padded = [...history, ...failed];
    const paddedOther = [...history, ...failed.map((f) => ({ ...f, assignment: { x1: -5, x2: 0 } }))];
    assert.deepEqual(s.suggest(padded, 1), s.suggest(paddedOther, 1));
  });
});
