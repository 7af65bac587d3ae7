// Runs the real demo job as a child process of plain Node, from a copy outside the repository so that no
// node_modules is reachable: if train.mjs ever grew a dependency, these tests would fail to start it.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import * as ort from "onnxruntime-node";
import { Rng } from "./dataset.mjs";
import { predict } from "./mlp.mjs";
import { encodeVarint } from "./onnx-writer.mjs";

/** The platform's metric regex (Katib's default for stdout metrics). */
const METRIC = /([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)/g;
const HERE = fileURLToPath(new URL(".", import.meta.url));
const EPOCHS = 30;

const root = mkdtempSync(join(tmpdir(), "demo-train-test-"));
const jobDir = join(root, "job");
const cleanEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith("DEMO_TRAIN_") && !k.startsWith("SWITCHYARD_") && k !== "NODE_OPTIONS"),
);

/** Starts `node train.mjs ...args` in the copied job directory. */
function startTrain(args, env) {
  const child = spawn(process.execPath, ["train.mjs", ...args], {
    cwd: jobDir,
    env: { ...cleanEnv, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  const watchers = new Set();
  child.stdout.setEncoding("utf8").on("data", (chunk) => {
    stdout += chunk;
    for (const watch of watchers) watch();
  });
  child.stderr.setEncoding("utf8").on("data", (chunk) => (stderr += chunk));
  const exited = new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
  /** Resolves once stdout matches `pattern`; rejects if the process exits first. */
  const waitFor = (pattern) =>
    new Promise((resolve, reject) => {
      const watch = () => pattern.test(stdout) && (watchers.delete(watch), resolve());
      watchers.add(watch);
      watch();
      exited.then((r) => reject(new Error(`train.mjs exited (${r.code ?? r.signal}) before printing ${pattern}:\n${r.stderr}`)));
    });
  return { child, exited, waitFor };
}

/** Every stdout line that reports an epoch, as {name: number}, checked against the platform's regex. */
function epochLines(stdout) {
  return stdout
    .split("\n")
    .filter((line) => line.startsWith("epoch=") && line.includes("loss="))
    .map((line) => {
      const metrics = Object.fromEntries([...line.matchAll(METRIC)].map((m) => [m[1], Number(m[2])]));
      // Each space-separated token must be exactly `name=value`, so the regex sees every value whole.
      const tokens = line.split(" ");
      assert.equal(Object.keys(metrics).length, tokens.length, line);
      for (const token of tokens) assert.match(token, /^[\w|-]+=[+-]?\d+(\.\d+)?$/, line);
      return metrics;
    });
}

const readJson = (path) => JSON.parse(readFileSync(path, "utf8"));

describe("demo-train", { timeout: 60_000 }, () => {
  /** One uninterrupted run with the default flags; other tests compare against it. */
  let baseline;
  const baselineOut = join(root, "baseline-out");

  before(async () => {
    mkdirSync(jobDir);
    for (const file of readdirSync(HERE)) {
      if (file.endsWith(".mjs") && !file.endsWith(".test.mjs")) copyFileSync(join(HERE, file), join(jobDir, file));
    }
    baseline = await startTrain(["--epochs", String(EPOCHS)], { SWITCHYARD_OUTPUT_DIR: baselineOut }).exited;
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it("prints one Katib metrics line per epoch, lowers the loss and reaches 0.9 validation accuracy", () => {
    assert.equal(baseline.code, 0, baseline.stderr);
    const lines = epochLines(baseline.stdout);
    assert.deepEqual(
      lines.map((m) => m.epoch),
      Array.from({ length: EPOCHS }, (_, i) => i + 1),
    );
    for (const m of lines) assert.deepEqual(Object.keys(m), ["epoch", "loss", "accuracy", "val_loss", "val_accuracy"]);
    const first = lines[0];
    const last = lines[lines.length - 1];
    assert.ok(last.loss < first.loss / 5, `loss went from ${first.loss} to ${last.loss}`);
    assert.ok(last.val_accuracy >= 0.9, `validation accuracy ${last.val_accuracy}`);
    assert.ok(last.accuracy >= 0.9, `training accuracy ${last.accuracy}`);

    const metrics = readJson(join(baselineOut, "metrics.json"));
    assert.equal(metrics.epoch, EPOCHS);
    assert.equal(metrics.val_accuracy.toFixed(4), last.val_accuracy.toFixed(4));
    assert.ok(statSync(join(baselineOut, "model.onnx")).size > 1000);
    const model = readJson(join(baselineOut, "model.json"));
    assert.deepEqual(model.classes, ["arm-0", "arm-1", "arm-2"]);
    assert.deepEqual(model.featureNames, ["x", "y"]);
    assert.deepEqual(readdirSync(baselineOut).sort(), ["metrics.json", "model.json", "model.onnx"]);
  });

  it("writes a model.onnx that ONNX Runtime runs like the script's own forward pass, at batch sizes 1 and 7", async () => {
    assert.equal(baseline.code, 0, baseline.stderr);
    const model = readJson(join(baselineOut, "model.json"));
    const session = await ort.InferenceSession.create(join(baselineOut, "model.onnx"));
    assert.deepEqual(session.inputNames, ["input"]);
    assert.deepEqual(session.outputNames, ["probabilities"]);
    const rng = new Rng(7);
    const rows = Array.from({ length: 7 }, () => [rng.next() * 2 - 1, rng.next() * 2 - 1]);
    for (const batch of [rows.slice(0, 1), rows]) {
      const input = new ort.Tensor("float32", Float32Array.from(batch.flat()), [batch.length, 2]);
      const { probabilities } = await session.run({ input });
      assert.deepEqual(probabilities.dims, [batch.length, 3]);
      const expected = predict(model, batch);
      batch.forEach((_, r) => {
        const got = Array.from(probabilities.data.subarray(r * 3, r * 3 + 3));
        assert.ok(Math.abs(got.reduce((a, b) => a + b) - 1) < 1e-5, `row ${r} sums to 1`);
        got.forEach((p, c) => assert.ok(Math.abs(p - expected[r][c]) < 1e-4, `row ${r} class ${c}: ${p} vs ${expected[r][c]}`));
      });
    }
    // The model actually separates the classes: some row is confidently classified.
    const { probabilities } = await session.run({ input: new ort.Tensor("float32", Float32Array.from(rows.flat()), [7, 2]) });
    assert.ok(Math.max(...probabilities.data) > 0.9);
  });

  it("checkpoints on SIGTERM, exits 143, and a second run resumes to the same model as an uninterrupted run", async () => {
    const checkpointDir = join(root, "sigterm-ckpt");
    const out = join(root, "sigterm-out");
    const env = { SWITCHYARD_CHECKPOINT_DIR: checkpointDir, SWITCHYARD_OUTPUT_DIR: out };
    const first = startTrain(["--epochs", String(EPOCHS), "--sleep-ms", "100"], env);
    await first.waitFor(/^epoch=4 /m);
    first.child.kill("SIGTERM");
    const stopped = await first.exited;
    assert.equal(stopped.code, 143, stopped.stderr);
    const epochsBefore = epochLines(stopped.stdout).map((m) => m.epoch);
    assert.ok(epochsBefore.length >= 4 && epochsBefore.length < EPOCHS, `stopped after ${epochsBefore.length} epochs`);
    const checkpoint = readJson(join(checkpointDir, "checkpoint.json"));
    assert.equal(checkpoint.epoch, epochsBefore.at(-1), "the checkpoint holds the last epoch printed");
    assert.deepEqual(readdirSync(checkpointDir), ["checkpoint.json"], "no temp file is left behind");
    assert.equal(existsSync(out), false, "no model is written by an interrupted run");

    const second = await startTrain(["--epochs", String(EPOCHS)], env).exited;
    assert.equal(second.code, 0, second.stderr);
    assert.match(second.stdout, new RegExp(`^resumed from epoch=${checkpoint.epoch}\n`));
    const epochsAfter = epochLines(second.stdout).map((m) => m.epoch);
    assert.deepEqual(
      [...epochsBefore, ...epochsAfter],
      Array.from({ length: EPOCHS }, (_, i) => i + 1),
    );
    assert.deepEqual(readJson(join(out, "metrics.json")), readJson(join(baselineOut, "metrics.json")));
    assert.deepEqual(readFileSync(join(out, "model.onnx")), readFileSync(join(baselineOut, "model.onnx")));
  });

  it("keeps the last periodic checkpoint when the process is killed outright", async () => {
    const checkpointDir = join(root, "sigkill-ckpt");
    const run = startTrain(["--sleep-ms", "150", "--checkpoint-every", "5"], {
      SWITCHYARD_CHECKPOINT_DIR: checkpointDir,
      SWITCHYARD_OUTPUT_DIR: join(root, "sigkill-out"),
    });
    await run.waitFor(/^epoch=7 /m);
    run.child.kill("SIGKILL");
    const { signal } = await run.exited;
    assert.equal(signal, "SIGKILL");
    assert.equal(readJson(join(checkpointDir, "checkpoint.json")).epoch, 5);
  });

  it("refuses to resume from a checkpoint written with a different network shape", async () => {
    const checkpointDir = join(root, "mismatch-ckpt");
    const env = { SWITCHYARD_CHECKPOINT_DIR: checkpointDir, SWITCHYARD_OUTPUT_DIR: join(root, "mismatch-out") };
    assert.equal((await startTrain(["--epochs", "1"], env).exited).code, 0);
    const r = await startTrain(["--epochs", "2", "--hidden", "8"], env).exited;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /written with --hidden 32 but this run has --hidden 8/);
  });

  it("rejects a malformed flag with exit code 2 and the usage text", async () => {
    const r = await startTrain(["--lr", "fast"], {}).exited;
    assert.equal(r.code, 2);
    assert.match(r.stderr, /--lr must be a number/);
    assert.match(r.stderr, /usage: node train\.mjs/);
  });
});

describe("onnx-writer", () => {
  it("encodes varints the way protobuf does, negatives as ten bytes", () => {
    assert.deepEqual([...encodeVarint(0)], [0]);
    assert.deepEqual([...encodeVarint(300)], [0xac, 0x02]);
    assert.deepEqual([...encodeVarint(-1)], [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
  });
});
