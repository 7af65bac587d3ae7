// The metrics filters an experiment may carry: the user's regular expressions, run on every line a trial prints, in
// the experiments service's one thread. A pattern that can take exponential time on one line is refused by name.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { DEFAULT_METRICS_REGEX } from "./experiment-spec.js";
import { nestedRepetition } from "./experiment-fields.js";
import { parseExperimentManifest } from "./experiment-manifest.js";

describe("metrics filters", () => {
  it("refuses nested unbounded repetition and repeated alternation, and takes Katib's own filters", () => {
    for (const slow of ["(a+)+$", "(a|aa)*", "([a-z]+)*=(\\d+)", "((a+)?)+", "(x*){2,}"]) assert.match(nestedRepetition(slow) ?? "", /exponential time/, slow);
    for (const fine of [DEFAULT_METRICS_REGEX, "([\\w|-]+)=([0-9.]+)", "((-?\\d+)(\\.\\d+)?)", "(ab){2,3}", "(a*)?", "[(a+)+]"]) assert.equal(nestedRepetition(fine), undefined, fine);
  });

  it("reports such a filter at its line, and the time it takes to check is the pattern's, not the input's", () => {
    const manifest = `apiVersion: kubeflow.org/v1beta1
kind: Experiment
metadata: {name: slow, namespace: default}
spec:
  objective: {type: minimize, objectiveMetricName: loss}
  algorithm: {algorithmName: random}
  parameters:
  - {name: lr, parameterType: double, feasibleSpace: {min: "0.01", max: "0.1"}}
  metricsCollectorSpec:
    collector: {kind: StdOut}
    source:
      filter:
        metricsFormat: ["([a-z]+)*=(\\\\d+)"]
  trialTemplate:
    trialParameters: [{name: lr, reference: lr}]
    trialSpec:
      apiVersion: switchyard/v1
      kind: Job
      spec: {command: [/bin/echo, "loss=\${trialParameters.lr}"]}
`;
    assert.throws(() => parseExperimentManifest(manifest, { file: "slow.yaml" }), (e: Error) => /slow\.yaml:13:\d+/.test(e.message) && /exponential time/.test(e.message));
  });
});
