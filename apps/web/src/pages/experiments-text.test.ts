import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { ExperimentSchema, TrialSchema } from "@switchyard/api";
import { bestValue, numbered, objectiveOf, objectiveSeries, trialsText } from "./experiments-text.js";

const trial = (name: string, seconds: number, objective?: number) => create(TrialSchema, { name, createdAt: { seconds: BigInt(seconds), nanos: 0 }, ...(objective === undefined ? {} : { objective }) });

describe("experiment text", () => {
  it("reads the objective's direction, metric and strategy as the service writes them", () => {
    assert.deepEqual(objectiveOf({ objective: "minimize loss" }), { type: "minimize", metric: "loss", strategy: "min" });
    assert.deepEqual(objectiveOf({ objective: "maximize accuracy (latest, goal 0.9)" }), { type: "maximize", metric: "accuracy", strategy: "latest" });
    assert.equal(objectiveOf({ objective: "" }), undefined);
  });

  it("takes the best value from the optimal trial's observation by the strategy", () => {
    const e = create(ExperimentSchema, {
      objective: "minimize loss",
      status: { currentOptimalTrial: { bestTrialName: "t3", observation: { metrics: [{ name: "loss", min: "0.25", max: "0.9", latest: "0.3" }] } } },
    });
    assert.equal(bestValue(e), 0.25);
  });

  it("numbers trials in the order they were made and tracks the best so far in the objective's direction", () => {
    const trials = numbered([trial("c", 30, 0.5), trial("a", 10, 0.9), trial("b", 20), trial("d", 40, 0.7)]);
    assert.deepEqual(trials.map((t) => `${t.n}:${t.trial.name}`), ["1:a", "2:b", "3:c", "4:d"]);
    assert.deepEqual(objectiveSeries(trials, "minimize"), { values: [[1, 0.9], [3, 0.5], [4, 0.7]], best: [[1, 0.9], [3, 0.5], [4, 0.5]] });
    assert.deepEqual(objectiveSeries(trials, "maximize").best, [[1, 0.9], [3, 0.9], [4, 0.9]]);
  });

  it("says the trial counts that are not zero", () => {
    const e = create(ExperimentSchema, { maxTrialCount: 6, status: { trials: 4, trialsRunning: 1, trialsSucceeded: 2, trialsFailed: 1 } });
    assert.equal(trialsText(e), "4 of at most 6: 1 running, 2 succeeded, 1 failed");
  });
});
