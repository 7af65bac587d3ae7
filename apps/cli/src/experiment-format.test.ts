import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { CreateExperimentResponseSchema, DeleteExperimentResponseSchema, ExperimentSchema, TrialSchema, type Trial } from "@switchyard/api";
import {
  bestObjective, cancelledText, createdText, deletedText, describeExperiment, experimentSummary, experimentsTable, numberText, objectiveOf, sortTrials, trialCountsText, trialsTable,
} from "./experiment-format.js";

const NOW = Date.parse("2025-06-01T12:00:00Z");
const ago = (s: number) => timestampFromMs(NOW - s * 1000);

const trial = (init: MessageInitShape<typeof TrialSchema>): Trial => create(TrialSchema, init);

/** A finished random search over the demo trainer's --lr and --hidden: the goal was reached at the fourth trial. */
const tuned = create(ExperimentSchema, {
  name: "demo-tune",
  team: "default",
  owner: "alice",
  uid: "e-1",
  createdAt: ago(2 * 3600),
  source: "switchyard/v1/Experiment",
  objective: "minimize loss (goal 0.1)",
  algorithm: "random",
  parallelTrialCount: 2,
  maxTrialCount: 6,
  status: {
    condition: "Succeeded",
    reason: "GoalReached",
    message: "trial demo-tune-7c2f9d1a reached loss=0.0812 (goal 0.1)",
    startTime: ago(2 * 3600),
    completionTime: ago(3600 + 50 * 60),
    trials: 5,
    trialsSucceeded: 3,
    trialsFailed: 1,
    trialsKilled: 1,
    currentOptimalTrial: {
      bestTrialName: "demo-tune-7c2f9d1a",
      parameterAssignments: [{ name: "lr", value: "0.0512" }, { name: "hidden", value: "64" }],
      observation: { metrics: [{ name: "loss", min: "0.0812", max: "1.0986", latest: "0.0815" }, { name: "accuracy", min: "0.3333", max: "0.9840", latest: "0.9833" }] },
    },
  },
});

/** The trials as the service might send them; the table orders them itself. */
const trials = [
  trial({ name: "demo-tune-b81e04c2", job: "demo-tune-b81e04c2", state: "Succeeded", parameterAssignments: [{ name: "lr", value: "0.0031" }, { name: "hidden", value: "16" }], objective: 0.41231, message: "completed: 30 epochs" }),
  trial({ name: "demo-tune-7c2f9d1a", job: "demo-tune-7c2f9d1a", state: "Succeeded", parameterAssignments: [{ name: "lr", value: "0.0512" }, { name: "hidden", value: "64" }], objective: 0.0812, message: "completed: reached the goal" }),
  trial({ name: "demo-tune-0d9a55e1", job: "demo-tune-0d9a55e1", state: "Failed", parameterAssignments: [{ name: "lr", value: "0.9" }, { name: "hidden", value: "8" }], message: "exit code 1: training diverged at epoch 3 (loss is NaN)" }),
  trial({ name: "demo-tune-3f6b2c70", job: "demo-tune-3f6b2c70", state: "Succeeded", parameterAssignments: [{ name: "lr", value: "0.0104" }, { name: "hidden", value: "32" }], objective: 0.1517, message: "completed: 30 epochs" }),
  trial({ name: "demo-tune-e25c9a13", job: "demo-tune-e25c9a13", state: "Killed", parameterAssignments: [{ name: "lr", value: "0.0233" }, { name: "hidden", value: "48" }], objective: 0.2954, message: "the experiment succeeded: no longer needed" }),
];

describe("experiments as they print", () => {
  it("reads the objective's direction, metric and strategy from its text", () => {
    assert.deepEqual(objectiveOf({ objective: "minimize loss" }), { type: "minimize", metric: "loss", strategy: "min" });
    assert.deepEqual(objectiveOf({ objective: "maximize Validation-accuracy" }), { type: "maximize", metric: "Validation-accuracy", strategy: "max" });
    assert.deepEqual(objectiveOf({ objective: "minimize loss (latest)" }), { type: "minimize", metric: "loss", strategy: "latest" });
    assert.deepEqual(objectiveOf({ objective: "maximize accuracy (goal 0.99)" }), { type: "maximize", metric: "accuracy", strategy: "max" });
    assert.deepEqual(objectiveOf({ objective: "maximize accuracy (latest, goal 0.99)" }), { type: "maximize", metric: "accuracy", strategy: "latest" });
    assert.deepEqual(objectiveOf({ objective: "minimize loss(strategy: max)" }), { type: "minimize", metric: "loss", strategy: "max" });
    assert.equal(objectiveOf({ objective: "" }), undefined);
  });

  it("lists name, team, status, succeeded/made of the most trials, the best objective value and age", () => {
    const running = create(ExperimentSchema, {
      name: "katib-random", team: "vision", objective: "maximize accuracy (latest)", maxTrialCount: 0, createdAt: ago(300),
      status: { condition: "Running", trials: 3, trialsSucceeded: 1, trialsRunning: 2, currentOptimalTrial: { bestTrialName: "katib-random-aa", observation: { metrics: [{ name: "accuracy", min: "0.5", max: "0.97", latest: "0.91" }] } } },
    });
    const fresh = create(ExperimentSchema, { name: "new", team: "default", objective: "minimize loss", maxTrialCount: 4, status: { condition: "Created" } });
    assert.equal(
      experimentsTable([tuned, running, fresh], NOW),
      [
        "NAME           TEAM      STATUS      TRIALS     BEST     AGE",
        "demo-tune      default   Succeeded   3/5 of 6   0.0812   2h",
        "katib-random   vision    Running     1/3        0.91     5m",
        "new            default   Created     0/0 of 4   -        -",
      ].join("\n"),
    );
    assert.equal(bestObjective(running), 0.91, "the latest value, as the objective's strategy says");
    assert.equal(bestObjective(fresh), undefined);
  });

  it("prints a short summary for get: the row and the best trial's objective and parameters", () => {
    assert.equal(
      experimentSummary(tuned, NOW),
      ["NAME        TEAM      STATUS      TRIALS     BEST     AGE", "demo-tune   default   Succeeded   3/5 of 6   0.0812   2h", "  best: demo-tune-7c2f9d1a (loss=0.0812)  lr=0.0512 hidden=64"].join("\n"),
    );
    assert.match(experimentSummary(create(ExperimentSchema, { name: "x", team: "default" }), NOW), /\n {2}best: none yet \(no trial has reported the objective\)$/);
  });

  it("orders trials by objective for its direction, those without one after in the service's order", () => {
    assert.deepEqual(sortTrials(trials, "minimize").map((t) => t.name), ["demo-tune-7c2f9d1a", "demo-tune-3f6b2c70", "demo-tune-e25c9a13", "demo-tune-b81e04c2", "demo-tune-0d9a55e1"]);
    assert.deepEqual(sortTrials(trials, "maximize").map((t) => t.name), ["demo-tune-b81e04c2", "demo-tune-e25c9a13", "demo-tune-3f6b2c70", "demo-tune-7c2f9d1a", "demo-tune-0d9a55e1"]);
    assert.deepEqual(sortTrials(trials, undefined).map((t) => t.name), ["demo-tune-b81e04c2", "demo-tune-7c2f9d1a", "demo-tune-3f6b2c70", "demo-tune-e25c9a13", "demo-tune-0d9a55e1"]);
  });

  it("describes the status in Katib's words, the current optimal trial with its parameters and metrics, and the trials by objective", () => {
    assert.equal(
      describeExperiment(tuned, trials, NOW),
      [
        "Name:        demo-tune",
        "Team:        default    Owner: alice    UID: e-1",
        "Source:      switchyard/v1/Experiment",
        "Objective:   minimize loss (goal 0.1)",
        "Algorithm:   random    Parallel trials: 2    Max trials: 6",
        "Condition:   Succeeded (GoalReached)",
        "Message:     trial demo-tune-7c2f9d1a reached loss=0.0812 (goal 0.1)",
        "Trials:      5 in all: 3 succeeded, 1 failed, 1 killed",
        "Started:     2025-06-01T10:00:00.000Z    Completed: 2025-06-01T10:10:00.000Z (took 10m)",
        "Created:     2025-06-01T10:00:00.000Z (2h ago)",
        "",
        "Current optimal trial: demo-tune-7c2f9d1a (loss=0.0812)",
        "  Parameter assignments: lr=0.0512 hidden=64",
        "  Observation:",
        "    METRIC             MIN      MAX      LATEST",
        "    loss (objective)   0.0812   1.0986   0.0815",
        "    accuracy           0.3333   0.984    0.9833",
        "",
        "Trials (best loss first):",
        "NAME                 STATE       lr       hidden   OBJECTIVE   WHY-ENDED",
        "demo-tune-7c2f9d1a   Succeeded   0.0512   64       0.0812      completed: reached the goal",
        "demo-tune-3f6b2c70   Succeeded   0.0104   32       0.1517      completed: 30 epochs",
        "demo-tune-e25c9a13   Killed      0.0233   48       0.2954      the experiment succeeded: no longer needed",
        "demo-tune-b81e04c2   Succeeded   0.0031   16       0.41231     completed: 30 epochs",
        "demo-tune-0d9a55e1   Failed      0.9      8        -           exit code 1: training diverged at epoch 3 (loss is NaN)",
        "  a trial is a job: `switchyard logs JOB` shows its output, `switchyard metrics JOB` every value it reported",
      ].join("\n"),
    );
  });

  it("describes an experiment that has no trial yet, and one still running", () => {
    const created = create(ExperimentSchema, { name: "new", team: "default", objective: "maximize accuracy", algorithm: "tpe", parallelTrialCount: 1, status: { condition: "Created" } });
    const text = describeExperiment(created, [], NOW);
    assert.match(text, /^Algorithm: {3}tpe {4}Parallel trials: 1 {4}Max trials: none$/m);
    assert.match(text, /^Trials: {6}none yet$/m);
    assert.match(text, /^Started: {5}-$/m);
    assert.match(text, /^Current optimal trial: none yet \(no trial has reported the objective\)$/m);
    assert.match(text, /Trials \(best accuracy first\):\n {2}none yet$/);
    const running = create(ExperimentSchema, { ...tuned, status: { ...tuned.status!, condition: "Running", reason: "", message: "", completionTime: undefined, trialsRunning: 2 } });
    assert.match(describeExperiment(running, trials, NOW), /^Condition: {3}Running\n/m);
    assert.match(describeExperiment(running, trials, NOW), /^Started: {5}2025-06-01T10:00:00\.000Z \(running for 2h\)$/m);
    assert.match(trialCountsText(running), /^5 in all: 3 succeeded, 2 running, 1 failed, 1 killed$/);
  });

  it("shows a trial's job where it is named otherwise, and Hyperband's budget where there is one", () => {
    const hb = [
      trial({ name: "hb-1", job: "hb-1-job", state: "EarlyStopped", parameterAssignments: [{ name: "lr", value: "0.1" }], objective: 0.5, budget: 3, message: "stopped early: worse than the median at epoch 3" }),
      trial({ name: "hb-2", job: "hb-2", state: "Running", parameterAssignments: [{ name: "lr", value: "0.01" }, { name: "optimizer", value: "sgd" }], budget: 9, message: "" }),
    ];
    assert.equal(
      trialsTable(hb, "minimize"),
      [
        "NAME   JOB        STATE          lr     optimizer   BUDGET   OBJECTIVE   WHY-ENDED",
        "hb-1   hb-1-job   EarlyStopped   0.1    -           3        0.5         stopped early: worse than the median at epoch 3",
        "hb-2   hb-2       Running        0.01   sgd         9        -           -",
      ].join("\n"),
    );
  });

  it("says what create, cancel and delete did", () => {
    const res = create(CreateExperimentResponseSchema, { experiment: tuned, warnings: [] });
    assert.equal(createdText(res, false), "experiment/demo-tune created (team default): minimize loss (goal 0.1), algorithm random, 2 trials at a time, at most 6\n  follow it: switchyard experiments describe demo-tune");
    const open = create(CreateExperimentResponseSchema, { experiment: { name: "katib", team: "vision", objective: "maximize accuracy", algorithm: "tpe", parallelTrialCount: 1 } });
    assert.equal(createdText(open, true), "experiment/katib is valid (dry run, nothing stored): team vision; maximize accuracy, algorithm tpe, 1 trial at a time, no trial limit");
    const cancelled = create(ExperimentSchema, { name: "demo-tune", status: { condition: "Cancelled", trialsKilled: 2 } });
    assert.equal(cancelledText(cancelled), "experiment/demo-tune cancelled: no new trials; 2 running trials were stopped (Killed)");
    assert.equal(cancelledText(create(ExperimentSchema, { name: "q", status: { condition: "Cancelled" } })), "experiment/q cancelled: no new trials");
    assert.equal(cancelledText(tuned, NOW), "experiment/demo-tune had already ended: Succeeded (GoalReached)");
    const earlier = create(ExperimentSchema, { name: "demo-tune", status: { condition: "Cancelled", message: "cancelled by admin", completionTime: ago(60), trialsKilled: 2 } });
    assert.equal(cancelledText(earlier, NOW), "experiment/demo-tune was already cancelled: cancelled by admin");
    assert.equal(cancelledText(earlier, NOW - 60_000), "experiment/demo-tune cancelled: no new trials; 2 running trials were stopped (Killed)", "cancelled by this call");
    assert.equal(deletedText("demo-tune", create(DeleteExperimentResponseSchema, { deletedJobs: ["demo-tune-7c2f9d1a", "demo-tune-b81e04c2"] })), "experiment/demo-tune deleted with its 2 trial jobs: demo-tune-7c2f9d1a, demo-tune-b81e04c2");
    assert.equal(deletedText("x", create(DeleteExperimentResponseSchema, {})), "experiment/x deleted (it had no trial jobs)");
  });

  it("shortens numbers to 6 significant digits", () => {
    assert.equal(numberText(0.081234567), "0.0812346");
    assert.equal(numberText(64), "64");
    assert.equal(numberText(1.5e-7), "1.5e-7");
  });
});
