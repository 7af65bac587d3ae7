import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { parseDeploymentManifest } from "./deployment-manifest.js";
import type { DeploymentBatching, DeploymentModel, DeploymentSpec } from "./deployment-spec.js";
import { deploymentSpecToManifest, deploymentSpecToManifestObject } from "./deployment-to-manifest.js";

const label = fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?$/);
const text = fc.string({ unit: "grapheme", maxLength: 12 });
const absPath = fc.array(fc.stringMatching(/^[a-z0-9_.-]{1,8}$/).filter((s) => s !== "." && s !== ".."), { minLength: 1, maxLength: 3 }).map((p) => `/${p.join("/")}`);
const relPath = absPath.map((p) => p.slice(1));
const storageUri = fc.oneof(
  absPath.map((p) => `file://${p}`),
  fc.tuple(label, relPath).map(([job, p]) => `job://${job}/${p}`),
  fc.tuple(label, fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: undefined })).map(([name, v]) => (v === undefined ? `models://${name}` : `models://${name}@${v}`)),
);
const envName = fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,10}$/);
const env = fc.uniqueArray(fc.record({ name: envName, value: text }, { noNullPrototype: true }), { selector: (e) => e.name, maxLength: 4 });

const model: fc.Arbitrary<DeploymentModel> = fc.oneof(
  storageUri.map((storageUri): DeploymentModel => ({ format: "onnx", storageUri })),
  fc
    .record(
      { storageUri, command: fc.array(text, { minLength: 1, maxLength: 3 }), args: fc.array(text, { maxLength: 3 }), env, workingDir: absPath },
      { requiredKeys: ["command"] },
    )
    .map((m): DeploymentModel => ({ format: "custom", ...m })),
);

const batching: fc.Arbitrary<DeploymentBatching> = fc
  .record({
    maxBatchSize: fc.integer({ min: 1, max: 1024 }),
    maxQueueDelayMicroseconds: fc.nat(10 ** 9),
    sizes: fc.uniqueArray(fc.integer({ min: 1, max: 1024 }), { maxLength: 5 }),
    maxQueueSize: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    queueTimeoutMicroseconds: fc.integer({ min: 1, max: 10 ** 12 }),
  })
  .map(({ sizes, ...b }) => ({ ...b, preferredBatchSizes: sizes.filter((s) => s <= b.maxBatchSize).sort((x, y) => x - y) }));

const deploymentSpec: fc.Arbitrary<DeploymentSpec> = fc
  .record({
    name: label,
    team: label,
    labels: fc.dictionary(fc.stringMatching(/^[a-z]([-a-z0-9_.]{0,8}[a-z0-9])?$/), fc.stringMatching(/^([A-Za-z0-9]([-A-Za-z0-9_.]{0,8}[A-Za-z0-9])?)?$/), { minKeys: 1, maxKeys: 3, noNullPrototype: true }),
    model,
    gpus: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.integer({ min: 1, max: 999 }).map((m) => m / 1000)),
    cpu: fc.integer({ min: 1, max: 256_000 }).map((m) => m / 1000),
    memoryBytes: fc.integer({ min: 1, max: 2 ** 42 }),
    minReplicas: fc.integer({ min: 0, max: 64 }),
    extraReplicas: fc.nat(64),
    scaleMetric: fc.constantFrom("concurrency" as const, "rps" as const),
    scaleTarget: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    containerConcurrency: fc.integer({ min: 0, max: 1000 }),
    timeoutSeconds: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
    canaryTrafficPercent: fc.integer({ min: 0, max: 100 }),
    batching,
    priorityClassName: fc.oneof(fc.constantFrom("low", "default", "normal", "medium", "high", "critical"), fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }).map(String)),
    queue: fc.array(label, { minLength: 1, maxLength: 2 }).map((p) => p.join(".")),
  }, { requiredKeys: ["name", "team", "model", "gpus", "cpu", "memoryBytes", "minReplicas", "extraReplicas", "scaleMetric", "scaleTarget", "containerConcurrency", "timeoutSeconds"] })
  .map(({ gpus, cpu, memoryBytes, extraReplicas, ...g }) => ({
    ...g,
    resources: { gpus, cpu, memoryBytes },
    maxReplicas: Math.min(64, Math.max(g.minReplicas, 1) + extraReplicas),
  }));

describe("deploymentSpecToManifest", () => {
  it("writes every default out so that a reader sees what will run", () => {
    const { spec } = parseDeploymentManifest("apiVersion: switchyard/v1\nkind: Deployment\nmetadata: {name: a}\nspec: {model: models://a@1}\n");
    assert.deepEqual(deploymentSpecToManifestObject(spec), {
      apiVersion: "switchyard/v1",
      kind: "Deployment",
      metadata: { name: "a", team: "default" },
      spec: {
        model: { format: "onnx", storageUri: "models://a@1" },
        minReplicas: 1, maxReplicas: 1, resources: { gpus: 0, cpu: 1, memory: "1Gi" }, autoscaling: { metric: "concurrency", target: 4 },
        containerConcurrency: 0, timeoutSeconds: 60,
      },
    });
  });

  it("prints an InferenceService as a native manifest that reads back to the same spec", () => {
    const parsed = parseDeploymentManifest(readFileSync(new URL("./testdata/inferenceservice-full.yaml", import.meta.url), "utf8"));
    const back = parseDeploymentManifest(deploymentSpecToManifest(parsed.spec));
    assert.equal(back.source, "switchyard/v1/Deployment");
    assert.deepEqual(back.spec, parsed.spec);
    assert.deepEqual(back.warnings, []);
  });

  it("round-trips any valid DeploymentSpec through YAML and through JSON", () => {
    fc.assert(
      fc.property(deploymentSpec, (spec) => {
        const viaYaml = parseDeploymentManifest(deploymentSpecToManifest(spec));
        assert.deepEqual(viaYaml.spec, spec);
        assert.deepEqual(viaYaml.warnings, []);
        assert.deepEqual(parseDeploymentManifest(JSON.stringify(deploymentSpecToManifestObject(spec))).spec, spec);
      }),
      { numRuns: 300 },
    );
  });
});
