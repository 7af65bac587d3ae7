import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { parseExperimentManifest } from "./experiment-manifest.js";
import type { AlgorithmCheck } from "./experiment-spec.js";
import { DEFAULT_METRICS_REGEX } from "./experiment-spec.js";
import { assertWholeExperiment, experimentViolationsOf, where } from "./test-helpers.js";

const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}.yaml`, import.meta.url), "utf8");
const RANDOM = fixture("katib-random-batchjob");
const TPE = fixture("katib-tpe-pytorchjob");
const HYPERBAND = fixture("katib-hyperband");
const MEDIANSTOP = fixture("katib-medianstop");

/** The fixture with line `n` (1-based) replaced, so every other line keeps its number. */
function withLine(n: number, line: string, text = RANDOM): string {
  const lines = text.split("\n");
  assert.ok(lines[n - 1] !== undefined);
  lines[n - 1] = line;
  return lines.join("\n");
}

/** The random example with `lines` inserted after line `n`. */
function withLinesAfter(n: number, lines: string[], text = RANDOM): string {
  const all = text.split("\n");
  all.splice(n, 0, ...lines);
  return all.join("\n");
}

const trialSpecOf = (text: string): unknown => (parseYaml(text) as { spec: { trialTemplate: { trialSpec: unknown } } }).spec.trialTemplate.trialSpec;
const IGNORED = "accepted but ignored by this platform, which runs trials as local processes: ";

describe("Katib Experiment", () => {
  it("reads Katib's random example, a batch Job running a python script, with one warning for what it ignores", () => {
    const { spec, warnings, source } = parseExperimentManifest(RANDOM, { file: "random.yaml" });
    assert.equal(source, "katib");
    assertWholeExperiment(spec);
    assert.deepEqual(spec, {
      name: "random",
      team: "vision",
      queue: "tuning",
      objective: { type: "minimize", goal: 0.001, metric: "loss", additionalMetrics: [], strategies: { loss: "min" } },
      algorithm: { name: "random", settings: {} },
      parameters: [{ name: "lr", type: "double", min: 0.01, max: 0.05 }, { name: "momentum", type: "double", min: 0.5, max: 0.9 }],
      trialTemplate: {
        format: "batchjob",
        primaryContainerName: "training-container",
        trialParameters: [
          { name: "learningRate", reference: "lr", description: "Learning rate for the training model" },
          { name: "momentum", reference: "momentum", description: "Momentum for the training model" },
          { name: "trialName", reference: "${trialSpec.Name}", description: "Name of the current trial's job" },
        ],
        spec: trialSpecOf(RANDOM),
      },
      parallelTrialCount: 3,
      maxTrialCount: 12,
      maxFailedTrialCount: 3,
      resumePolicy: "LongRunning",
      metricsCollector: { kind: "StdOut", filters: [DEFAULT_METRICS_REGEX] },
    });
    assert.deepEqual(warnings, [`${IGNORED}spec.trialTemplate.trialSpec.spec.template.spec.containers[0].image`]);
  });

  it("reads a tpe experiment whose trials are PyTorchJobs: a log scale, discrete sizes, a metric strategy, a filter and settings", () => {
    const { spec, warnings } = parseExperimentManifest(TPE);
    assertWholeExperiment(spec);
    assert.equal(spec.team, "nlp");
    assert.equal(spec.queue, undefined);
    assert.deepEqual(spec.objective, {
      type: "maximize", goal: 0.99, metric: "Validation-accuracy", additionalMetrics: ["Train-accuracy"], strategies: { "Validation-accuracy": "max", "Train-accuracy": "latest" },
    });
    assert.deepEqual(spec.algorithm, { name: "tpe", settings: { n_startup_trials: "5", random_state: "10" } });
    assert.deepEqual(spec.parameters, [
      { name: "lr", type: "double", min: 0.0001, max: 0.1, log: true },
      { name: "batch-size", type: "discrete", list: ["16", "32", "64"] },
      { name: "optimizer", type: "categorical", list: ["sgd", "adam", "adamw"] },
    ]);
    assert.equal(spec.trialTemplate.format, "pytorchjob");
    assert.equal(spec.trialTemplate.primaryContainerName, "pytorch");
    assert.equal(spec.resumePolicy, "Never");
    assert.deepEqual(spec.metricsCollector, { kind: "StdOut", filters: [String.raw`([\w|-]+)\s*:\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`] });
    assert.deepEqual([spec.parallelTrialCount, spec.maxTrialCount, spec.maxFailedTrialCount], [2, 16, 3]);
    assert.deepEqual(warnings, [
      `${IGNORED}spec.trialTemplate.trialSpec.spec.pytorchReplicaSpecs.Master.template.spec.containers[0].image, spec.trialTemplate.trialSpec.spec.pytorchReplicaSpecs.Worker.template.spec.containers[0].image`,
    ]);
  });

  it("reads Katib's Hyperband example, whose resource parameter (resource_name) is a single value the algorithm sets", () => {
    const { spec } = parseExperimentManifest(HYPERBAND);
    assertWholeExperiment(spec);
    assert.deepEqual(spec.algorithm.settings, { resource_name: "num-epochs", eta: "2", r_l: "2" });
    assert.deepEqual(spec.parameters[3], { name: "num-epochs", type: "int", min: 1, max: 1 });
    assert.deepEqual(spec.parameters[2], { name: "optimizer", type: "categorical", list: ["sgd", "adam", "ftrl"] });
    // Any other parameter of a single value has nothing to search.
    const single = experimentViolationsOf(withLine(36, '        max: "2"', HYPERBAND));
    assert.deepEqual(where(single), ["36:14 spec.parameters[1].feasibleSpace.max"]);
    assert.equal(single[0]?.message, "equals min: parameter num-layers has one value, nothing to search");
  });

  it("reads Katib's medianstop example, listing retain and the trial conditions in the one warning", () => {
    const { spec, warnings } = parseExperimentManifest(MEDIANSTOP);
    assertWholeExperiment(spec);
    assert.deepEqual(spec.earlyStopping, { name: "medianstop", settings: { min_trials_required: "1", start_step: "2" } });
    assert.deepEqual(spec.parameters[1], { name: "num-epochs", type: "int", min: 3, max: 4 });
    assert.deepEqual(warnings, [
      `${IGNORED}spec.trialTemplate.retain, spec.trialTemplate.successCondition, spec.trialTemplate.failureCondition, ` +
        "spec.trialTemplate.trialSpec.spec.template.metadata, spec.trialTemplate.trialSpec.spec.template.spec.containers[0].image",
    ]);
  });

  it("refuses a trial parameter whose reference names no parameter, at its line, suggesting the closest", () => {
    const details = experimentViolationsOf(withLine(34, "        reference: lrr"));
    assert.deepEqual(where(details), ["34:20 spec.trialTemplate.trialParameters[0].reference"]);
    assert.equal(details[0]?.message, "names lrr, which is not a parameter of this experiment");
    assert.equal(details[0]?.hint, "did you mean `lr`?");
    assert.equal(details[0]?.file, "exp.yaml");
  });

  it("refuses a placeholder of an undeclared trial parameter at the string that holds it, suggesting the closest", () => {
    const details = experimentViolationsOf(withLine(55, '                  - "--lr=${trialParameters.learningRat}"'));
    assert.deepEqual(where(details), ["55:21 spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command[4]"]);
    assert.equal(details[0]?.message, "uses ${trialParameters.learningRat}, which is not a declared trial parameter");
    assert.equal(details[0]?.hint, "did you mean `${trialParameters.learningRate}`?");
    // Katib substitutes only the long form: a short one beside a trial parameter of that name is a mistake.
    const short = experimentViolationsOf(withLine(56, '                  - "--momentum=${momentum}"'));
    assert.deepEqual(where(short), ["56:21 spec.trialTemplate.trialSpec.spec.template.spec.containers[0].command[5]"]);
    assert.match(short[0]?.hint ?? "", /did you mean `\$\{trialParameters\.momentum\}`/);
    // A shell's own variables are left alone.
    const shell = parseExperimentManifest(withLine(56, '                  - "--momentum=${MOMENTUM_FROM_ENV}"')).spec;
    assert.ok(JSON.stringify(shell.trialTemplate.spec).includes("${MOMENTUM_FROM_ENV}"));
  });

  it("refuses an empty feasible space, naming the parameter and the field", () => {
    const double = experimentViolationsOf(withLine(27, "", withLine(28, "")));
    assert.deepEqual(where(double), ["26:7 spec.parameters[1].feasibleSpace"]);
    assert.equal(double[0]?.message, "parameter momentum has an empty feasible space: a double parameter needs min and max");
    const list = experimentViolationsOf(withLine(20, "      parameterType: categorical", withLine(22, "        list: []", withLine(23, ""))));
    assert.deepEqual(where(list), ["22:9 spec.parameters[0].feasibleSpace.list"]);
    assert.equal(list[0]?.message, "parameter lr has an empty feasible space: a categorical parameter needs a list of values");
  });

  it("refuses min ≥ max, values that are not numbers, fractional ints and non-numeric discrete values", () => {
    const below = experimentViolationsOf(withLine(23, '        max: "0.005"'));
    assert.deepEqual(where(below), ["23:14 spec.parameters[0].feasibleSpace.max"]);
    assert.equal(below[0]?.message, "is below min (0.01): parameter lr has no values to search");
    assert.equal(experimentViolationsOf(withLine(23, '        max: "0.01"'))[0]?.message, "equals min: parameter lr has one value, nothing to search");
    const text = experimentViolationsOf(withLine(22, '        min: "one"'));
    assert.deepEqual(where(text), ["22:14 spec.parameters[0].feasibleSpace.min"]);
    assert.equal(text[0]?.message, "is not a number");
    const int = experimentViolationsOf(withLine(20, "      parameterType: int", withLine(22, '        min: "1.5"', withLine(23, '        max: "4"'))));
    assert.deepEqual(where(int), ["22:14 spec.parameters[0].feasibleSpace.min"]);
    assert.equal(int[0]?.message, "must be a whole number for an int parameter");
    const discrete = experimentViolationsOf(withLine(44, '        list: ["16", "thirty-two"]', TPE));
    assert.deepEqual(where(discrete), ["44:22 spec.parameters[1].feasibleSpace.list[1]"]);
    assert.equal(discrete[0]?.message, "is not a number: a discrete parameter's values are numbers");
  });

  it("refuses names given twice, and metrics that are not the experiment's", () => {
    const param = experimentViolationsOf(withLine(24, "    - name: lr"));
    // (momentum's trial parameter now references no parameter: that is said too.)
    assert.deepEqual(where(param), ["24:13 spec.parameters[1].name", "37:20 spec.trialTemplate.trialParameters[1].reference"]);
    assert.equal(param[0]?.message, "names parameter lr a second time");
    const tp = experimentViolationsOf(withLine(35, "      - name: learningRate"));
    assert.ok(where(tp).includes("35:15 spec.trialTemplate.trialParameters[1].name"));
    const setting = experimentViolationsOf(withLine(22, "        value: x", withLine(21, "      - name: n_startup_trials", TPE)));
    assert.deepEqual(where(setting), ["21:15 spec.algorithm.algorithmSettings[1].name"]);
    assert.equal(setting[0]?.message, "sets n_startup_trials a second time");
    const additional = experimentViolationsOf(withLine(12, "      - Validation-accuracy", TPE));
    assert.deepEqual(where(additional), ["12:9 spec.objective.additionalMetricNames[0]", "14:15 spec.objective.metricStrategies[0].name"]);
    assert.equal(additional[0]?.message, "is the objective metric: additional metrics are the others");
    const strategy = experimentViolationsOf(withLine(14, "      - name: Train-acuracy", TPE));
    assert.deepEqual(where(strategy), ["14:15 spec.objective.metricStrategies[0].name"]);
    assert.equal(strategy[0]?.hint, "did you mean `Train-accuracy`?");
  });

  it("refuses a goal written as text, saying it must be a number", () => {
    for (const goal of ["high", '"0.001"']) {
      const details = experimentViolationsOf(withLine(11, `    goal: ${goal}`));
      assert.deepEqual(where(details), ["11:11 spec.objective.goal"]);
      assert.equal(details[0]?.expected, "a number");
      assert.equal(details[0]?.hint, "write the goal as a number without quotes, e.g. `goal: 0.99`");
    }
  });

  it("refuses misspelt fields with their line and column and a suggestion, at the top level and in the trial spec", () => {
    const top = experimentViolationsOf(withLine(15, "  parallelTrialCont: 3"));
    assert.deepEqual(where(top), ["15:3 spec.parallelTrialCont"]);
    assert.equal(top[0]?.hint, "did you mean `parallelTrialCount`?");
    const root = experimentViolationsOf(withLine(3, "metdata:"));
    assert.ok(where(root).includes("3:1 metdata"));
    assert.equal(root.find((d) => d.field === "metdata")?.hint, "did you mean `metadata`?");
    // The trial spec is read by the job parser; its problems point at the experiment's own lines.
    const trial = experimentViolationsOf(withLine(64, "            restartPolicey: Never"));
    assert.deepEqual(where(trial), ["64:13 spec.trialTemplate.trialSpec.spec.template.spec.restartPolicey"]);
    assert.equal(trial[0]?.hint, "did you mean `restartPolicy`?");
    const cpu = experimentViolationsOf(withLine(63, '                    cpu: "lots"'));
    assert.deepEqual(where(cpu), ["63:26 spec.trialTemplate.trialSpec.spec.template.spec.containers[0].resources.limits.cpu"]);
  });

  it("refuses what cannot work here, saying why", () => {
    const nas = experimentViolationsOf(withLinesAfter(17, ["  nasConfig:", "    graphConfig: {numLayers: 8}"]));
    assert.deepEqual(where(nas), ["18:3 spec.nasConfig"]);
    assert.match(nas[0]?.message ?? "", /tunes hyperparameters, not network architectures/);
    const configMap = experimentViolationsOf(withLinesAfter(30, ["    configMap: {configMapName: tpl, configMapNamespace: kubeflow, templatePath: job.yaml}"]));
    assert.deepEqual(where(configMap), ["31:5 spec.trialTemplate.configMap"]);
    assert.match(configMap[0]?.message ?? "", /a ConfigMap lives in a Kubernetes cluster/);
    for (const [kind, why] of [["TensorFlowEvent", /TensorFlow's own reader/], ["PrometheusMetric", /no endpoint to scrape/], ["Custom", /sidecar container/], ["Push", /Katib's database API/]] as const) {
      const d = experimentViolationsOf(withLinesAfter(17, ["  metricsCollectorSpec:", "    collector:", `      kind: ${kind}`]));
      assert.deepEqual(where(d), ["20:13 spec.metricsCollectorSpec.collector.kind"]);
      assert.match(d[0]?.message ?? "", why);
    }
    const normal = experimentViolationsOf(withLinesAfter(23, ["        distribution: normal"]));
    assert.deepEqual(where(normal), ["24:23 spec.parameters[0].feasibleSpace.distribution"]);
    assert.match(normal[0]?.message ?? "", /normal is not a distribution the search algorithms here sample from/);
    const tfjob = experimentViolationsOf(withLine(42, "      apiVersion: kubeflow.org/v1", withLine(43, "      kind: TFJob")));
    assert.deepEqual(where(tfjob), ["43:13 spec.trialTemplate.trialSpec.kind"]);
    assert.match(tfjob[0]?.message ?? "", /kubeflow.org\/v1 TFJob is not supported as a trial/);
    const named = experimentViolationsOf(withLinesAfter(43, ["      metadata: {name: fixed, namespace: other}"]));
    assert.deepEqual(where(named), ["44:18 spec.trialTemplate.trialSpec.metadata.name", "44:31 spec.trialTemplate.trialSpec.metadata.namespace"]);
  });

  it("refuses a primaryContainerName that names no container, and asks for one when the pod has several", () => {
    const wrong = experimentViolationsOf(withLine(30, "    primaryContainerName: training-contianer"));
    assert.deepEqual(where(wrong), ["30:27 spec.trialTemplate.primaryContainerName"]);
    assert.equal(wrong[0]?.hint, "did you mean `training-container`?");
    const sidecar = ["              - name: sidecar", "                command: [sleep, infinity]"];
    const several = experimentViolationsOf(withLine(30, "", withLinesAfter(63, sidecar)));
    assert.deepEqual(where(several), ["29:3 spec.trialTemplate.primaryContainerName"]);
    // Named, the primary container runs and the others are listed as ignored.
    const { warnings } = parseExperimentManifest(withLinesAfter(63, sidecar));
    assert.match(warnings.at(-1) ?? "", /spec\.trialTemplate\.trialSpec\.spec\.template\.spec\.containers\[1\]$/);
    const pytorch = experimentViolationsOf(withLine(50, "    primaryContainerName: trainer", TPE));
    assert.equal(pytorch[0]?.hint, "name the container that trains");
  });

  it("refuses trial metadata references Katib does not have, and labels the template lacks", () => {
    const uid = experimentViolationsOf(withLine(40, "        reference: ${trialSpec.Nmae}"));
    assert.deepEqual(where(uid), ["40:20 spec.trialTemplate.trialParameters[2].reference"]);
    assert.equal(uid[0]?.hint, "did you mean `${trialSpec.Name}`?");
    const label = experimentViolationsOf(withLine(40, "        reference: ${trialSpec.Labels[team]}"));
    assert.equal(label[0]?.message, "reads label team, which the trial template does not have");
    for (const ref of ["${trialSpec.Namespace}", "${trialSpec.Kind}", "${trialSpec.APIVersion}", "${trialSpec.Labels[katib.kubeflow.org/trial]}"]) {
      assert.equal(parseExperimentManifest(withLine(40, `        reference: ${ref}`)).spec.trialTemplate.trialParameters[2]?.reference, ref);
    }
    const direct = experimentViolationsOf(withLine(59, "                    value: ${trialSpec.Name}"));
    assert.deepEqual(where(direct), ["59:28 spec.trialTemplate.trialSpec.spec.template.spec.containers[0].env[0].value"]);
    assert.match(direct[0]?.message ?? "", /a trial metadata reference: it is a trial parameter's `reference`, not a placeholder/);
  });

  it("warns of a trial parameter the template never uses and of a parameter no trial receives", () => {
    const { warnings } = parseExperimentManifest(withLine(56, '                  - "--momentum=0.9"'), { file: "exp.yaml" });
    assert.deepEqual(warnings.slice(0, 1), ["exp.yaml:35:9: spec.trialTemplate.trialParameters[1]: trial parameter momentum is never used: the template has no ${trialParameters.momentum}"]);
    const unreferenced = parseExperimentManifest(withLine(37, "        reference: lr", withLine(56, '                  - "--momentum=0.9"')), { file: "exp.yaml" }).warnings;
    assert.ok(unreferenced.includes("exp.yaml:24:13: spec.parameters[1].name: parameter momentum is not passed to trials: no trial parameter references it"), unreferenced.join("\n"));
  });

  it("checks trial counts against each other, defaults parallelTrialCount to 3 (at most maxTrialCount), and warns of an endless experiment", () => {
    const parallel = experimentViolationsOf(withLine(15, "  parallelTrialCount: 13"));
    assert.deepEqual(where(parallel), ["15:23 spec.parallelTrialCount"]);
    assert.equal(parallel[0]?.message, "allows more trials at once (13) than the experiment runs (maxTrialCount 12)");
    assert.deepEqual(where(experimentViolationsOf(withLine(17, "  maxFailedTrialCount: 20"))), ["17:24 spec.maxFailedTrialCount"]);
    assert.equal(parseExperimentManifest(withLine(15, "")).spec.parallelTrialCount, 3);
    assert.equal(parseExperimentManifest(withLine(15, "", withLine(16, "  maxTrialCount: 2", withLine(17, "")))).spec.parallelTrialCount, 2);
    assert.deepEqual(where(experimentViolationsOf(withLine(15, "  parallelTrialCount: 65"))), ["15:23 spec.parallelTrialCount"]);
    const endless = parseExperimentManifest(withLine(11, "", withLine(16, "", withLine(17, ""))), { file: "exp.yaml" });
    assert.equal(endless.warnings[0], "exp.yaml:9:3: spec.objective: has no goal and the experiment has no maxTrialCount: it runs trials until it is stopped");
  });

  it("reads the File collector with Katib's defaults, refuses filters on JSON files, and warns of a path trials share", () => {
    const file = (lines: string[]) => withLinesAfter(17, ["  metricsCollectorSpec:", ...lines]);
    const { spec, warnings } = parseExperimentManifest(file(["    collector: {kind: File}"]), { file: "exp.yaml" });
    assert.deepEqual(spec.metricsCollector, { kind: "File", path: "/var/log/katib/metrics.log", format: "TEXT", filters: [DEFAULT_METRICS_REGEX] });
    assert.ok(warnings.some((w) => w.startsWith("exp.yaml:18:3: spec.metricsCollectorSpec: reads /var/log/katib/metrics.log from each trial's output directory, as $SWITCHYARD_OUTPUT_DIR/var/log/katib/metrics.log")));
    const json = parseExperimentManifest(file(["    collector: {kind: File}", "    source:", "      fileSystemPath: {path: metrics.jsonl, kind: File, format: JSON}"])).spec;
    assert.deepEqual(json.metricsCollector, { kind: "File", path: "metrics.jsonl", format: "JSON", filters: [] });
    const filtered = experimentViolationsOf(file(["    collector: {kind: File}", "    source:", "      fileSystemPath: {path: m.json, format: JSON}", "      filter: {metricsFormat: ['(\\w+)=(\\d+)']}"]));
    assert.deepEqual(where(filtered), ["22:16 spec.metricsCollectorSpec.source.filter.metricsFormat"]);
    assert.deepEqual(parseExperimentManifest(file(["    collector: {kind: None}"])).spec.metricsCollector, { kind: "None" });
    const regex = experimentViolationsOf(file(["    source:", "      filter:", "        metricsFormat: ['(\\w+)=', '([a-z]+']"]));
    assert.deepEqual(regex.map((d) => d.message), ["has 1 capture group: the first two groups are a metric's name and its value", "is not a regular expression: Unterminated group"]);
  });

  it("calls the algorithm hooks with the settings and parameters, reporting at the setting, the parameter or the name", () => {
    const calls: unknown[] = [];
    const checkAlgorithm: AlgorithmCheck = (name, settings, { parameters }) => {
      calls.push([name, settings, parameters.map((p) => p.name)]);
      return [{ message: "n_startup_trials must be below maxTrialCount", setting: "n_startup_trials" }, { message: "tpe needs a step here", parameter: "optimizer" }, { message: "tpe is tired", setting: "absent" }];
    };
    const checkEarlyStopping: AlgorithmCheck = (name) => (name === "medianstop" ? [] : [{ message: "unknown" }]);
    const details = experimentViolationsOf(TPE, { checkAlgorithm, checkEarlyStopping });
    assert.deepEqual(calls, [["tpe", { n_startup_trials: "5", random_state: "10" }, ["lr", "batch-size", "optimizer"]]]);
    assert.deepEqual(where(details), ["17:20 spec.algorithm.algorithmName", "20:16 spec.algorithm.algorithmSettings[0].value", "45:13 spec.parameters[2].name"]);
    assert.equal(details[0]?.hint, "check the algorithm `tpe` and its settings");
    const stop = experimentViolationsOf(MEDIANSTOP.replace("algorithmName: medianstop", "algorithmName: medianstpo"), { checkEarlyStopping });
    assert.deepEqual(where(stop), ["19:20 spec.earlyStopping.algorithmName"]);
    // A structurally broken algorithm is the schema's to report; the hook is not called with it.
    let called = false;
    experimentViolationsOf(withLine(14, "    algorithmName: 42"), { checkAlgorithm: () => ((called = true), []) });
    assert.equal(called, false);
  });

  it("takes the team from the namespace, else the caller's default team, and the queue from Kueue's label", () => {
    assert.equal(parseExperimentManifest(withLine(4, "")).spec.team, "default");
    const noNamespace = parseExperimentManifest(withLine(4, ""), { defaultTeam: "alice" }).spec;
    assert.deepEqual([noNamespace.team, noNamespace.queue], ["alice", "tuning"]);
    assert.equal(parseExperimentManifest(withLine(6, "", withLine(7, ""))).spec.queue, undefined);
    assert.deepEqual(where(experimentViolationsOf(withLine(4, "  namespace: Vision"))), ["4:14 metadata.namespace"]);
    assert.deepEqual(where(experimentViolationsOf(withLine(7, "    kueue.x-k8s.io/queue-name: Tuning"))), ["7:32 metadata.labels[\"kueue.x-k8s.io/queue-name\"]"]);
    assert.deepEqual(where(experimentViolationsOf(withLine(5, "  generateName: random-"))), ["5:3 metadata.generateName", "3:1 metadata.name"].sort());
  });
});
