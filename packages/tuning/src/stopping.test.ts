import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { checkEarlyStopping, createStoppingRule, EARLY_STOPPING } from "./index.js";
import type { SearchSpace, TrialRecord, TrialState } from "./types.js";

const space: SearchSpace = { direction: "minimize", parameters: [{ name: "x", type: "double", min: 0, max: 1 }] };
const maxSpace: SearchSpace = { ...space, direction: "maximize" };

function trial(name: string, values: readonly number[], state: TrialState = "succeeded", firstStep = 1): TrialRecord {
  const curve = values.map((value, i) => ({ step: firstStep + i, value }));
  return { name, assignment: { x: 0.5 }, state, curve, ...(state !== "running" && values.length > 0 ? { objective: values[values.length - 1]! } : {}) };
}

// Three finished loss curves: running averages up to step 4 are 0.775, 0.575 and 0.95; their median is 0.775.
const finished = [trial("a", [1.0, 0.8, 0.7, 0.6, 0.5, 0.4]), trial("b", [0.8, 0.6, 0.5, 0.4, 0.3, 0.25]), trial("c", [1.2, 1.0, 0.85, 0.75, 0.7, 0.65])];

describe("medianstop", () => {
  const rule = createStoppingRule("medianstop", space, {});

  it("stops a clearly worse curve at start_step and says why", () => {
    const bad = trial("bad", [2.0, 1.9, 1.8, 1.7], "running");
    assert.deepEqual(rule.shouldStop(bad, [...finished, bad]), {
      stop: true,
      reason: "step 4: its best value so far, 1.7, is worse (higher) than 0.775, the median of the running averages of 3 succeeded trials up to that step",
    });
  });

  it("lets a good curve and a middling one that has been as good as the median run on", () => {
    assert.deepEqual(rule.shouldStop(trial("good", [0.9, 0.5, 0.3, 0.2], "running"), finished), { stop: false });
    assert.deepEqual(rule.shouldStop(trial("mid", [0.9, 0.77, 0.8, 0.85], "running"), finished), { stop: false });
  });

  it("waits for start_step reported values", () => {
    const early = trial("bad", [2.0, 1.9, 1.8], "running");
    assert.equal(rule.shouldStop(early, finished).stop, false);
    assert.equal(createStoppingRule("medianstop", space, { start_step: "3" }).shouldStop(early, finished).stop, true);
  });

  it("waits for min_trials_required succeeded trials, counting no running, failed or early-stopped ones", () => {
    const bad = trial("bad", [2.0, 1.9, 1.8, 1.7], "running");
    const others = [finished[0]!, finished[1]!, trial("r", [0.1, 0.1, 0.1, 0.1], "running"), trial("f", [0.1, 0.1], "failed"), trial("e", [0.1, 0.1, 0.1, 0.1], "early-stopped")];
    assert.equal(rule.shouldStop(bad, others).stop, false, "two succeeded trials, three required");
    assert.equal(createStoppingRule("medianstop", space, { min_trials_required: "2" }).shouldStop(bad, others).stop, true);
  });

  it("compares only the values reported up to the trial's step", () => {
    // The finished trials' later values (≤ 0.25 after step 4) must not make a trial at step 4 look worse.
    const late = [trial("a", [1, 1, 1, 1, 0.1, 0.1]), trial("b", [1, 1, 1, 1, 0.1, 0.1]), trial("c", [1, 1, 1, 1, 0.1, 0.1])];
    assert.equal(rule.shouldStop(trial("t", [1, 1, 1, 0.9], "running"), late).stop, false);
    assert.equal(rule.shouldStop(trial("t", [1, 1, 1, 0.9, 0.9, 0.9], "running"), late).stop, true);
  });

  it("reads lower as worse when maximising", () => {
    const acc = [trial("a", [0.5, 0.6, 0.7, 0.8]), trial("b", [0.4, 0.5, 0.6, 0.7]), trial("c", [0.6, 0.7, 0.8, 0.85])];
    const maxRule = createStoppingRule("medianstop", maxSpace, {});
    assert.deepEqual(maxRule.shouldStop(trial("low", [0.1, 0.15, 0.2, 0.2], "running"), acc), {
      stop: true,
      reason: "step 4: its best value so far, 0.2, is worse (lower) than 0.65, the median of the running averages of 3 succeeded trials up to that step",
    });
    assert.equal(maxRule.shouldStop(trial("high", [0.5, 0.7, 0.8, 0.9], "running"), acc).stop, false);
  });
});

describe("asha stopping rule", () => {
  const rule = createStoppingRule("asha", space, { min_resource: "1", reduction_factor: "3" });
  // Eight trials that reached step 1 with values 1 … 8.
  const rung0 = [1, 2, 3, 4, 5, 6, 7, 8].map((v) => trial(`r${v}`, [v], "early-stopped"));

  it("lets the first trials through a rung only if they are the best so far (fewer than η reached it)", () => {
    assert.equal(rule.shouldStop(trial("t", [5], "running"), []).stop, false);
    assert.equal(rule.shouldStop(trial("t", [5], "running"), [trial("o", [4], "running")]).stop, true);
    assert.equal(rule.shouldStop(trial("t", [3], "running"), [trial("o", [4], "running")]).stop, false);
  });

  it("keeps a trial in the top 1/η of those that reached its rung and stops one outside it", () => {
    // 9 competitors with it: the best ⌊9/3⌋ = 3 continue; the cut is the third smallest.
    assert.equal(rule.shouldStop(trial("t", [2.5], "running"), rung0).stop, false);
    assert.deepEqual(rule.shouldStop(trial("t", [3.5], "running"), rung0), {
      stop: true,
      reason: "rung 0 (step 1): its value 3.5 is higher than 3, the cut for the best 3 of the 9 trials that reached that step",
    });
  });

  it("judges a trial at the highest rung it has reached (steps 1, 3, 9, …), with the value it reported on reaching it", () => {
    // At step 4 the trial is past rung 1 (step 3); its rung-1 value is the one at step 3.
    const others = [trial("a", [9, 8, 3]), trial("b", [9, 8, 4]), trial("c", [9, 8, 7])];
    assert.equal(rule.shouldStop(trial("t", [9, 9, 1.5, 50], "running"), others).stop, false, "1.5 is the best of 4 at step 3");
    assert.equal(rule.shouldStop(trial("t", [9, 9, 6, 0.1], "running"), others).stop, true, "6 at step 3 is not; its later 0.1 is not what rung 1 compares");
    // Its rung-0 value (9, the worst) no longer matters once it is past rung 1.
  });

  it("takes the first reported value at or after a rung's step when steps are sparse", () => {
    const sparse = [trial("a", [1], "early-stopped", 2), trial("b", [2], "early-stopped", 2)];
    assert.equal(rule.shouldStop(trial("t", [3], "running", 2), sparse).stop, true);
  });

  it("starts the rungs at min_resource·η^min_early_stopping_rate and judges none at or beyond max_resource", () => {
    const late = createStoppingRule("asha", space, { min_early_stopping_rate: "1" });
    assert.equal(late.shouldStop(trial("t", [5, 5], "running"), rung0).stop, false, "no rung before step 3");
    const capped = createStoppingRule("asha", space, { max_resource: "3" });
    const others = [trial("a", [0.1, 0.1, 0.1]), trial("b", [0.2, 0.2, 0.2]), trial("c", [0.3, 0.3, 0.3])];
    assert.equal(capped.shouldStop(trial("t", [0.05, 9, 9], "running"), others).stop, false, "step 3 is the full budget: judged at rung 0 only");
  });

  it("reads higher as better when maximising", () => {
    const maxRule = createStoppingRule("asha", maxSpace, {});
    assert.equal(maxRule.shouldStop(trial("t", [7.5], "running"), rung0).stop, false);
    assert.equal(maxRule.shouldStop(trial("t", [5.5], "running"), rung0).stop, true);
  });
});

describe("early-stopping settings", () => {
  it("knows medianstop and asha, and names the setting that is wrong", () => {
    assert.deepEqual([...EARLY_STOPPING], ["medianstop", "asha"]);
    assert.deepEqual(checkEarlyStopping("medianstop", { min_trials_required: "3", start_step: "4" }), []);
    assert.deepEqual(checkEarlyStopping("medianstop", { min_trials_required: "0" }), [{ setting: "min_trials_required", message: 'expected an integer ≥ 1 and ≤ 1000000, got "0"' }]);
    assert.deepEqual(checkEarlyStopping("medianstop", { start_steps: "4" }), [{ setting: "start_steps", message: 'early stopping medianstop has no setting "start_steps"; its settings are min_trials_required, start_step' }]);
    assert.deepEqual(checkEarlyStopping("asha", { reduction_factor: "1" }), [{ setting: "reduction_factor", message: 'expected a number ≥ 2 and ≤ 1000, got "1"' }]);
    assert.deepEqual(checkEarlyStopping("patience", {}), [{ message: 'unknown early-stopping algorithm "patience": expected one of medianstop, asha' }]);
    assert.throws(() => createStoppingRule("medianstop", space, { start_step: "x" }), (e: Error & { code?: number }) => e.code === 3 && /start_step/.test(e.message));
  });
});
