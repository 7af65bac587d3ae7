import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { parseConfig, UsageError } from "./config.js";

const env = { SWITCHYARD_OUTPUT_DIR: "/var/lib/switchyard/jobs/u1/output" };

describe("model server flags", () => {
  it("fills defaults: revision 1, serve.sock beside the output dir, metrics beside the socket, no batching", () => {
    const c = parseConfig(["--name", "iris", "--model", "/m/model.onnx"], env);
    assert.equal(c.revision, "1");
    assert.equal(c.socketPath, "/var/lib/switchyard/jobs/u1/serve.sock");
    assert.equal(c.metricsSocketPath, "/var/lib/switchyard/jobs/u1/serve.sock.metrics");
    assert.deepEqual(c.backend, { kind: "onnx", modelPath: "/m/model.onnx", intraOpThreads: 1, gpu: false });
    assert.equal(c.maxBatchSize, 0);
    assert.equal(c.maxQueueSize, 1024);
    assert.equal(c.queueTimeoutMs, undefined);
    assert.equal(c.containerConcurrency, 0);
  });

  it("reads batching in microseconds, preferred sizes sorted, and the custom predictor's command after --", () => {
    const c = parseConfig(
      ["--name", "m", "--socket", "/s/x.sock", "--max-batch-size", "32", "--max-queue-delay-us", "500", "--preferred-batch-sizes", "16,8", "--queue-timeout-us", "2000000", "--custom", "--", "python3", "p.py", "--port", "x"],
      {},
    );
    assert.equal(c.maxQueueDelayMs, 0.5);
    assert.deepEqual(c.preferredBatchSizes, [8, 16]);
    assert.equal(c.queueTimeoutMs, 2000);
    assert.deepEqual(c.backend, { kind: "custom", command: "python3", args: ["p.py", "--port", "x"], startupTimeoutMs: 60_000 });
  });

  it("waits for the model over LoadModel when given neither --model nor --custom", () => {
    assert.deepEqual(parseConfig(["--name", "m"], env).backend, { kind: "receive", maxModelBytes: 2 * 1024 ** 3, intraOpThreads: 1, gpu: false });
  });

  it("refuses each bad flag saying what it takes", () => {
    const cases: [string[], RegExp][] = [
      [["--model", "m.onnx"], /^--name is required/],
      [["--name", "a b", "--model", "m"], /^--name must be 1–128 letters/],
      [["--name", "m", "--model", "m", "--custom", "--", "x"], /not both/],
      [["--name", "m", "--custom", "x"], /--custom takes the predictor's command after a --/],
      [["--name", "m", "--model", "m", "--max-batch-size=-1"], /^--max-batch-size must be an integer in \[0, 1048576\], got "-1"/],
      [["--name", "m", "--model", "m", "--max-batch-size", "8", "--preferred-batch-sizes", "4,16"], /^--preferred-batch-sizes must be an integer in \[1, 8\], got "16"/],
      [["--name", "m", "--model", "m", "--max-queue-size", "0"], /^--max-queue-size must be an integer ≥ 1/],
      [["--name", "m", "--model", "m", "--intra-op-threads", "two"], /^--intra-op-threads must be an integer/],
      [["--name", "m", "--gpu", "--custom", "--", "x"], /^--gpu is for ONNX models/],
      [["--name", "m", "--model", "m", "--startup-timeout-ms", "5"], /^--startup-timeout-ms is for custom predictors/],
      [["--name", "m", "--model", "m", "--bogus"], /Unknown option '--bogus'/],
      [["--name", "m", "--model", "m", "--socket", `/tmp/${"d".repeat(100)}/serve.sock`], /is too long: a Unix socket address holds at most 107 bytes, and the metrics socket beside it \(\.metrics\) would take \d+; pass a shorter --socket/],
    ];
    for (const [argv, pattern] of cases) assert.throws(() => parseConfig(argv, env), (e: unknown) => e instanceof UsageError && pattern.test(e.message), argv.join(" "));
    assert.throws(() => parseConfig(["--name", "m", "--model", "m"], {}), /--socket is required when SWITCHYARD_OUTPUT_DIR is not set/);
  });

  it("ignores the queue delay and preferred sizes without batching, as Triton does", () => {
    const c = parseConfig(["--name", "m", "--model", "m", "--max-batch-size", "1", "--max-queue-delay-us", "100", "--preferred-batch-sizes", "1"], env);
    assert.equal(c.maxBatchSize, 1);
  });
});
