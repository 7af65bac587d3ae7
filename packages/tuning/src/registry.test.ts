import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { ALGORITHMS, checkAlgorithm, createSuggester } from "./index.js";
import type { SearchSpace, TrialRecord } from "./types.js";

const space: SearchSpace = { direction: "minimize", parameters: [{ name: "x", type: "double", min: 0, max: 1, step: 0.25 }, { name: "epochs", type: "int", min: 1, max: 9 }] };

describe("algorithm registry", () => {
  it("accepts every algorithm with its defaults, and Katib's spellings and ignored settings", () => {
    for (const name of ALGORITHMS) {
      const settings: Record<string, string> = name === "hyperband" ? { resource_name: "epochs", r_l: "9" } : {};
      assert.deepEqual(checkAlgorithm(name, settings, space), [], name);
      assert.ok(createSuggester(name, space, settings, 1).suggest([], 2).length > 0, name);
    }
    assert.deepEqual(checkAlgorithm("tpe", { n_EI_candidates: "32", random_state: "10", gamma: "0.25" }, space), []);
    assert.deepEqual(checkAlgorithm("bayesianoptimization", { acq_func: "EI", base_estimator: "GP", n_initial_points: "5", acq_optimizer: "auto", random_state: "1" }, space), []);
  });

  it("names an unknown algorithm and lists the known ones", () => {
    assert.deepEqual(checkAlgorithm("cmaes", {}, space), [{ message: 'unknown algorithm "cmaes": expected one of random, grid, tpe, bayesianoptimization, hyperband, asha' }]);
  });

  it("names the setting that is wrong and says what was expected", () => {
    assert.deepEqual(checkAlgorithm("tpe", { n_startup_trials: "-1", n_ei_candidates: "many", gamma: "2", multivariate: "yes" }, space), [
      { setting: "n_startup_trials", message: 'expected an integer ≥ 0 and ≤ 100000, got "-1"' },
      { setting: "n_ei_candidates", message: 'expected an integer ≥ 1 and ≤ 10000, got "many"' },
      { setting: "gamma", message: 'expected a number > 0 and ≤ 1, got "2"' },
      { setting: "multivariate", message: 'expected "true" or "false", got "yes"' },
    ]);
    assert.deepEqual(checkAlgorithm("random", { seed: "3" }, space), [{ setting: "seed", message: 'algorithm random has no setting "seed"; it takes no settings' }]);
    assert.deepEqual(checkAlgorithm("tpe", { n_ei_candidates: "8", n_EI_candidates: "9" }, space).map((p) => p.setting), ["n_EI_candidates"]);
  });

  it("refuses acquisition functions other than expected improvement, clearly", () => {
    assert.deepEqual(checkAlgorithm("bayesianoptimization", { acq_func: "gp_hedge" }, space), [
      { setting: "acq_func", message: 'only "ei" (expected improvement) is supported, got "gp_hedge"; remove the setting or set it to "ei"' },
    ]);
    assert.deepEqual(checkAlgorithm("bayesianoptimization", { base_estimator: "RF" }, space).map((p) => p.setting), ["base_estimator"]);
  });

  it("throws INVALID_ARGUMENT with a field per problem when asked to create what it refuses", () => {
    try {
      createSuggester("tpe", space, { gamma: "0", n_startup_trials: "x" }, 1);
      assert.fail("expected a refusal");
    } catch (e) {
      assert.ok(e instanceof SwitchyardError);
      assert.equal(e.code, Code.InvalidArgument);
      assert.match(e.message, /^algorithm tpe: gamma: expected a number > 0 and ≤ 1, got "0"; n_startup_trials: expected an integer/);
      assert.deepEqual(e.details.map((d) => d.field), ["algorithmSettings.gamma", "algorithmSettings.n_startup_trials"]);
    }
    assert.throws(() => createSuggester("nope", space, {}, 1), (e: SwitchyardError) => e.code === Code.InvalidArgument && /expected one of/.test(e.message));
  });

  it("asks for nothing and suggests nothing for a count of zero", () => {
    for (const name of ["random", "tpe", "bayesianoptimization", "grid", "asha"]) assert.deepEqual(createSuggester(name, space, {}, 1).suggest([], 0), [], name);
  });

  it("ignores trials whose assignment is not in the space (a space edited between runs)", () => {
    const history: TrialRecord[] = Array.from({ length: 12 }, (_, i) => ({ name: `t${i}`, assignment: { x: 0.25 * (i % 5), epochs: 1 + (i % 9) }, state: "succeeded", objective: i }));
    const stale: TrialRecord[] = history.map((t) => ({ ...t, assignment: { x: 7, other: "a" } }));
    for (const name of ["tpe", "bayesianoptimization"]) {
      const s = createSuggester(name, space, { ...(name === "tpe" ? { n_startup_trials: "3" } : { n_initial_points: "3" }) }, 1);
      assert.ok(s.suggest([...history, ...stale], 1).length === 1, name);
    }
  });
});
