import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseJobManifest } from "./job-manifest.js";
import { assertWholeSpec, violationsOf, where } from "./test-helpers.js";

const TRAINJOB = `apiVersion: trainer.kubeflow.org/v1alpha1
kind: TrainJob
metadata:
  name: llama-ft
  namespace: nlp
  labels:
    kueue.x-k8s.io/queue-name: a100
    kueue.x-k8s.io/priority-class: high
spec:
  runtimeRef:
    name: torch-distributed
    kind: ClusterTrainingRuntime
    apiGroup: trainer.kubeflow.org
  initializer:
    model:
      storageUri: hf://meta-llama/Llama-3.2-1B
  trainer:
    image: docker.io/pytorch/pytorch:2.3
    command: [torchrun, ft.py]
    args: [--epochs, "3"]
    numNodes: 2
    numProcPerNode: auto
    resourcesPerNode:
      limits: {nvidia.com/gpu: 4, cpu: 16, memory: 128Gi}
    env:
      - name: HF_HOME
        value: /cache
  podSpecOverrides:
    - targetJobs: [{name: node}]
      nodeSelector: {gpu: a100}
      tolerations: [{key: gpu, operator: Exists}]
  suspend: true
`;

describe("Kubeflow Trainer TrainJob", () => {
  it("reads resourcesPerNode with Kubernetes' meaning: requests, else limits, else none", () => {
    const resources = (block: string) => parseJobManifest(TRAINJOB.replace("      limits: {nvidia.com/gpu: 4, cpu: 16, memory: 128Gi}", block)).spec.resources;
    assert.deepEqual(resources("      limits: {nvidia.com/gpu: 4, cpu: 16, memory: 128Gi}\n      requests: {cpu: 8}"), { gpus: 4, gpuMilli: 0, cpuMilli: 8000, memoryMb: 131072 });
    assert.deepEqual(resources("      limits: {nvidia.com/gpu: 1}"), { gpus: 1, gpuMilli: 0, cpuMilli: 0, memoryMb: 0 });
    assert.deepEqual(parseJobManifest(TRAINJOB.replace("    resourcesPerNode:\n      limits: {nvidia.com/gpu: 4, cpu: 16, memory: 128Gi}\n", "")).spec.resources, { gpus: 0, gpuMilli: 0, cpuMilli: 0, memoryMb: 0 });
  });

  it("maps the trainer to replicas, resources and processes per node", () => {
    const { spec, warnings, source } = parseJobManifest(TRAINJOB);
    assert.equal(source, "trainer.kubeflow.org/v1alpha1/TrainJob");
    assertWholeSpec(spec);
    assert.deepEqual(spec, {
      name: "llama-ft",
      team: "nlp",
      labels: { "kueue.x-k8s.io/queue-name": "a100", "kueue.x-k8s.io/priority-class": "high" },
      queue: "a100",
      priority: 1000,
      replicas: 2,
      resources: { gpus: 4, gpuMilli: 0, cpuMilli: 16000, memoryMb: 131072 },
      command: ["torchrun", "ft.py"],
      args: ["--epochs", "3"],
      env: { HF_HOME: "/cache" },
      restartPolicy: "Never",
      backoffLimit: 0,
      suspend: true,
      distributed: { framework: "pytorch", nprocPerNode: 4 },
      image: "docker.io/pytorch/pytorch:2.3",
    });
    assert.deepEqual(warnings, ["accepted but ignored by this engine, which runs local processes rather than pods: spec.runtimeRef, spec.initializer, spec.trainer.image, spec.podSpecOverrides"]);
    assert.equal(spec.workingDir, undefined, "over the API (no base directory) a TrainJob has no working directory");
  });

  it("runs in the manifest's directory when submitted from a file (a TrainJob has no working directory)", () => {
    const { spec } = parseJobManifest(TRAINJOB, { file: "examples/ft/trainjob.yaml", baseDir: "/home/ann/examples/ft" });
    assert.equal(spec.workingDir, "/home/ann/examples/ft");
  });

  it("accepts the older modelConfig and datasetConfig fields and the rest of the spec", () => {
    const text = TRAINJOB.replace("  suspend: true\n", "  modelConfig: {input: {storageUri: s3://m}}\n  datasetConfig: {storageUri: s3://d}\n  labels: {a: b}\n  annotations: {c: d}\n  managedBy: kueue.x-k8s.io/multikueue\n");
    const { warnings } = parseJobManifest(text);
    assert.match(warnings[0] ?? "", /spec\.modelConfig, spec\.datasetConfig, spec\.labels, spec\.annotations, spec\.managedBy/);
  });

  it("asks for a command when the trainer only names an image", () => {
    const details = violationsOf(TRAINJOB.replace("    command: [torchrun, ft.py]\n", ""));
    assert.deepEqual(where(details), ["17:3 spec.trainer.command"]);
    assert.match(details[0]?.message ?? "", /this engine runs processes, not images: add `command`/);
  });

  it("rejects misspelt trainer fields and bad counts with their positions", () => {
    const details = violationsOf(TRAINJOB.replace("numNodes: 2", "numNodes: 0").replace("resourcesPerNode:", "resourcesPerNod:"));
    assert.deepEqual(where(details), ["21:15 spec.trainer.numNodes", "23:5 spec.trainer.resourcesPerNod"]);
    assert.equal(details[1]?.hint, "did you mean `resourcesPerNode`?");
  });
});
