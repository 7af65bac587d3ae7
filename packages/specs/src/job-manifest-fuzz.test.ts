import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import fc from "fast-check";
import { parse as parseYaml, stringify } from "yaml";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseJobManifest } from "./job-manifest.js";
import { manifestValues, mutate, pathsOf } from "./fuzz-kit.js";
import { assertWholeSpec } from "./test-helpers.js";

/** Either a whole spec or one InvalidArgument SwitchyardError whose every violation says where, what and how to fix. */
function parsesWholeOrRefuses(text: string): void {
  let result: ReturnType<typeof parseJobManifest>;
  try {
    result = parseJobManifest(text, { file: "fuzz.yaml" });
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
  assertWholeSpec(result.spec);
  assert.ok(result.warnings.every((w) => typeof w === "string"));
}

const FIELDS = [
  "apiVersion", "kind", "metadata", "spec", "name", "generateName", "namespace", "team", "labels", "queue", "priority", "replicas",
  "resources", "gpus", "cpu", "memory", "gpuType", "limits", "requests", "nvidia.com/gpu", "command", "args", "env", "value", "valueFrom",
  "workingDir", "restartPolicy", "backoffLimit", "suspend", "distributed", "nprocPerNode", "image", "roles", "runPolicy", "schedulingPolicy",
  "priorityClass", "pytorchReplicaSpecs", "Master", "Worker", "template", "containers", "volumes", "trainer", "numNodes", "numProcPerNode",
  "resourcesPerNode", "runtimeRef", "elasticPolicy", "nProcPerNode", "nmae", "__proto__", "constructor",
  "secret", "secretKeyRef", "key", "optional", "configMapKeyRef",
];
const scalar = fc.oneof(
  fc.constantFrom("500m", "4Gi", "auto", "pytorch", "Never", "OnFailure", "Always", "Master", "x", "", "-1", "1.5", "switchyard/v1", "kubeflow.org/v1", "Job", "PyTorchJob", "TrainJob"),
  fc.integer({ min: -3, max: 5 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.string({ maxLength: 6 }),
);
const value = manifestValues(FIELDS, scalar);

const FIXTURES = [
  readFileSync(new URL("./testdata/pytorchjob-full.yaml", import.meta.url), "utf8"),
  "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a, labels: {x: y}}\nspec:\n  command: [python]\n  resources: {gpus: 0.5, cpu: 2, memory: 1Gi}\n  env: [{name: A, value: b}]\n  distributed: {nprocPerNode: auto}\n  roles:\n    - {name: Master, replicas: 1}\n    - {name: Worker, replicas: 2, env: {B: c}}\n",
  "apiVersion: trainer.kubeflow.org/v1alpha1\nkind: TrainJob\nmetadata: {name: t}\nspec:\n  trainer: {command: [x], numNodes: 2, resourcesPerNode: {limits: {nvidia.com/gpu: 1}}, env: [{name: A, value: b}, {name: S, valueFrom: {secretKeyRef: {name: s, key: k, optional: true}}}]}\n",
  "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: s}\nspec:\n  command: [x]\n  env: {A: b, R: {secretKeyRef: {name: wandb, key: api-key}}, I: {value: v, secret: true}}\n  roles:\n    - {name: Master, replicas: 1}\n    - {name: Worker, replicas: 1, env: [{name: R, valueFrom: {secretKeyRef: {name: s, key: k}}}, {name: I, value: v, secret: true}]}\n",
].map((t) => parseYaml(t) as unknown);


describe("parseJobManifest on arbitrary input", () => {
  it("never throws anything but InvalidArgument for random text", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 200 }), parsesWholeOrRefuses), { numRuns: 300 });
    fc.assert(fc.property(fc.stringMatching(/^[a-z{}[\]:,\-\n "'&*!|>#0-9.]{0,120}$/), parsesWholeOrRefuses), { numRuns: 300 });
  });

  it("never throws anything but InvalidArgument for random JSON", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => parsesWholeOrRefuses(JSON.stringify(v) ?? "null")), { numRuns: 200 });
  });

  it("returns a whole spec or refuses random manifests built from the real field names", () => {
    const manifest = fc.record(
      {
        apiVersion: fc.constantFrom("switchyard/v1", "kubeflow.org/v1", "trainer.kubeflow.org/v1alpha1", "v1"),
        kind: fc.constantFrom("Job", "PyTorchJob", "TrainJob", "Pod"),
        metadata: value,
        spec: value,
      },
      { requiredKeys: ["apiVersion", "kind"] },
    );
    fc.assert(fc.property(manifest, (m) => parsesWholeOrRefuses(stringify(m))), { numRuns: 400 });
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
      { numRuns: 400 },
    );
  });
});
