import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseExperimentManifest } from "./experiment-manifest.js";
import { DEFAULT_METRICS_REGEX } from "./experiment-spec.js";
import { assertWholeExperiment, experimentViolationsOf, where } from "./test-helpers.js";

const FULL = readFileSync(new URL("./testdata/experiment-native.yaml", import.meta.url), "utf8");

/** The fixture with line `n` (1-based) replaced, so every other line keeps its number. */
function withLine(n: number, line: string, text = FULL): string {
  const lines = text.split("\n");
  assert.ok(lines[n - 1] !== undefined);
  lines[n - 1] = line;
  return lines.join("\n");
}

/** A native experiment of `spec` lines (indented 2). */
const native = (spec: string) => `apiVersion: switchyard/v1\nkind: Experiment\nmetadata:\n  name: e\nspec:\n${spec}\n`;
const MINIMAL = native([
  "  objective: {metric: loss, type: minimize}",
  "  algorithm: random",
  "  parameters:",
  "    lr: {type: double, min: 0.001, max: 0.1}",
  "  trial:",
  "    command: [python, train.py, --lr, '${lr}']",
].join("\n"));

describe("native Experiment", () => {
  it("reads a native experiment: parameters as a map, short placeholders written long, trial counts, early stopping", () => {
    const { spec, warnings, source } = parseExperimentManifest(FULL, { file: "tune.yaml" });
    assert.equal(source, "native");
    assertWholeExperiment(spec);
    assert.deepEqual(warnings, []);
    assert.deepEqual(spec, {
      name: "mnist-tune",
      team: "vision",
      queue: "tuning",
      objective: { type: "minimize", goal: 0.05, metric: "loss", additionalMetrics: ["accuracy"], strategies: { loss: "min", accuracy: "min" } },
      algorithm: { name: "tpe", settings: { n_startup_trials: "5" } },
      earlyStopping: { name: "medianstop", settings: {} },
      parameters: [
        { name: "lr", type: "double", min: 0.0001, max: 0.1, log: true },
        { name: "batch", type: "discrete", list: ["16", "32", "64"] },
        { name: "optimizer", type: "categorical", list: ["sgd", "adam"] },
        { name: "layers", type: "int", min: 2, max: 6 },
      ],
      trialTemplate: {
        format: "native",
        trialParameters: ["lr", "batch", "optimizer", "layers"].map((n) => ({ name: n, reference: n })),
        spec: {
          apiVersion: "switchyard/v1",
          kind: "Job",
          spec: {
            command: ["python", "train.py", "--lr", "${trialParameters.lr}", "--batch-size", "${trialParameters.batch}", "--optimizer", "${trialParameters.optimizer}"],
            args: ["--layers=${trialParameters.layers}"],
            env: { EPOCHS: 3, HOME_DIR: "${HOME}" },
            resources: { gpus: 1, cpu: 4, memory: "8Gi" },
            workingDir: "/srv/mnist",
          },
        },
      },
      parallelTrialCount: 4,
      maxTrialCount: 24,
      maxFailedTrialCount: 3,
      resumePolicy: "LongRunning",
      metricsCollector: { kind: "StdOut", filters: [DEFAULT_METRICS_REGEX] },
    });
  });

  it("fills the defaults: the caller's team, 3 trials at once, LongRunning, the StdOut collector with Katib's filter", () => {
    const { spec, warnings } = parseExperimentManifest(MINIMAL, { defaultTeam: "alice", file: "e.yaml" });
    assertWholeExperiment(spec);
    assert.deepEqual({ ...spec, trialTemplate: undefined }, {
      name: "e",
      team: "alice",
      objective: { type: "minimize", metric: "loss", additionalMetrics: [], strategies: { loss: "min" } },
      algorithm: { name: "random", settings: {} },
      parameters: [{ name: "lr", type: "double", min: 0.001, max: 0.1 }],
      trialTemplate: undefined,
      parallelTrialCount: 3,
      resumePolicy: "LongRunning",
      metricsCollector: { kind: "StdOut", filters: [DEFAULT_METRICS_REGEX] },
    });
    assert.deepEqual(warnings, ["e.yaml:6:14: spec.objective: has no goal and the experiment has no maxTrialCount: it runs trials until it is stopped"]);
    assert.equal(parseExperimentManifest(MINIMAL).spec.team, "default");
  });

  it("takes a list alone as categorical, or discrete when its values are numbers, and asks a range for its type", () => {
    const params = (lines: string) => MINIMAL.replace("    lr: {type: double, min: 0.001, max: 0.1}", lines);
    const { spec } = parseExperimentManifest(params("    lr: [0.1, 0.01, 1e-3]\n    opt: [sgd, '1']\n    n: {list: [1, 2]}\n    c: {type: categorical, list: [1, 2]}"));
    assert.deepEqual(spec.parameters, [
      { name: "lr", type: "discrete", list: ["0.1", "0.01", "0.001"] },
      { name: "opt", type: "categorical", list: ["sgd", "1"] },
      { name: "n", type: "discrete", list: ["1", "2"] },
      { name: "c", type: "categorical", list: ["1", "2"] },
    ]);
    const untyped = experimentViolationsOf(params("    lr: {min: 0.001, max: 0.1}"));
    assert.deepEqual(where(untyped), ["9:5 spec.parameters.lr"]);
    assert.equal(untyped[0]?.message, "parameter lr needs a type");
    const log = experimentViolationsOf(params("    lr: {type: double, min: 0, max: 0.1, log: true}"));
    assert.deepEqual(where(log), ["9:47 spec.parameters.lr.log"]);
    assert.equal(log[0]?.message, "needs min above 0: parameter lr is searched on a log scale");
    const repeated = experimentViolationsOf(params("    lr: [0.1, 0.10]"));
    assert.deepEqual(where(repeated), ["9:15 spec.parameters.lr[1]"]);
    assert.equal(repeated[0]?.message, 'repeats "0.1"');
  });

  it("refuses a near miss of a parameter in a placeholder and metadata references in the template; leaves a shell's variables", () => {
    const near = experimentViolationsOf(withLine(18, '    command: [python, train.py, --lr, "${lrr}"]'));
    assert.deepEqual(where(near), ["18:39 spec.trial.command[3]"]);
    assert.equal(near[0]?.message, "uses ${lrr}, which names no trial parameter");
    assert.match(near[0]?.hint ?? "", /^did you mean `\$\{lr\}`\?/);
    const long = experimentViolationsOf(withLine(19, '    args: ["--layers=${trialParameters.layer}"]'));
    assert.deepEqual(where(long), ["19:12 spec.trial.args[0]"]);
    assert.equal(long[0]?.hint, "did you mean `${trialParameters.layers}`?");
    const meta = experimentViolationsOf(withLine(19, '    args: ["--name=${trialSpec.Name}"]'));
    assert.match(meta[0]?.message ?? "", /a trial metadata reference/);
    const key = experimentViolationsOf(withLine(20, '    env: {"LR_${lr}": x}'));
    // (The job parser adds that `LR_${lr}` is no variable name.)
    assert.deepEqual([...new Set(where(key))], ["20:11 spec.trial.env[\"LR_${lr}\"]"]);
    assert.equal(key[0]?.message, "has a placeholder in a key: placeholders are replaced in values only");
  });

  it("takes a whole trial manifest, explicit trial parameters with metadata references, and the primary container", () => {
    const text = native([
      "  objective: {metric: loss, type: minimize, goal: 0.1}",
      "  algorithm: random",
      "  parameters: {lr: {type: double, min: 0.001, max: 0.1}}",
      "  trialParameters:",
      "    - {name: learningRate, reference: lr}",
      "    - {name: me, reference: '${trialSpec.Name}'}",
      "  primaryContainerName: pytorch",
      "  trial:",
      "    apiVersion: kubeflow.org/v1",
      "    kind: PyTorchJob",
      "    spec:",
      "      pytorchReplicaSpecs:",
      "        Master:",
      "          template:",
      "            spec:",
      "              containers:",
      "                - name: pytorch",
      "                  command: [python, train.py, '--lr=${learningRate}', '--name=${trialParameters.me}']",
    ].join("\n"));
    const { spec, warnings } = parseExperimentManifest(text);
    assert.deepEqual(warnings, []);
    assert.equal(spec.trialTemplate.format, "pytorchjob");
    assert.equal(spec.trialTemplate.primaryContainerName, "pytorch");
    assert.deepEqual(spec.trialTemplate.trialParameters, [{ name: "learningRate", reference: "lr" }, { name: "me", reference: "${trialSpec.Name}" }]);
    assert.match(JSON.stringify(spec.trialTemplate.spec), /--lr=\$\{trialParameters\.learningRate\}/);
    const primary = native("  objective: {metric: loss, type: minimize, goal: 0.1}\n  algorithm: random\n  parameters: {lr: [a, b]}\n  primaryContainerName: main\n  trial: {command: [x, '${lr}']}");
    assert.ok(parseExperimentManifest(primary).warnings.at(-1)?.endsWith("spec.primaryContainerName"));
  });

  it("refuses an inline secret in the trial template, and reads a secretKeyRef", () => {
    const secret = experimentViolationsOf(withLine(20, "    env: {WANDB_API_KEY: {value: s3cr3t, secret: true}}"));
    assert.deepEqual(where(secret), ["20:10 spec.trial.env"]);
    assert.match(secret[0]?.message ?? "", /^sets WANDB_API_KEY as an inline secret/);
    assert.ok(!JSON.stringify(secret).includes("s3cr3t"));
    const ref = parseExperimentManifest(withLine(20, "    env: {WANDB_API_KEY: {secretKeyRef: {name: wandb, key: api-key}}}")).spec;
    assert.deepEqual((ref.trialTemplate.spec["spec"] as { env: unknown }).env, { WANDB_API_KEY: { secretKeyRef: { name: "wandb", key: "api-key" } } });
  });

  it("refuses misspelt fields with a suggestion, and Katib's names with this format's", () => {
    const misspelt = experimentViolationsOf(withLine(16, "  trails: {parallel: 4, max: 24, maxFailed: 3}"));
    assert.deepEqual(where(misspelt), ["16:3 spec.trails"]);
    assert.equal(misspelt[0]?.hint, "did you mean `trials`?");
    const katib = experimentViolationsOf(withLine(16, "  parallelTrialCount: 4"));
    assert.equal(katib[0]?.hint, "write `trials: {parallel: 3}`");
    const trial = experimentViolationsOf(withLine(22, "    workingDri: /srv"));
    assert.deepEqual(where(trial), ["22:5 spec.trial.workingDri"]);
    assert.equal(trial[0]?.hint, "did you mean `workingDir`?");
    const replicas = experimentViolationsOf(withLine(22, "    replicas: 0"));
    assert.deepEqual(where(replicas), ["22:15 spec.trial.replicas"]);
    assert.deepEqual(where(experimentViolationsOf(withLine(4, `  name: ${"a".repeat(55)}`))), ["4:9 metadata.name"]);
    assert.deepEqual(where(experimentViolationsOf(withLine(15, "    2layers: {type: int, min: 2, max: 6}"))), ["15:5 spec.parameters[\"2layers\"]"]);
  });

  it("reads the collector as a kind or a mapping, refusing what cannot work here and fields of another kind", () => {
    const withCollector = (c: string) => `${FULL.trimEnd()}\n  metricsCollector: ${c}\n`;
    assert.deepEqual(parseExperimentManifest(withCollector("None")).spec.metricsCollector, { kind: "None" });
    assert.deepEqual(parseExperimentManifest(withCollector("{kind: File, path: metrics.txt}")).spec.metricsCollector, { kind: "File", path: "metrics.txt", format: "TEXT", filters: [DEFAULT_METRICS_REGEX] });
    const tf = experimentViolationsOf(withCollector("TensorFlowEvent"));
    assert.deepEqual(where(tf), ["23:21 spec.metricsCollector"]);
    assert.match(tf[0]?.message ?? "", /TensorFlowEvent is not supported: it reads TensorFlow event files/);
    const path = experimentViolationsOf(withCollector("{kind: StdOut, path: m.txt}"));
    assert.deepEqual(where(path), ["23:36 spec.metricsCollector.path"]);
    assert.equal(path[0]?.message, "does not go with the StdOut collector");
  });

  it("gives every trial the experiment's queue, warning when the trial says another", () => {
    const { warnings } = parseExperimentManifest(withLine(22, "    queue: other"), { file: "t.yaml" });
    assert.deepEqual(warnings, ["t.yaml:22:12: spec.trial.queue: is replaced by the experiment's queue, tuning"]);
  });
});
