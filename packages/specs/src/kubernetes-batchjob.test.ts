import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseJobManifest } from "./job-manifest.js";
import { jobSpecToManifest } from "./job-to-manifest.js";
import { assertWholeSpec, violationsOf, where } from "./test-helpers.js";

const FULL = `apiVersion: batch/v1
kind: Job
metadata:
  name: mnist
  namespace: vision
  labels:
    kueue.x-k8s.io/queue-name: gpu
  annotations:
    owner: alice
spec:
  backoffLimit: 2
  activeDeadlineSeconds: 3600
  ttlSecondsAfterFinished: 600
  completions: 1
  parallelism: 1
  template:
    spec:
      priorityClassName: high
      nodeSelector: {nvidia.com/gpu.product: A100}
      containers:
        - name: train
          image: pytorch/pytorch:2.3
          command: [python, train.py]
          args: [--epochs, "3"]
          workingDir: /srv/mnist
          env:
            - {name: LR, value: "0.1"}
            - name: WANDB_API_KEY
              valueFrom: {secretKeyRef: {name: wandb, key: api-key}}
          resources:
            requests: {cpu: "2", memory: 4Gi}
            limits: {nvidia.com/gpu: 1}
      restartPolicy: OnFailure
`;

/** The fixture with line `n` (1-based) replaced, so every other line keeps its number. */
function withLine(n: number, line: string, text = FULL): string {
  const lines = text.split("\n");
  assert.ok(lines[n - 1] !== undefined);
  lines[n - 1] = line;
  return lines.join("\n");
}

const MINIMAL = "apiVersion: batch/v1\nkind: Job\nmetadata: {name: j}\nspec:\n  template:\n    spec:\n      containers: [{name: c, command: [x]}]\n";

describe("Kubernetes batch/v1 Job", () => {
  it("reads a job's one container as one replica, with one warning for what it ignores", () => {
    const { spec, warnings, source } = parseJobManifest(FULL, { file: "job.yaml" });
    assert.equal(source, "batch/v1/Job");
    assertWholeSpec(spec);
    assert.deepEqual(spec, {
      name: "mnist",
      team: "vision",
      labels: { "kueue.x-k8s.io/queue-name": "gpu" },
      queue: "gpu",
      priority: 1000,
      replicas: 1,
      resources: { gpus: 1, gpuMilli: 0, cpuMilli: 2000, memoryMb: 4096 },
      command: ["python", "train.py"],
      args: ["--epochs", "3"],
      workingDir: "/srv/mnist",
      env: { LR: "0.1" },
      secretEnv: { WANDB_API_KEY: { kind: "ref", secret: "wandb", key: "api-key" } },
      restartPolicy: "OnFailure",
      backoffLimit: 2,
      activeDeadlineSeconds: 3600,
      ttlSecondsAfterFinished: 600,
      suspend: false,
      image: "pytorch/pytorch:2.3",
    });
    assert.deepEqual(warnings, ["accepted but ignored by this engine, which runs local processes rather than pods: metadata.annotations, spec.template.spec.nodeSelector, spec.template.spec.containers[0].image"]);
  });

  it("fills Kubernetes' defaults: restartPolicy Never, backoffLimit 6, the default team and queue", () => {
    const { spec, warnings } = parseJobManifest(MINIMAL);
    assert.deepEqual(warnings, []);
    assert.deepEqual([spec.team, spec.queue, spec.priority, spec.restartPolicy, spec.backoffLimit, spec.replicas], ["default", "default", 0, "Never", 6, 1]);
    // Printed as a native job, it reads back the same.
    assert.deepEqual(parseJobManifest(JSON.stringify(jobSpecToManifest(spec))).spec, spec);
  });

  it("refuses what would run something else here: several pods, a second container, restartPolicy Always", () => {
    const parallel = violationsOf(withLine(15, "  parallelism: 4"));
    assert.deepEqual(where(parallel), ["15:16 spec.parallelism"]);
    assert.equal(parallel[0]?.message, "asks for 4 pods: a batch/v1 Job runs here as one process");
    assert.equal(violationsOf(withLine(14, "  completions: 0"))[0]?.message, "is 0: the Job would run nothing");
    const always = violationsOf(withLine(33, "      restartPolicy: Always"));
    assert.deepEqual(where(always), ["33:22 spec.template.spec.restartPolicy"]);
    assert.match(always[0]?.message ?? "", /not allowed for a Job \(Kubernetes refuses it too\)/);
    const second = violationsOf(MINIMAL.replace("[{name: c, command: [x]}]", "[{name: c, command: [x]}, {name: d, command: [y]}]"));
    assert.deepEqual(where(second), ["7:45 spec.template.spec.containers[1]"]);
    assert.equal(second[0]?.got, "c, d");
  });

  it("refuses a container without a command, and misspelt fields with a suggestion", () => {
    const noCommand = violationsOf(withLine(23, "          imagePullPolicy: Always"));
    assert.deepEqual(where(noCommand), ["21:11 spec.template.spec.containers[0].command"]);
    assert.equal(noCommand[0]?.message, "is required: this engine runs processes, not images");
    const misspelt = violationsOf(withLine(11, "  backofLimit: 2"));
    assert.deepEqual(where(misspelt), ["11:3 spec.backofLimit"]);
    assert.equal(misspelt[0]?.hint, "did you mean `backoffLimit`?");
    const pod = violationsOf(withLine(19, "      nodeSelecter: {}"));
    assert.equal(pod[0]?.hint, "did you mean `nodeSelector`?");
  });
});
