import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { parse as parseYaml, stringify } from "yaml";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseExperimentManifest } from "./experiment-manifest.js";
import { sampleValue } from "./experiment-parameters.js";
import { renderTrialManifest } from "./experiment-render.js";
import { manifestValues, mutate, pathsOf } from "./fuzz-kit.js";
import { parseJobManifest } from "./job-manifest.js";
import { assertWholeExperiment, assertWholeSpec } from "./test-helpers.js";

/**
 * Either a whole spec, whose trial renders (with the values it was checked with) into a job the job parser accepts,
 * or one InvalidArgument SwitchyardError whose every violation says where, what and how to fix.
 */
function parsesWholeOrRefuses(text: string): void {
  let result: ReturnType<typeof parseExperimentManifest>;
  try {
    result = parseExperimentManifest(text, { file: "fuzz.yaml", checkAlgorithm: () => [] });
  } catch (err) {
    assert.ok(err instanceof SwitchyardError, `threw ${String(err)}`);
    assert.equal(err.code, Code.InvalidArgument, err.message);
    assert.ok(err.details.length > 0);
    for (const d of err.details) {
      assert.ok(d.field.length > 0 && d.message.length > 0 && (d.hint ?? "").length > 0, JSON.stringify(d));
      assert.ok(Number.isInteger(d.line) && (d.line ?? 0) >= 1 && Number.isInteger(d.column) && (d.column ?? 0) >= 1, JSON.stringify(d));
      assert.equal(d.file, "fuzz.yaml");
    }
    return;
  }
  const { spec, warnings } = result;
  assertWholeExperiment(spec);
  assert.ok(warnings.every((w) => typeof w === "string"));
  const assignment = Object.fromEntries(spec.parameters.map((p) => [p.name, sampleValue(p)]));
  const job = parseJobManifest(renderTrialManifest(spec, { trialName: `${spec.name}-fuzz0000`, assignment }));
  assertWholeSpec(job.spec);
  assert.equal(job.spec.name, `${spec.name}-fuzz0000`);
  assert.equal(job.spec.labels["experiments.switchyard.io/trial"], `${spec.name}-fuzz0000`);
}

/** The one error a manifest too big or too deep to read gets, before any recursive parser runs. */
function refusedAsTooLarge(text: string, pattern: RegExp): void {
  assert.throws(() => parseExperimentManifest(text, { file: "big.yaml" }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && pattern.test(e.message));
}

const FIELDS = [
  "apiVersion", "kind", "metadata", "spec", "name", "namespace", "team", "labels", "objective", "type", "goal", "objectiveMetricName",
  "additionalMetricNames", "metricStrategies", "value", "metric", "additionalMetrics", "strategies", "algorithm", "algorithmName", "algorithmSettings",
  "settings", "earlyStopping", "parameters", "parameterType", "feasibleSpace", "min", "max", "step", "list", "distribution", "log", "trialTemplate",
  "trialParameters", "reference", "description", "trialSpec", "primaryContainerName", "trial", "trials", "parallel", "maxFailed", "parallelTrialCount",
  "maxTrialCount", "maxFailedTrialCount", "resumePolicy", "metricsCollectorSpec", "metricsCollector", "collector", "source", "filter", "metricsFormat",
  "fileSystemPath", "path", "format", "filters", "nasConfig", "configMap", "retain", "command", "args", "env", "template", "containers",
  "pytorchReplicaSpecs", "Master", "Worker", "replicas", "resources", "restartPolicy", "queue", "lr", "kueue.x-k8s.io/queue-name", "nmae", "__proto__", "constructor",
];
const scalar = fc.oneof(
  fc.constantFrom("minimize", "maximize", "double", "int", "discrete", "categorical", "random", "tpe", "medianstop", "0.01", "1e-3", "-1", "", "lr", "loss", "pytorch", "Never"),
  fc.constantFrom("${trialParameters.lr}", "${lr}", "${trialSpec.Name}", "${trialSpec.Labels[a]}", "--lr=${trialParameters.lr}", "${HOME}", "${trialParameters.}"),
  fc.constantFrom("StdOut", "File", "None", "TensorFlowEvent", "TEXT", "JSON", "uniform", "logUniform", "normal", "([\\w|-]+)=(\\d+)", "(", "(a)"),
  fc.constantFrom("kubeflow.org/v1beta1", "switchyard/v1", "batch/v1", "kubeflow.org/v1", "Experiment", "Job", "PyTorchJob", "TFJob"),
  fc.integer({ min: -3, max: 70 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 6 }),
);
const value = manifestValues(FIELDS, scalar);

const FIXTURES = ["katib-random-batchjob", "katib-tpe-pytorchjob", "katib-hyperband", "katib-medianstop", "experiment-native"].map(
  (f) => parseYaml(readFileSync(new URL(`./testdata/${f}.yaml`, import.meta.url), "utf8")) as unknown,
);

describe("parseExperimentManifest on arbitrary input", () => {
  it("never throws anything but InvalidArgument for random text and JSON", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), parsesWholeOrRefuses), { numRuns: 200 });
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => parsesWholeOrRefuses(JSON.stringify(v) ?? "null")), { numRuns: 200 });
  });

  it("returns a whole spec or refuses random manifests built from the real field names", () => {
    const manifest = fc.record(
      { apiVersion: fc.constantFrom("switchyard/v1", "kubeflow.org/v1beta1"), kind: fc.constantFrom("Experiment", "Job"), metadata: value, spec: value },
      { requiredKeys: ["apiVersion", "kind"] },
    );
    fc.assert(fc.property(manifest, (m) => parsesWholeOrRefuses(stringify(m))), { numRuns: 300 });
  });

  it("returns a whole spec, whose trials render into jobs, or refuses valid experiments with random parts replaced or removed", () => {
    const mutation = fc.tuple(fc.nat(), value, fc.boolean());
    const arb = fc.tuple(fc.constantFrom(...FIXTURES), fc.array(mutation, { minLength: 1, maxLength: 3 }));
    fc.assert(
      fc.property(arb, ([fixture, mutations]) => {
        let doc = fixture;
        for (const [i, next, remove] of mutations) {
          const paths = pathsOf(doc);
          doc = mutate(doc, paths[i % paths.length] ?? [], next, remove);
        }
        parsesWholeOrRefuses(stringify(doc));
        parsesWholeOrRefuses(JSON.stringify(doc));
      }),
      { numRuns: 300 },
    );
  });

  it("refuses huge, deeply nested and alias-expanded documents before parsing them whole", () => {
    const head = "apiVersion: switchyard/v1\nkind: Experiment\nmetadata: {name: a}\nspec:\n  algorithm: random\n";
    refusedAsTooLarge(`${head}  x: "${"a".repeat(2 * 1024 * 1024)}"\n`, /over the limit/);
    refusedAsTooLarge(`${head}  x: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`, /nests deeper than/);
    refusedAsTooLarge(`{"apiVersion": "switchyard/v1", "kind": "Experiment", "x": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`, /nests deeper than/);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(",")}]`)].join("\n");
    refusedAsTooLarge(`${head}${bomb}\n`, /too large once aliases are expanded/);
  });

  it("refuses a trial template whose placeholders could render a trial larger than a job manifest may be", () => {
    const values = Array.from({ length: 1000 }, (_, i) => `'${String(i).padStart(4, "0")}${"v".repeat(1000)}'`).join(", ");
    const placeholders = Array.from({ length: 2000 }, () => "'${x}'").join(", ");
    const text = `apiVersion: switchyard/v1\nkind: Experiment\nmetadata: {name: a}\nspec:\n  objective: {metric: loss, type: minimize, goal: 0}\n  algorithm: random\n  parameters:\n    x: [${values}]\n  trial: {command: [${placeholders}]}\n`;
    assert.throws(() => parseExperimentManifest(text), (e: unknown) => e instanceof SwitchyardError && e.details.some((d) => d.field === "spec.trial" && /more than a job manifest may be/.test(d.message)));
  });
});
