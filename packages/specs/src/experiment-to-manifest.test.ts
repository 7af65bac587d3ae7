import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { parseExperimentManifest } from "./experiment-manifest.js";
import type { ExperimentParameter, ExperimentSpec, MetricsCollector, TrialParameter } from "./experiment-spec.js";
import { DEFAULT_METRICS_REGEX } from "./experiment-spec.js";
import { experimentSpecToManifest, experimentSpecToManifestObject } from "./experiment-to-manifest.js";
import { assertWholeExperiment } from "./test-helpers.js";

const FIXTURES = ["katib-random-batchjob", "katib-tpe-pytorchjob", "katib-hyperband", "katib-medianstop", "experiment-native"];
const fixture = (name: string) => readFileSync(new URL(`./testdata/${name}.yaml`, import.meta.url), "utf8");

const label = fc.stringMatching(/^[a-z][-a-z0-9]{0,10}[a-z0-9]$/);
const name = fc.stringMatching(/^[a-z][a-z0-9_-]{0,7}$/);
const num = fc.double({ min: -1e6, max: 1e6, noNaN: true, noDefaultInfinity: true }).map((n) => (Object.is(n, -0) ? 0 : n));
const text = fc.string({ unit: "grapheme", maxLength: 8 });

/** A parameter of each type, within the rules: min < max, whole ints, steps within the range, log only above 0. */
const parameterOf = (n: string): fc.Arbitrary<ExperimentParameter> =>
  fc.oneof(
    fc.tuple(num, fc.double({ min: 1e-3, max: 1e3, noNaN: true }), fc.option(fc.double({ min: 0, max: 1, noNaN: true, minExcluded: true }), { nil: undefined }), fc.option(fc.boolean(), { nil: undefined }))
      .map(([min, width, stepShare, log]): ExperimentParameter => {
        const lo = log === true ? Math.abs(min) + 1e-3 : min;
        const p: ExperimentParameter = { name: n, type: "double", min: lo, max: lo + width };
        if (stepShare !== undefined && (p.max ?? 0) - lo > 0) p.step = ((p.max ?? 0) - lo) * stepShare;
        if (log !== undefined) p.log = log;
        return p;
      })
      .filter((p) => (p.max ?? 0) > (p.min ?? 0) && (p.step === undefined || (p.step > 0 && p.step <= (p.max ?? 0) - (p.min ?? 0)))),
    fc.tuple(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: 1, max: 1000 }), fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }))
      .map(([min, width, step]): ExperimentParameter => ({ name: n, type: "int", min, max: min + width, ...(step !== undefined ? { step: Math.min(step, width) } : {}) })),
    fc.uniqueArray(num, { minLength: 1, maxLength: 5 }).map((xs): ExperimentParameter => ({ name: n, type: "discrete", list: xs.map(String) })),
    fc.uniqueArray(text, { minLength: 1, maxLength: 5 }).map((xs): ExperimentParameter => ({ name: n, type: "categorical", list: xs })),
  );

const collector: fc.Arbitrary<MetricsCollector> = fc.oneof(
  fc.constant<MetricsCollector>({ kind: "StdOut", filters: [DEFAULT_METRICS_REGEX] }),
  fc.constant<MetricsCollector>({ kind: "StdOut", filters: ["(\\w+):\\s*(\\S+)", DEFAULT_METRICS_REGEX] }),
  fc.constant<MetricsCollector>({ kind: "None" }),
  fc.tuple(fc.stringMatching(/^[a-z]{1,6}\.(log|txt|jsonl)$/), fc.boolean()).map(([path, json]): MetricsCollector => (json ? { kind: "File", path, format: "JSON", filters: [] } : { kind: "File", path, format: "TEXT", filters: [DEFAULT_METRICS_REGEX] })),
);

const settings = fc.dictionary(fc.stringMatching(/^[a-z][a-z_]{0,8}$/), text, { maxKeys: 3, noNullPrototype: true });

const experimentSpec: fc.Arbitrary<ExperimentSpec> = fc
  .record({
    name: label,
    team: label,
    queue: fc.option(label, { nil: undefined }),
    names: fc.uniqueArray(name, { minLength: 1, maxLength: 4 }),
    metrics: fc.uniqueArray(fc.stringMatching(/^[A-Za-z][\w-]{0,8}$/), { minLength: 1, maxLength: 3 }),
    strategies: fc.array(fc.constantFrom("min" as const, "max" as const, "latest" as const), { minLength: 3, maxLength: 3 }),
    type: fc.constantFrom("minimize" as const, "maximize" as const),
    goal: fc.option(num, { nil: undefined }),
    algorithm: fc.record({ name: fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), settings }, { noNullPrototype: true }),
    earlyStopping: fc.option(fc.record({ name: fc.constantFrom("medianstop", "asha"), settings }, { noNullPrototype: true }), { nil: undefined }),
    parallel: fc.integer({ min: 1, max: 64 }),
    extra: fc.option(fc.nat(100), { nil: undefined }),
    failed: fc.option(fc.nat(100), { nil: undefined }),
    resumePolicy: fc.constantFrom("Never" as const, "LongRunning" as const, "FromVolume" as const),
    metricsCollector: collector,
    described: fc.boolean(),
    format: fc.constantFrom("native" as const, "batchjob" as const),
  }, { noNullPrototype: true })
  .chain((g) => fc.tuple(fc.constant(g), fc.tuple(...g.names.map(parameterOf))))
  .map(([g, parameters]): ExperimentSpec => {
    const trialParameters: TrialParameter[] = g.names.map((n) => (g.described ? { name: `tp_${n}`, reference: n, description: `value of ${n}` } : { name: n, reference: n }));
    const command = ["python", "train.py", ...trialParameters.map((tp) => `--${tp.reference}=\${trialParameters.${tp.name}}`)];
    const spec: ExperimentSpec = {
      name: g.name,
      team: g.team,
      objective: {
        type: g.type, metric: g.metrics[0] ?? "loss", additionalMetrics: g.metrics.slice(1),
        strategies: Object.fromEntries(g.metrics.map((m, i) => [m, g.strategies[i] ?? "min"])),
        ...(g.goal !== undefined ? { goal: g.goal } : {}),
      },
      algorithm: g.algorithm,
      parameters,
      trialTemplate: g.format === "native"
        ? { format: "native", trialParameters, spec: { apiVersion: "switchyard/v1", kind: "Job", spec: { command, resources: { gpus: 1 } } } }
        : {
            format: "batchjob", primaryContainerName: "train", trialParameters,
            spec: { apiVersion: "batch/v1", kind: "Job", spec: { template: { spec: { containers: [{ name: "train", command }], restartPolicy: "Never" } } } },
          },
      parallelTrialCount: g.parallel,
      resumePolicy: g.resumePolicy,
      metricsCollector: g.metricsCollector,
    };
    if (g.queue !== undefined) spec.queue = g.queue;
    if (g.earlyStopping !== undefined) spec.earlyStopping = g.earlyStopping;
    if (g.extra !== undefined) spec.maxTrialCount = Math.min(10_000, g.parallel + g.extra);
    if (g.failed !== undefined) spec.maxFailedTrialCount = Math.min(g.failed, spec.maxTrialCount ?? 10_000);
    return spec;
  });

describe("experimentSpecToManifest", () => {
  it("writes every default out, and short forms where they say the same", () => {
    const { spec } = parseExperimentManifest("apiVersion: switchyard/v1\nkind: Experiment\nmetadata: {name: e}\nspec:\n  objective: {metric: loss, type: minimize}\n  algorithm: random\n  parameters: {lr: [a, b]}\n  trial: {command: [x, '${lr}']}\n");
    assert.deepEqual(experimentSpecToManifestObject(spec), {
      apiVersion: "switchyard/v1",
      kind: "Experiment",
      metadata: { name: "e", team: "default" },
      spec: {
        objective: { metric: "loss", type: "minimize", additionalMetrics: [], strategies: { loss: "min" } },
        algorithm: "random",
        parameters: { lr: { type: "categorical", list: ["a", "b"] } },
        trial: { command: ["x", "${trialParameters.lr}"] },
        trials: { parallel: 3 },
        resumePolicy: "LongRunning",
        metricsCollector: { kind: "StdOut", filters: [DEFAULT_METRICS_REGEX] },
      },
    });
  });

  it("prints every example, Katib's or native, as a native manifest that reads back to the same spec", () => {
    for (const f of FIXTURES) {
      const parsed = parseExperimentManifest(fixture(f));
      const back = parseExperimentManifest(experimentSpecToManifest(parsed.spec), { file: `${f}.printed.yaml` });
      assert.equal(back.source, "native");
      assert.deepEqual(back.spec, parsed.spec, f);
      // What Katib has and the spec does not (retain, conditions) is gone; what the trial ignores is still said.
      assert.ok(back.warnings.every((w) => !w.includes("retain") && !w.includes("Condition")), f);
    }
  });

  it("round-trips any valid ExperimentSpec through YAML and through JSON", () => {
    fc.assert(
      fc.property(experimentSpec, (spec) => {
        const viaYaml = parseExperimentManifest(experimentSpecToManifest(spec));
        assertWholeExperiment(viaYaml.spec);
        assert.deepEqual(viaYaml.spec, spec);
        assert.deepEqual(parseExperimentManifest(JSON.stringify(experimentSpecToManifestObject(spec))).spec, spec);
      }),
      { numRuns: 200 },
    );
  });
});
