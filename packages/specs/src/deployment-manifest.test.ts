import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { parseDeploymentManifest } from "./deployment-manifest.js";
import { assertWholeDeployment, deploymentViolationsOf, where } from "./test-helpers.js";

const FULL = readFileSync(new URL("./testdata/inferenceservice-full.yaml", import.meta.url), "utf8");

/** The fixture with line `n` (1-based) replaced, so every other line keeps its number. */
function withLine(n: number, line: string, text = FULL): string {
  const lines = text.split("\n");
  assert.ok(lines[n - 1] !== undefined);
  lines[n - 1] = line;
  return lines.join("\n");
}

/** An InferenceService with `predictor` lines (indented 4) and optional metadata lines (indented 2). */
const isvc = (predictor: string, metadata = "") =>
  `apiVersion: serving.kserve.io/v1beta1\nkind: InferenceService\nmetadata:\n  name: m\n${metadata}spec:\n  predictor:\n${predictor}\n`;
const onnxModel = "    model:\n      modelFormat: {name: onnx}\n      storageUri: models://m@1\n";

const native = (spec: string, metadata = "  name: m") => `apiVersion: switchyard/v1\nkind: Deployment\nmetadata:\n${metadata}\nspec:\n${spec}\n`;

const DEFAULTS = {
  resources: { gpus: 0, cpu: 1, memoryBytes: 2 ** 30 },
  minReplicas: 1,
  maxReplicas: 1,
  scaleMetric: "concurrency",
  scaleTarget: 4,
  containerConcurrency: 0,
  timeoutSeconds: 60,
} as const;

describe("KServe InferenceService", () => {
  it("reads every honoured field of a full onnx InferenceService, with one warning for what it ignores", () => {
    const { spec, warnings, source } = parseDeploymentManifest(FULL, { file: "isvc.yaml" });
    assert.equal(source, "serving.kserve.io/v1beta1/InferenceService");
    assertWholeDeployment(spec);
    assert.deepEqual(spec, {
      name: "resnet",
      team: "vision",
      labels: { app: "resnet", "kueue.x-k8s.io/queue-name": "serving" },
      model: { format: "onnx", storageUri: "models://resnet@3" },
      // cpu and memory from requests (what a replica is scheduled by), the GPU from limits.
      resources: { gpus: 1, cpu: 0.5, memoryBytes: 2 * 2 ** 30 },
      minReplicas: 0,
      maxReplicas: 8,
      scaleMetric: "rps",
      scaleTarget: 50,
      containerConcurrency: 16,
      timeoutSeconds: 30,
      canaryTrafficPercent: 10,
      batching: { maxBatchSize: 32, maxQueueDelayMicroseconds: 2000, preferredBatchSizes: [8, 16, 32], maxQueueSize: 256, queueTimeoutMicroseconds: 5_000_000 },
      priorityClassName: "high",
      queue: "serving",
    });
    assert.deepEqual(warnings, [
      "accepted but ignored by this engine, which runs local processes rather than pods: " +
        [
          'metadata.annotations["serving.kserve.io/deploymentMode"]', "spec.predictor.serviceAccountName", "spec.predictor.nodeSelector",
          "spec.predictor.tolerations", "spec.predictor.affinity", "spec.predictor.model.modelFormat.version", "spec.predictor.model.runtime",
          "spec.predictor.model.image",
        ].join(", "),
    ]);
  });

  it("reads a custom predictor container: its command, args, env, working directory and resources", () => {
    const text = isvc([
      "    containers:",
      "      - name: kserve-container",
      "        image: ghcr.io/acme/server:1.2",
      "        command: [python, -m, server]",
      "        args: [--workers, '2']",
      "        env: [{name: MODEL_DIR, value: /models}, {name: DEBUG, value: '1'}, {name: EMPTY}]",
      "        workingDir: /srv",
      "        ports: [{containerPort: 8080, protocol: TCP}]",
      "        resources: {limits: {nvidia.com/gpu: 500m, cpu: 4, memory: 8Gi}}",
    ].join("\n"), "  namespace: nlp\n");
    const { spec, warnings } = parseDeploymentManifest(text, { file: "custom.yaml", defaultTeam: "ignored" });
    assertWholeDeployment(spec);
    assert.deepEqual(spec, {
      name: "m",
      team: "nlp",
      model: {
        format: "custom", command: ["python", "-m", "server"], args: ["--workers", "2"],
        env: [{ name: "MODEL_DIR", value: "/models" }, { name: "DEBUG", value: "1" }, { name: "EMPTY", value: "" }], workingDir: "/srv",
      },
      ...DEFAULTS,
      // Limits only: Kubernetes takes a missing request to be its limit. Half a GPU, as jobs may ask.
      resources: { gpus: 0.5, cpu: 4, memoryBytes: 8 * 2 ** 30 },
    });
    assert.deepEqual(warnings, [
      "custom.yaml:15:16: spec.predictor.containers[0].ports: is ignored: the platform chooses the port and passes it in $PORT; serve on that port",
      "accepted but ignored by this engine, which runs local processes rather than pods: spec.predictor.containers[0].image",
    ]);
  });

  it("fills the defaults: the caller's team, one replica, concurrency 4, a 60 s timeout, 1 CPU and 1 GiB, no batching", () => {
    const { spec, warnings } = parseDeploymentManifest(isvc(onnxModel), { defaultTeam: "alice" });
    assert.deepEqual(warnings, []);
    assert.deepEqual(spec, { name: "m", team: "alice", model: { format: "onnx", storageUri: "models://m@1" }, ...DEFAULTS });
    assert.equal(parseDeploymentManifest(isvc(onnxModel)).spec.team, "default");
    // KServe's maxReplicas 0 is its "not set"; the default follows minReplicas. rps targets 100 by default.
    const scaled = parseDeploymentManifest(isvc(`${onnxModel}    minReplicas: 3\n    maxReplicas: 0\n    scaleMetric: rps`)).spec;
    assert.deepEqual([scaled.minReplicas, scaled.maxReplicas, scaled.scaleTarget], [3, 3, 100]);
    const toZero = parseDeploymentManifest(isvc(`${onnxModel}    minReplicas: 0`)).spec;
    assert.deepEqual([toZero.minReplicas, toZero.maxReplicas], [0, 1]);
  });

  it("turns batching on with the batcher, filling KServe's and Triton's defaults", () => {
    const on = (batcher: string) => parseDeploymentManifest(isvc(`${onnxModel}    batcher: ${batcher}`)).spec.batching;
    assert.deepEqual(on("{}"), { maxBatchSize: 32, maxQueueDelayMicroseconds: 5000, preferredBatchSizes: [], maxQueueSize: 1024, queueTimeoutMicroseconds: 10_000_000 });
    assert.deepEqual(on("{maxBatchSize: 8}"), { maxBatchSize: 8, maxQueueDelayMicroseconds: 5000, preferredBatchSizes: [], maxQueueSize: 1024, queueTimeoutMicroseconds: 10_000_000 });
    assert.equal(parseDeploymentManifest(isvc(onnxModel)).spec.batching, undefined);
  });

  it("rejects misspelt fields with their line and column and a suggestion", () => {
    const details = deploymentViolationsOf(withLine(39, "    modle:", withLine(15, "    minReplica: 0")));
    assert.deepEqual(where(details), ["15:5 spec.predictor.minReplica", "39:5 spec.predictor.modle"]);
    assert.deepEqual(details.map((d) => d.hint), ["did you mean `minReplicas`?", "did you mean `model`?"]);
    const pod = deploymentViolationsOf(withLine(25, "    nodeSelecter:"));
    assert.deepEqual(where(pod), ["25:5 spec.predictor.nodeSelecter"]);
    assert.equal(pod[0]?.hint, "did you mean `nodeSelector`?");
  });

  it("refuses a storageUri this platform cannot read, listing the forms it can", () => {
    const bad = (uri: string) => deploymentViolationsOf(withLine(46, `      storageUri: ${uri}`));
    const s3 = bad("s3://bucket/resnet/model.onnx");
    assert.deepEqual(where(s3), ["46:19 spec.predictor.model.storageUri"]);
    assert.equal(s3[0]?.message, "reads from `s3://`, which this platform does not");
    assert.match(s3[0]?.expected ?? "", /file:\/\/\/abs\/path\/model\.onnx.*job:\/\/JOB.*models:\/\/NAME@VERSION.*models:\/\/NAME/);
    assert.equal(bad("/srv/models/resnet.onnx")[0]?.hint, "write it as `file:///srv/models/resnet.onnx`");
    assert.match(bad("file://srv/model.onnx")[0]?.hint ?? "", /three slashes/);
    assert.equal(bad("modles://resnet@3")[0]?.hint, "did you mean `models://`?");
    assert.equal(bad("models://resnet@latest")[0]?.message, "has a version that is not a whole number ≥ 1");
    assert.equal(bad("job://train/../../etc/passwd")[0]?.message, "has a `.` or `..` segment: it must stay inside the job's artifacts");
    assert.equal(bad("job://Train/model.onnx")[0]?.message, 'names "Train", which is not a job name');
    for (const ok of ["file:///srv/model.onnx", "job://resnet-train/out/model.onnx", "models://resnet", "models://resnet@12"]) {
      assert.equal(parseDeploymentManifest(withLine(46, `      storageUri: ${ok}`)).spec.model.storageUri, ok);
    }
  });

  it("refuses protocol v1 and gRPC, saying the platform speaks the Open Inference Protocol over HTTP", () => {
    const v1 = deploymentViolationsOf(withLine(45, "      protocolVersion: v1"));
    assert.deepEqual(where(v1), ["45:24 spec.predictor.model.protocolVersion"]);
    assert.match(v1[0]?.message ?? "", /v1 .* is not served: the platform speaks the Open Inference Protocol, KServe's v2/);
    assert.match(deploymentViolationsOf(withLine(45, "      protocolVersion: grpc-v2"))[0]?.message ?? "", /gRPC is not served/);
  });

  it("refuses other model formats, naming onnx and the custom-container alternative", () => {
    const sklearn = deploymentViolationsOf(withLine(42, "        name: sklearn"));
    assert.deepEqual(where(sklearn), ["42:15 spec.predictor.model.modelFormat.name"]);
    assert.equal(sklearn[0]?.message, "sklearn models are not served here: the platform serves onnx models");
    assert.match(sklearn[0]?.hint ?? "", /export the model to ONNX, or serve it yourself: one container under `predictor.containers`/);
    assert.equal(deploymentViolationsOf(withLine(42, "        name: ONNX"))[0]?.hint, "did you mean `onnx`?");
    const legacy = deploymentViolationsOf(isvc("    sklearn: {storageUri: gs://kfserving-examples/models/sklearn/1.0/model}"));
    assert.deepEqual(where(legacy), ["7:5 spec.predictor.sklearn"]);
    assert.match(legacy[0]?.message ?? "", /older per-framework form, and sklearn models are not served here/);
  });

  it("refuses a transformer and an explainer: only the predictor is served", () => {
    const text = `${isvc(onnxModel)}  transformer:\n    containers: [{name: t, image: t, command: [t]}]\n  explainer:\n    art: {type: SquareAttack}\n`;
    const details = deploymentViolationsOf(text);
    assert.deepEqual(where(details), ["11:3 spec.transformer", "13:3 spec.explainer"]);
    assert.deepEqual(details.map((d) => d.message), ["is not supported yet", "is not supported yet"]);
    assert.match(details[0]?.hint ?? "", /do pre- and post-processing in a custom predictor container/);
  });

  it("refuses maxReplicas below minReplicas, more than 64 replicas, and cpu or memory scaling", () => {
    const minMax = deploymentViolationsOf(withLine(16, "    maxReplicas: 2", withLine(15, "    minReplicas: 3")));
    assert.deepEqual(where(minMax), ["16:18 spec.predictor.maxReplicas"]);
    assert.equal(minMax[0]?.message, "is below minReplicas (3)");
    assert.equal(minMax[0]?.hint, "raise maxReplicas to at least 3, or lower minReplicas");
    assert.equal(deploymentViolationsOf(withLine(16, "    maxReplicas: 65"))[0]?.message, "must be ≤ 64");
    const cpu = deploymentViolationsOf(withLine(17, "    scaleMetric: cpu"));
    assert.deepEqual(where(cpu), ["17:18 spec.predictor.scaleMetric"]);
    assert.equal(cpu[0]?.message, "cpu is not a metric this autoscaler scales on: it works on requests");
  });

  it("refuses preferred batch sizes above maxBatchSize or out of order, naming the annotation", () => {
    const over = deploymentViolationsOf(withLine(11, '    serving.switchyard.io/preferred-batch-sizes: "8,16,64"'));
    assert.deepEqual(where(over), ['11:50 metadata.annotations["serving.switchyard.io/preferred-batch-sizes"]']);
    assert.equal(over[0]?.message, "has 64, above maxBatchSize (32)");
    assert.match(over[0]?.hint ?? "", /raise maxBatchSize to 64/);
    assert.equal(deploymentViolationsOf(withLine(11, '    serving.switchyard.io/preferred-batch-sizes: "16,8"'))[0]?.hint, "write them as 8, 16");
    const words = deploymentViolationsOf(withLine(11, '    serving.switchyard.io/preferred-batch-sizes: "8, sixteen"'));
    assert.match(words[0]?.message ?? "", /^annotation serving\.switchyard\.io\/preferred-batch-sizes is not a list of batch sizes/);
    const queue = deploymentViolationsOf(withLine(12, '    serving.switchyard.io/max-queue-size: "-1"'));
    assert.match(queue[0]?.message ?? "", /^annotation serving\.switchyard\.io\/max-queue-size is not a whole number ≥ 1/);
    const misspelt = deploymentViolationsOf(withLine(12, '    serving.switchyard.io/max-queue-sizes: "256"'));
    assert.deepEqual(where(misspelt), ['12:5 metadata.annotations["serving.switchyard.io/max-queue-sizes"]']);
    assert.equal(misspelt[0]?.hint, "did you mean `serving.switchyard.io/max-queue-size`?");
    const noBatcher = deploymentViolationsOf(isvc(onnxModel, '  annotations: {serving.switchyard.io/max-queue-size: "8"}\n'));
    assert.equal(noBatcher[0]?.message, "needs `spec.predictor.batcher`: it only applies to batching");
    assert.equal(deploymentViolationsOf(withLine(23, "      maxBatchSize: 2048"))[0]?.message, "must be ≤ 1024");
  });

  it("refuses values of the wrong type at their position", () => {
    const text = withLine(20, "    timeout: 1.5", withLine(15, "    minReplicas: two"));
    const details = deploymentViolationsOf(text);
    assert.deepEqual(where(details), ["15:18 spec.predictor.minReplicas", "20:14 spec.predictor.timeout"]);
    assert.deepEqual(details.map((d) => d.message), ["has the wrong type", "must be a whole number"]);
    assert.deepEqual(where(deploymentViolationsOf(withLine(21, "    canaryTrafficPercent: 150"))), ["21:27 spec.predictor.canaryTrafficPercent"]);
  });

  it("refuses a predictor that is not one onnx model or one container with a command", () => {
    const neither = deploymentViolationsOf(isvc("    minReplicas: 1"));
    assert.deepEqual(where(neither), ["6:3 spec.predictor"]);
    assert.equal(neither[0]?.message, "needs a `model` or one container");
    const both = deploymentViolationsOf(isvc(`${onnxModel}    containers: [{name: a, command: [a]}]`));
    assert.equal(both[0]?.message, "cannot be given with `model`");
    const two = deploymentViolationsOf(isvc("    containers: [{name: a, command: [a]}, {name: b, command: [b]}]"));
    assert.deepEqual(where(two), ["7:43 spec.predictor.containers[1]"]);
    const image = deploymentViolationsOf(isvc("    containers:\n      - name: a\n        image: acme/server"));
    assert.deepEqual(where(image), ["8:9 spec.predictor.containers[0].command"]);
    assert.equal(image[0]?.message, "is required: this platform runs processes, not images");
    const onnxCommand = deploymentViolationsOf(`${isvc(onnxModel)}`.replace("      storageUri", "      command: [serve]\n      storageUri"));
    assert.deepEqual(where(onnxCommand), ["9:7 spec.predictor.model.command"]);
    assert.equal(onnxCommand[0]?.message, "goes with a custom server only: an onnx model is served by the platform");
    const noUri = deploymentViolationsOf(isvc("    model:\n      modelFormat: {name: onnx}"));
    assert.deepEqual(where(noUri), ["7:5 spec.predictor.model.storageUri"]);
    assert.equal(noUri[0]?.message, "is required for an onnx model");
  });

  it("refuses env read from elsewhere, a variable named twice, generateName and other unsupported forms", () => {
    const env = deploymentViolationsOf(isvc("    containers:\n      - name: a\n        command: [a]\n        env: [{name: A, value: x}, {name: A, value: y}, {name: K, valueFrom: {secretKeyRef: {name: s, key: k}}}]"));
    assert.deepEqual(env.map((d) => d.field), ["spec.predictor.containers[0].env[1].name", "spec.predictor.containers[0].env[2].valueFrom"]);
    assert.deepEqual(env.map((d) => d.message), ["names A a second time", "is not supported for a deployment: its variables take plain values for now"]);
    const generated = deploymentViolationsOf(isvc(onnxModel, "  generateName: m-\n"));
    assert.deepEqual(where(generated), ["5:3 metadata.generateName"]);
    for (const field of ["workerSpec: {pipelineParallelSize: 2}", "storageUris: [{uri: s3://a}]", "autoScaling: {metrics: []}"]) {
      const d = deploymentViolationsOf(isvc(`${onnxModel}    ${field}`));
      assert.equal(d.length, 1, field);
      assert.match(d[0]?.message ?? "", /^is not supported: /);
    }
  });

  it("reports every problem of a manifest at once", () => {
    const text = withLine(45, "      protocolVersion: v1", withLine(16, "    maxReplicas: -1", withLine(15, "    minReplica: 0")));
    assert.deepEqual(where(deploymentViolationsOf(text)), ["15:5 spec.predictor.minReplica", "16:18 spec.predictor.maxReplicas", "45:24 spec.predictor.model.protocolVersion"]);
  });
});

describe("native switchyard/v1 Deployment", () => {
  it("reads the short form: a model location and nothing else", () => {
    const { spec, warnings, source } = parseDeploymentManifest(native("  model: models://resnet@2"), { defaultTeam: "vision" });
    assert.equal(source, "switchyard/v1/Deployment");
    assert.deepEqual(warnings, []);
    assert.deepEqual(spec, { name: "m", team: "vision", model: { format: "onnx", storageUri: "models://resnet@2" }, ...DEFAULTS });
  });

  it("reads `replicas` as a fixed count", () => {
    const { spec } = parseDeploymentManifest(native("  model: job://train/model.onnx\n  replicas: 3"));
    assert.deepEqual([spec.minReplicas, spec.maxReplicas], [3, 3]);
  });

  it("reads every field of a custom server", () => {
    const text = native(
      [
        "  model:",
        "    command: [python, serve.py]",
        "    args: [--fp16]",
        "    env: {LR: 0.1, DEBUG: true}",
        "    workingDir: /srv/app",
        "    storageUri: file:///srv/weights",
        "  minReplicas: 0",
        "  maxReplicas: 4",
        "  resources: {gpus: 2, cpu: 1500m, memory: 1.5Gi, gpuType: A100}",
        "  autoscaling: {metric: rps, target: 20}",
        "  containerConcurrency: 8",
        "  timeoutSeconds: 120",
        "  canaryTrafficPercent: 0",
        "  batching: {maxBatchSize: 16, preferredBatchSizes: [4, 8]}",
        "  priorityClassName: High",
        "  queue: serving.gpu",
      ].join("\n"),
      "  name: llm\n  team: nlp\n  labels: {project: chat, v: 2}",
    );
    const { spec, warnings } = parseDeploymentManifest(text, { file: "llm.yaml" });
    assertWholeDeployment(spec);
    assert.deepEqual(spec, {
      name: "llm",
      team: "nlp",
      labels: { project: "chat", v: "2" },
      model: { format: "custom", storageUri: "file:///srv/weights", command: ["python", "serve.py"], args: ["--fp16"], env: [{ name: "LR", value: "0.1" }, { name: "DEBUG", value: "true" }], workingDir: "/srv/app" },
      resources: { gpus: 2, cpu: 1.5, memoryBytes: 1.5 * 2 ** 30 },
      minReplicas: 0,
      maxReplicas: 4,
      scaleMetric: "rps",
      scaleTarget: 20,
      containerConcurrency: 8,
      timeoutSeconds: 120,
      canaryTrafficPercent: 0,
      batching: { maxBatchSize: 16, maxQueueDelayMicroseconds: 5000, preferredBatchSizes: [4, 8], maxQueueSize: 1024, queueTimeoutMicroseconds: 10_000_000 },
      priorityClassName: "high",
      queue: "serving.gpu",
    });
    assert.deepEqual(warnings, ["llm.yaml:16:60: spec.resources.gpuType: is not used by deployments yet and is ignored: a replica may get any GPU"]);
  });

  it("refuses replicas together with minReplicas or maxReplicas, and maxReplicas below minReplicas", () => {
    const both = deploymentViolationsOf(native("  model: models://a\n  replicas: 2\n  minReplicas: 1"));
    assert.deepEqual(where(both), ["7:3 spec.replicas"]);
    assert.equal(both[0]?.message, "cannot be given with `minReplicas` or `maxReplicas`");
    const minMax = deploymentViolationsOf(native("  model: models://a\n  minReplicas: 5\n  maxReplicas: 2"));
    assert.deepEqual(where(minMax), ["8:16 spec.maxReplicas"]);
    assert.equal(minMax[0]?.message, "is below minReplicas (5)");
  });

  it("refuses misspelt fields, an unknown scheme and bad batch sizes at their positions", () => {
    const text = native("  model: s3://bucket/model.onnx\n  timeout: 30\n  batching: {maxBatchSize: 8, preferredBatchSizes: [4, 16]}");
    const details = deploymentViolationsOf(text);
    assert.deepEqual(where(details), ["6:10 spec.model", "7:3 spec.timeout", "8:52 spec.batching.preferredBatchSizes"]);
    assert.deepEqual(details.map((d) => d.hint?.slice(0, 40)), [
      "copy the model to this machine or regist",
      "did you mean `timeoutSeconds`?",
      "drop the sizes above 8, or raise maxBatc",
    ]);
  });

  it("checks the model format against the command", () => {
    const custom = deploymentViolationsOf(native("  model: {format: custom, storageUri: models://a}"));
    assert.deepEqual(where(custom), ["6:3 spec.model.command"]);
    assert.equal(custom[0]?.message, "is required for a custom server");
    const onnx = deploymentViolationsOf(native("  model: {format: onnx, storageUri: models://a, command: [serve]}"));
    assert.deepEqual(where(onnx), ["6:49 spec.model.command"]);
    const neither = deploymentViolationsOf(native("  model: {args: [x]}"));
    assert.deepEqual(where(neither), ["6:3 spec.model"]);
    assert.equal(neither[0]?.message, "needs a `storageUri` (an onnx model the platform serves) or a `command` (your own server)");
    const onnxArgs = deploymentViolationsOf(native("  model: {format: onnx, args: [x]}"));
    assert.deepEqual(onnxArgs.map((d) => d.field).sort(), ["spec.model.args", "spec.model.storageUri"]);
  });

  it("refuses wrong types, unknown priority classes and cpu scaling, each with the fix", () => {
    const details = deploymentViolationsOf(native("  model: models://a\n  minReplicas: '2'\n  priorityClassName: hihg\n  autoscaling: {metric: memory}"));
    assert.deepEqual(where(details), ["7:16 spec.minReplicas", "8:22 spec.priorityClassName", "9:25 spec.autoscaling.metric"]);
    assert.deepEqual(details.map((d) => d.hint), [
      "write a number without quotes, e.g. `minReplicas: 1`",
      "did you mean `high`?",
      "use `concurrency` (requests in flight per replica) or `rps` (requests per second per replica)",
    ]);
  });

  it("takes plain variables only, as a map or a list, and refuses a secret with why", () => {
    const { spec } = parseDeploymentManifest(native("  model:\n    command: [serve]\n    env: [{name: A, value: 1}, {name: B}]"));
    assert.deepEqual(spec.model.env, [{ name: "A", value: "1" }, { name: "B", value: "" }]);
    const secret = deploymentViolationsOf(native("  model:\n    command: [serve]\n    env: {TOKEN: {secretKeyRef: {name: s, key: k}}}"));
    assert.deepEqual(where(secret), ["8:18 spec.model.env.TOKEN"]);
    assert.equal(secret[0]?.message, "must be a plain value: deployments do not read secrets yet");
    const listed = deploymentViolationsOf(native("  model:\n    command: [serve]\n    env: [{name: T, valueFrom: {secretKeyRef: {name: s, key: k}}}]"));
    assert.deepEqual(listed.map((d) => [d.field, d.hint]), [["spec.model.env[0].valueFrom", "deployments take plain values for now: write `value`"]]);
  });

  it("says which formats it reads when given a job or an unknown kind", () => {
    const job = deploymentViolationsOf("apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: a}\nspec: {command: [x]}\n");
    assert.deepEqual(where(job), ["2:7 kind"]);
    assert.equal(job[0]?.expected, "Deployment");
    const kserve = deploymentViolationsOf("apiVersion: serving.kserve.io/v1beta1\nkind: InferenceServce\n");
    assert.equal(kserve[0]?.hint, "did you mean `InferenceService`?");
  });
});
