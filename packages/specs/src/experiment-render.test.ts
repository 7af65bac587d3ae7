import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseExperimentManifest } from "./experiment-manifest.js";
import { renderTrialManifest, renderTrialManifestObject } from "./experiment-render.js";
import type { ExperimentSpec } from "./experiment-spec.js";
import { parseJobManifest } from "./job-manifest.js";
import { assertWholeSpec } from "./test-helpers.js";

const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}.yaml`, import.meta.url), "utf8");
const specOf = (text: string): ExperimentSpec => parseExperimentManifest(text).spec;

const LABELS = (experiment: string, trial: string) => ({
  "experiments.switchyard.io/experiment": experiment,
  "experiments.switchyard.io/trial": trial,
  "katib.kubeflow.org/experiment": experiment,
  "katib.kubeflow.org/trial": trial,
});

/** The trial's job as the jobs service reads it. */
function trialJob(spec: ExperimentSpec, trialName: string, assignment: Record<string, string | number>) {
  const parsed = parseJobManifest(renderTrialManifest(spec, { trialName, assignment }), { file: `${trialName}.json` });
  assertWholeSpec(parsed.spec);
  return parsed;
}

/** The problems of an assignment render refuses. */
function refused(spec: ExperimentSpec, trialName: string, assignment: Record<string, string | number>): SwitchyardError {
  try {
    renderTrialManifest(spec, { trialName, assignment });
  } catch (err) {
    assert.ok(err instanceof SwitchyardError && err.code === Code.InvalidArgument, String(err));
    return err;
  }
  assert.fail("the assignment was accepted");
}

describe("renderTrialManifest", () => {
  it("renders a batch Job trial: values in every string, named after the trial, in the experiment's team and queue, labelled", () => {
    const spec = specOf(fixture("katib-random-batchjob"));
    const { spec: job, source } = trialJob(spec, "random-x7k2p9qa", { lr: 0.0123, momentum: "0.70" });
    assert.equal(source, "batch/v1/Job");
    assert.equal(job.name, "random-x7k2p9qa");
    assert.equal(job.team, "vision");
    assert.equal(job.queue, "tuning");
    assert.deepEqual(job.labels, { ...LABELS("random", "random-x7k2p9qa"), "kueue.x-k8s.io/queue-name": "tuning" });
    assert.deepEqual(job.command, ["python3", "/opt/pytorch-mnist/mnist.py", "--epochs=1", "--batch-size=16", "--lr=0.0123", "--momentum=0.7"]);
    assert.deepEqual(job.env, { TRIAL_NAME: "random-x7k2p9qa" });
    assert.deepEqual([job.replicas, job.restartPolicy, job.backoffLimit, job.resources.cpuMilli, job.resources.memoryMb], [1, "Never", 6, 500, 1024]);
  });

  it("renders a PyTorchJob trial into both of its roles, in the experiment's queue", () => {
    const text = fixture("katib-tpe-pytorchjob").replace("  name: tpe-pytorchjob\n", "  name: tpe-pytorchjob\n  labels: {kueue.x-k8s.io/queue-name: gpu}\n");
    const { spec: job, source } = trialJob(specOf(text), "tpe-pytorchjob-00000001", { lr: 0.00012, "batch-size": 32, optimizer: "adamw" });
    assert.equal(source, "kubeflow.org/v1/PyTorchJob");
    assert.deepEqual([job.name, job.team, job.queue, job.replicas], ["tpe-pytorchjob-00000001", "nlp", "gpu", 2]);
    assert.deepEqual(job.labels, LABELS("tpe-pytorchjob", "tpe-pytorchjob-00000001"));
    const command = ["python3", "/opt/pytorch-mnist/mnist.py", "--epochs=1", "--batch-size=32", "--lr=0.00012", "--optimizer=adamw"];
    assert.deepEqual(job.roles?.map((r) => [r.name, r.command]), [["Master", command], ["Worker", command]]);
  });

  it("renders a native trial: the short form substituted, numbers as their shortest text, ints as integers, a shell's ${HOME} kept", () => {
    const spec = specOf(fixture("experiment-native"));
    const { spec: job, source } = trialJob(spec, "mnist-tune-abcdefgh", { lr: 1e-4, batch: 32, optimizer: "adam", layers: "4" });
    assert.equal(source, "switchyard/v1");
    assert.deepEqual([job.name, job.team, job.queue], ["mnist-tune-abcdefgh", "vision", "tuning"]);
    assert.deepEqual(job.labels, LABELS("mnist-tune", "mnist-tune-abcdefgh"));
    assert.deepEqual(job.command, ["python", "train.py", "--lr", "0.0001", "--batch-size", "32", "--optimizer", "adam"]);
    assert.deepEqual(job.args, ["--layers=4"]);
    assert.deepEqual(job.env, { EPOCHS: "3", HOME_DIR: "${HOME}" });
    assert.deepEqual(job.resources, { gpus: 1, gpuMilli: 0, cpuMilli: 4000, memoryMb: 8192 });
    assert.deepEqual(trialJob(spec, "t", { lr: 0.1, batch: "64", optimizer: "sgd", layers: 6 }).spec.command.slice(3, 6), ["0.1", "--batch-size", "64"]);
  });

  it("substitutes Katib's metadata references: name, namespace, kind, apiVersion, labels and annotations", () => {
    const text = fixture("katib-random-batchjob")
      .replace("        reference: ${trialSpec.Name}\n", [
        "        reference: ${trialSpec.Name}",
        "      - {name: ns, reference: '${trialSpec.Namespace}'}",
        "      - {name: kind, reference: '${trialSpec.Kind}'}",
        "      - {name: api, reference: '${trialSpec.APIVersion}'}",
        "      - {name: owner, reference: '${trialSpec.Labels[owner]}'}",
        "      - {name: trial, reference: '${trialSpec.Labels[katib.kubeflow.org/trial]}'}",
        "      - {name: note, reference: '${trialSpec.Annotations[note]}'}",
        "",
      ].join("\n"))
      .replace("      kind: Job\n", "      kind: Job\n      metadata:\n        labels: {owner: alice, lr: '${trialParameters.learningRate}'}\n        annotations: {note: 'lr is ${trialParameters.learningRate}'}\n")
      .replace("                    value: ${trialParameters.trialName}\n", [
        "                    value: ${trialParameters.trialName}",
        "                  - {name: META, value: '${trialParameters.ns}/${trialParameters.kind}/${trialParameters.api}/${trialParameters.owner}/${trialParameters.trial}'}",
        "                  - {name: NOTE, value: '${trialParameters.note}'}",
        "",
      ].join("\n"));
    const { spec: job } = trialJob(specOf(text), "random-abc", { lr: 0.02, momentum: 0.5 });
    assert.deepEqual(job.env, { TRIAL_NAME: "random-abc", META: "vision/Job/batch/v1/alice/random-abc", NOTE: "lr is 0.02" });
    assert.equal(job.labels["lr"], "0.02");
  });

  it("keeps only a batch Job's primary container, whatever its place", () => {
    const text = fixture("katib-random-batchjob").replace("            containers:\n", "            containers:\n              - {name: sidecar, command: [sleep, infinity]}\n");
    const spec = specOf(text);
    const doc = renderTrialManifestObject(spec, { trialName: "random-a", assignment: { lr: 0.02, momentum: 0.6 } });
    const containers = (doc as { spec: { template: { spec: { containers: { name: string }[] } } } }).spec.template.spec.containers;
    assert.deepEqual(containers.map((c) => c.name), ["training-container"]);
    assert.equal(trialJob(spec, "random-a", { lr: 0.02, momentum: 0.6 }).spec.command[0], "python3");
  });

  it("refuses a trial name or an assignment that is not one of the experiment's, naming each value", () => {
    const spec = specOf(fixture("katib-tpe-pytorchjob"));
    const err = refused(spec, "Trial_1", { lr: 0.5, "batch-size": 48, optimzer: "adam" });
    assert.deepEqual(err.details.map((d) => [d.field, d.message]), [
      ["trialName", "is not a valid job name"],
      ["assignment.lr", "0.5 is outside lr's range"],
      ["assignment.batch-size", "48 is not one of batch-size's values"],
      ["assignment.optimizer", "has no value"],
      ["assignment.optimzer", "is not a parameter of this experiment"],
    ]);
    assert.equal(err.details[4]?.hint, "did you mean `optimizer`?");
    assert.match(err.message, /^trial Trial_1 of experiment tpe-pytorchjob: 5 problems in its assignment\n/);
    const hb = specOf(fixture("katib-hyperband"));
    const ints = refused(hb, "hb-1", { lr: "fast", "num-layers": 2.5, optimizer: "rmsprop", "num-epochs": 1 });
    assert.deepEqual(ints.details.map((d) => d.message), ['"fast" is not a number', "2.5 is not a whole number", '"rmsprop" is not one of optimizer\'s values']);
  });

  it("lets the algorithm set its resource parameter (Hyperband's resource_name) outside the space it was given", () => {
    const hb = specOf(fixture("katib-hyperband"));
    const { spec: job } = trialJob(hb, "hyperband-1", { lr: 0.03, "num-layers": 5, optimizer: "ftrl", "num-epochs": 9 });
    assert.ok(job.command.includes("--num-epochs=9"));
    assert.deepEqual(job.labels, LABELS("hyperband", "hyperband-1"));
  });

  it("writes JSON text that reads back as the object it renders", () => {
    const spec = specOf(fixture("katib-medianstop"));
    const options = { trialName: "median-stop-1", assignment: { lr: 0.25, "num-epochs": 3 } };
    assert.deepEqual(JSON.parse(renderTrialManifest(spec, options)), renderTrialManifestObject(spec, options));
    // The template itself is left as it was.
    assert.ok(JSON.stringify(spec.trialTemplate.spec).includes("${trialParameters.learningRate}"));
  });
});
