import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseDeploymentManifest } from "@switchyard/specs";
import { CliExit, EXIT } from "./exit.js";
import { buildServeManifest, checkServeMode, modelUri, type PathKind, type ServeFlags } from "./serve-manifest.js";

// `switchyard serve NAME [flags]` → the native Deployment manifest it sends. The file system is a table here: which
// paths are files and which directories.
const fs = (files: string[], dirs: string[] = []): PathKind => (p) => (files.includes(p) ? "file" : dirs.includes(p) ? "directory" : "missing");
const ctx = { cwd: "/work", kind: fs(["/work/model.onnx", "/models/resnet.onnx"], ["/work/out"]) };

/** The CliExit a call throws: its exit code and message. */
function refused(f: () => unknown): { code: number; message: string } {
  try {
    f();
  } catch (err) {
    assert.ok(err instanceof CliExit, String(err));
    return { code: err.code, message: err.message };
  }
  assert.fail("not refused");
}

describe("serve's flags as a Deployment manifest", () => {
  it("writes every flag where the native manifest has it", () => {
    const o: ServeFlags = { model: "job://demo-train/model.onnx", min: "0", max: "4", target: "8", gpus: "0.5", cpu: "500m", memory: "2Gi", maxBatchSize: "32", maxQueueDelayUs: "2000", preferredBatchSizes: "8, 16" };
    const { text } = buildServeManifest("demo", o, [], { ...ctx, team: "vision" });
    assert.equal(
      text,
      [
        "apiVersion: switchyard/v1",
        "kind: Deployment",
        "metadata:",
        "  name: demo",
        "  team: vision",
        "spec:",
        "  model: job://demo-train/model.onnx",
        "  minReplicas: 0",
        "  maxReplicas: 4",
        "  resources:",
        "    gpus: 0.5",
        "    cpu: 500m",
        "    memory: 2Gi",
        "  autoscaling:",
        "    target: 8",
        "  batching:",
        "    maxBatchSize: 32",
        "    maxQueueDelayMicroseconds: 2000",
        "    preferredBatchSizes:",
        "      - 8",
        "      - 16",
        "",
      ].join("\n"),
    );
  });

  it("is a manifest the service's own parser reads into what the flags asked for", () => {
    const o: ServeFlags = { model: "./model.onnx", min: "0", max: "4", target: "8", gpus: "0.5", cpu: "500m", memory: "2Gi", maxBatchSize: "32", maxQueueDelayUs: "2000", preferredBatchSizes: "8,16" };
    const { text } = buildServeManifest("demo", o, [], { ...ctx, team: "vision" });
    const { spec, warnings, source } = parseDeploymentManifest(text, { file: "serve" });
    assert.equal(source, "switchyard/v1/Deployment");
    assert.deepEqual(warnings, []);
    assert.equal(spec.name, "demo");
    assert.equal(spec.team, "vision");
    assert.deepEqual(spec.model, { format: "onnx", storageUri: "file:///work/model.onnx" });
    assert.deepEqual(spec.resources, { gpus: 0.5, cpu: 0.5, memoryBytes: 2 * 2 ** 30 });
    assert.deepEqual([spec.minReplicas, spec.maxReplicas, spec.scaleMetric, spec.scaleTarget], [0, 4, "concurrency", 8]);
    assert.deepEqual({ ...spec.batching, maxQueueSize: 0, queueTimeoutMicroseconds: 0 }, { maxBatchSize: 32, maxQueueDelayMicroseconds: 2000, preferredBatchSizes: [8, 16], maxQueueSize: 0, queueTimeoutMicroseconds: 0 });
    const custom = parseDeploymentManifest(buildServeManifest("echo", { custom: true, replicas: "2" }, ["python3", "serve.py"], ctx).text).spec;
    assert.deepEqual([custom.model.format, custom.model.command, custom.model.args, custom.minReplicas, custom.maxReplicas], ["custom", ["python3"], ["serve.py"], 2, 2]);
  });

  it("leaves out what was not given, and the team when --team was not given", () => {
    const { doc } = buildServeManifest("demo", { model: "models://demo@2", replicas: "2" }, [], ctx);
    assert.deepEqual(doc, { apiVersion: "switchyard/v1", kind: "Deployment", metadata: { name: "demo" }, spec: { model: "models://demo@2", replicas: 2 } });
  });

  it("turns a local path into file:///absolute/path once it is a file here", () => {
    assert.equal(modelUri("./model.onnx", "/work", ctx.kind), "file:///work/model.onnx");
    assert.equal(modelUri("model.onnx", "/work", ctx.kind), "file:///work/model.onnx");
    assert.equal(modelUri("/models/resnet.onnx", "/work", ctx.kind), "file:///models/resnet.onnx");
    assert.equal(modelUri("file:///models/resnet.onnx", "/work", ctx.kind), "file:///models/resnet.onnx");
    assert.equal(modelUri("models://resnet", "/work", ctx.kind), "models://resnet");
  });

  it("refuses a model that is not here, a directory, or a scheme the platform does not read, saying what it takes", () => {
    const missing = refused(() => modelUri("./nope.onnx", "/work", ctx.kind));
    assert.equal(missing.code, EXIT.usage);
    assert.match(missing.message, /^--model \.\/nope\.onnx: no such file \(\/work\/nope\.onnx\): give job:\/\/JOB\/model\.onnx .*models:\/\/NAME\[@VERSION\]/);
    assert.match(refused(() => modelUri("out", "/work", ctx.kind)).message, /\/work\/out is a directory: name the model file in it \(e\.g\. \/work\/out\/model\.onnx\)/);
    const s3 = refused(() => modelUri("s3://bucket/model.onnx", "/work", ctx.kind));
    assert.equal(s3.code, EXIT.usage);
    assert.match(s3.message, /does not read models from s3:\/\//);
    assert.match(s3.message, /switchyard models register NAME --from job:\/\/JOB\/model\.onnx/);
    assert.match(refused(() => modelUri("file://host/model.onnx", "/work", ctx.kind)).message, /three slashes/);
    assert.equal(refused(() => modelUri("job://demo-train", "/work", ctx.kind)).message, "--model job://demo-train has no path after the job name: e.g. `job://demo-train/model.onnx` (a path inside the job's artifacts)");
    assert.match(refused(() => modelUri("models://resnet@0", "/work", ctx.kind)).message, /^--model models:\/\/resnet@0 has a version that is not a whole number ≥ 1/);
    assert.match(refused(() => modelUri("resnet@3", "/work", ctx.kind)).message, /a registered model is named models:\/\/resnet@3/);
  });

  it("refuses --replicas with --min or --max, exit 2, saying to give one or the other", () => {
    const r = refused(() => buildServeManifest("demo", { model: "./model.onnx", replicas: "2", min: "1" }, [], ctx));
    assert.equal(r.code, EXIT.usage);
    assert.equal(r.message, "--replicas is a fixed count; --min and --max autoscale between two counts: give --replicas 2, or --min N --max N, not both");
    assert.match(refused(() => buildServeManifest("demo", { model: "./model.onnx", min: "3", max: "2" }, [], ctx)).message, /^--max 2 is below --min 3/);
    assert.match(refused(() => buildServeManifest("demo", { model: "./model.onnx", replicas: "0" }, [], ctx)).message, /^--replicas must be a whole number from 1 to 64 \(got "0"\)/);
    assert.match(refused(() => buildServeManifest("demo", { model: "./model.onnx", replicas: "1.5" }, [], ctx)).message, /^--replicas must be a whole number/);
  });

  it("names the flag of a bad quantity, batch setting or name", () => {
    assert.match(refused(() => buildServeManifest("demo", { model: "./model.onnx", memory: "4GB" }, [], ctx)).message, /^--memory "4GB" is not a memory size/);
    assert.match(refused(() => buildServeManifest("demo", { model: "./model.onnx", cpu: "0" }, [], ctx)).message, /^--cpu "0" is not CPU cores more than 0/);
    assert.match(refused(() => buildServeManifest("demo", { model: "./model.onnx", gpus: "1.5" }, [], ctx)).message, /^--gpus "1\.5"/);
    assert.match(refused(() => buildServeManifest("demo", { model: "./model.onnx", maxQueueDelayUs: "100" }, [], ctx)).message, /^--max-queue-delay-us needs --max-batch-size/);
    assert.match(refused(() => buildServeManifest("demo", { model: "./model.onnx", maxBatchSize: "8", preferredBatchSizes: "4,x" }, [], ctx)).message, /^--preferred-batch-sizes must be whole numbers/);
    assert.match(refused(() => buildServeManifest("Demo_1", { model: "./model.onnx" }, [], ctx)).message, /^"Demo_1" cannot be a deployment's name: .* \(e\.g\. "demo-1"\)/);
    assert.match(refused(() => buildServeManifest("demo", {}, [], ctx)).message, /^serve demo needs --model/);
  });

  it("makes a custom server's command and arguments from what follows `--custom --`", () => {
    const { doc } = buildServeManifest("echo", { custom: true }, ["python3", "serve.py", "--port", "$PORT"], ctx);
    assert.deepEqual(doc["spec"], { model: { format: "custom", command: ["python3"], args: ["serve.py", "--port", "$PORT"] } });
    const withModel = buildServeManifest("echo", { custom: true, model: "./model.onnx" }, ["./server"], ctx).doc;
    assert.deepEqual(withModel["spec"], { model: { format: "custom", storageUri: "file:///work/model.onnx", command: ["./server"] } });
    assert.match(refused(() => buildServeManifest("echo", { custom: true }, [], ctx)).message, /^--custom needs the server's command after `--`/);
  });
});

describe("serve's modes", () => {
  it("takes -f FILE alone, or NAME with flags, and says which flag does not go with which", () => {
    assert.doesNotThrow(() => checkServeMode(undefined, [], { file: "isvc.yaml", canary: "10", wait: true, timeout: "2m" }, undefined));
    assert.equal(refused(() => checkServeMode(undefined, [], { file: "isvc.yaml", model: "x", replicas: "2" }, undefined)).message, "--model, --replicas cannot be given with -f: the file describes the deployment; change it there, or serve by NAME with flags instead of -f");
    assert.match(refused(() => checkServeMode("demo", [], { file: "isvc.yaml" }, undefined)).message, /^give a NAME or -f FILE, not both/);
    assert.match(refused(() => checkServeMode(undefined, [], { file: "isvc.yaml" }, "vision")).message, /^--team cannot be given with -f/);
    assert.match(refused(() => checkServeMode(undefined, [], {}, undefined)).message, /^serve needs a deployment NAME and --model, or -f FILE/);
    assert.match(refused(() => checkServeMode("demo", ["extra"], { model: "x" }, undefined)).message, /^unexpected argument "extra": serve takes one NAME/);
    assert.match(refused(() => checkServeMode("demo", [], { model: "x", timeout: "2m" }, undefined)).message, /^--timeout goes with --wait/);
  });
});
