import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { parse as parseYaml, stringify } from "yaml";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseDeploymentManifest } from "./deployment-manifest.js";
import { manifestValues, mutate, pathsOf } from "./fuzz-kit.js";
import { assertWholeDeployment } from "./test-helpers.js";

/** Either a whole spec or one InvalidArgument SwitchyardError whose every violation says where, what and how to fix. */
function parsesWholeOrRefuses(text: string): void {
  let result: ReturnType<typeof parseDeploymentManifest>;
  try {
    result = parseDeploymentManifest(text, { file: "fuzz.yaml" });
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
  assertWholeDeployment(result.spec);
  assert.ok(result.warnings.every((w) => typeof w === "string"));
}

/** The one error a manifest too big or too deep to read gets, before any recursive parser runs. */
function refusedAsTooLarge(text: string, pattern: RegExp): void {
  assert.throws(() => parseDeploymentManifest(text, { file: "big.yaml" }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && pattern.test(e.message));
}

const FIELDS = [
  "apiVersion", "kind", "metadata", "spec", "name", "namespace", "team", "labels", "annotations", "predictor", "model", "modelFormat",
  "storageUri", "protocolVersion", "runtime", "containers", "command", "args", "env", "value", "valueFrom", "workingDir", "image", "ports",
  "resources", "limits", "requests", "nvidia.com/gpu", "cpu", "memory", "gpus", "minReplicas", "maxReplicas", "replicas", "scaleMetric",
  "scaleTarget", "autoscaling", "metric", "target", "containerConcurrency", "timeout", "timeoutSeconds", "canaryTrafficPercent", "batcher",
  "maxBatchSize", "maxLatency", "batching", "preferredBatchSizes", "maxQueueSize", "queueTimeoutMicroseconds", "priorityClassName", "queue",
  "transformer", "explainer", "sklearn", "serving.switchyard.io/preferred-batch-sizes", "serving.switchyard.io/max-queue-size",
  "kueue.x-k8s.io/queue-name", "format", "nmae", "__proto__", "constructor",
];
const scalar = fc.oneof(
  fc.constantFrom("onnx", "custom", "v1", "v2", "rps", "cpu", "concurrency", "models://a@1", "job://j/m.onnx", "file:///m.onnx", "s3://b/m", "8,16", "x,1", "500m", "4Gi", "high", "", "-1"),
  fc.constantFrom("switchyard/v1", "serving.kserve.io/v1beta1", "Deployment", "InferenceService"),
  fc.integer({ min: -3, max: 70 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 6 }),
);
const value = manifestValues(FIELDS, scalar);

const FIXTURES = [
  readFileSync(new URL("./testdata/inferenceservice-full.yaml", import.meta.url), "utf8"),
  "apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata: {name: c}\nspec:\n  predictor:\n    batcher: {maxBatchSize: 4}\n    containers:\n      - name: s\n        command: [serve]\n        args: [a]\n        env: [{name: A, value: b}]\n        resources: {requests: {cpu: 1}, limits: {nvidia.com/gpu: 1}}\n",
  "apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: n, team: t, labels: {a: b}}\nspec:\n  model: {format: custom, command: [x], env: {A: b}, storageUri: models://m}\n  minReplicas: 0\n  maxReplicas: 3\n  resources: {gpus: 0.5, cpu: 2, memory: 1Gi}\n  autoscaling: {metric: rps, target: 5}\n  batching: {maxBatchSize: 8, preferredBatchSizes: [2, 4]}\n  priorityClassName: low\n  queue: q\n",
].map((t) => parseYaml(t) as unknown);


describe("parseDeploymentManifest on arbitrary input", () => {
  it("never throws anything but InvalidArgument for random text and JSON", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), parsesWholeOrRefuses), { numRuns: 200 });
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => parsesWholeOrRefuses(JSON.stringify(v) ?? "null")), { numRuns: 200 });
  });

  it("returns a whole spec or refuses random manifests built from the real field names", () => {
    const manifest = fc.record(
      { apiVersion: fc.constantFrom("switchyard/v1", "serving.kserve.io/v1beta1"), kind: fc.constantFrom("Deployment", "InferenceService", "Job"), metadata: value, spec: value },
      { requiredKeys: ["apiVersion", "kind"] },
    );
    fc.assert(fc.property(manifest, (m) => parsesWholeOrRefuses(stringify(m))), { numRuns: 300 });
  });

  it("returns a whole spec or refuses valid manifests with random parts replaced or removed", () => {
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
    const head = "apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: a}\nspec:\n  model: models://a\n";
    refusedAsTooLarge(`${head}  x: "${"a".repeat(2 * 1024 * 1024)}"\n`, /over the limit/);
    refusedAsTooLarge(`${head}  x: ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`, /nests deeper than/);
    refusedAsTooLarge(`{"apiVersion": "switchyard/v1", "kind": "Deployment", "x": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`, /nests deeper than/);
    const bomb = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]', ...Array.from({ length: 8 }, (_, i) => `${String.fromCharCode(98 + i)}: &${String.fromCharCode(98 + i)} [${Array(10).fill(`*${String.fromCharCode(97 + i)}`).join(",")}]`)].join("\n");
    refusedAsTooLarge(`${head}${bomb}\n`, /too large once aliases are expanded/);
  });
});
