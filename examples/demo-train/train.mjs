#!/usr/bin/env node
// Switchyard's demo training job: an MLP learns to tell interleaved spiral arms apart.
//
// Needs Node 20 and nothing else (no npm packages), so it runs wherever the platform starts it. It prints one
// Katib-style metrics line per epoch on stdout (`epoch=3 loss=0.4123 accuracy=0.8750 ...`), writes model.onnx,
// model.json and metrics.json to $SWITCHYARD_OUTPUT_DIR, and checkpoints to $SWITCHYARD_CHECKPOINT_DIR every few
// epochs and on SIGTERM (then exits 143), resuming from there on the next start. Run with --help for the flags.

import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { parseArgs } from "node:util";
import { Rng, makeSpirals } from "./dataset.mjs";
import { ACTIVATIONS, OPTIMIZERS, backward, createMlp, createOptimizer, evaluate, toModelJson, toOnnx } from "./mlp.mjs";

const CHECKPOINT_FORMAT = "switchyard.demo-train.checkpoint/v1";
const CHECKPOINT_FILE = "checkpoint.json";

/** Every flag; each can also come from the environment as DEMO_TRAIN_<NAME> (e.g. DEMO_TRAIN_EPOCHS). Flags win. */
const FLAGS = {
  epochs: { default: "30", kind: "int", min: 1, help: "training epochs in total (a resumed run counts the ones done)" },
  lr: { default: "0.01", kind: "number", min: Number.MIN_VALUE, help: "learning rate" },
  hidden: { default: "32", kind: "int", min: 1, help: "units per hidden layer" },
  layers: { default: "2", kind: "int", min: 1, help: "hidden layers" },
  activation: { default: "tanh", kind: "choice", choices: ACTIVATIONS, help: "hidden activation" },
  optimizer: { default: "adam", kind: "choice", choices: OPTIMIZERS, help: "adam, or sgd with momentum 0.9" },
  "batch-size": { default: "16", kind: "int", min: 1, help: "examples per mini-batch" },
  classes: { default: "3", kind: "int", min: 2, help: "spiral arms (classes)" },
  "samples-per-class": { default: "500", kind: "int", min: 5, help: "points per arm (20% go to validation)" },
  seed: { default: "42", kind: "int", min: 0, help: "seed for the data, the initial weights and the shuffling" },
  "sleep-ms": { default: "0", kind: "int", min: 0, help: "pause after each epoch (to watch, cancel or preempt it)" },
  "checkpoint-every": { default: "5", kind: "int", min: 0, help: "checkpoint every K epochs (0: on SIGTERM and at the end)" },
};
/** Flags that must match a checkpoint to resume from it: they decide the data and the shape of the state. */
const STATE_FLAGS = ["seed", "classes", "samples-per-class", "hidden", "layers", "activation", "optimizer"];

/** A problem the user must fix (exit code 2). */
class JobError extends Error {}
/** A bad flag or variable: also prints the usage text. */
class UsageError extends JobError {}

function usage() {
  const lines = Object.entries(FLAGS).map(([name, f]) => `  --${name.padEnd(18)} ${f.help} (default ${f.default})`);
  const env = "SWITCHYARD_OUTPUT_DIR (default ./output), SWITCHYARD_CHECKPOINT_DIR (optional), DEMO_TRAIN_<FLAG>";
  return `usage: node train.mjs [flags]\n${lines.join("\n")}\n\nenv: ${env}`;
}

/** Parses flags and DEMO_TRAIN_* variables into a validated, frozen options object. */
function parseOptions(argv, env) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { help: { type: "boolean" }, ...Object.fromEntries(Object.keys(FLAGS).map((k) => [k, { type: "string" }])) },
  });
  if (values.help) return { help: true };
  const options = {};
  for (const [name, flag] of Object.entries(FLAGS)) {
    const envName = `DEMO_TRAIN_${name.toUpperCase().replaceAll("-", "_")}`;
    const raw = values[name] ?? env[envName] ?? flag.default;
    const where = values[name] !== undefined ? `--${name}` : env[envName] !== undefined ? envName : `--${name}`;
    if (flag.kind === "choice") {
      if (!flag.choices.includes(raw)) throw new UsageError(`${where} must be one of ${flag.choices.join(", ")}, got "${raw}"`);
      options[name] = raw;
      continue;
    }
    const value = Number(raw);
    const ok = raw.trim() !== "" && Number.isFinite(value) && (flag.kind !== "int" || Number.isSafeInteger(value));
    if (!ok || value < flag.min) {
      throw new UsageError(`${where} must be ${flag.kind === "int" ? "an integer" : "a number"} ≥ ${flag.min}, got "${raw}"`);
    }
    options[name] = value;
  }
  options.outputDir = resolve(env.SWITCHYARD_OUTPUT_DIR || "output");
  options.checkpointDir = env.SWITCHYARD_CHECKPOINT_DIR ? resolve(env.SWITCHYARD_CHECKPOINT_DIR) : undefined;
  return Object.freeze(options);
}

/** Writes `data` to `path` so readers see the old file or the new one, never half of one: temp file, fsync, rename. */
function writeFileAtomic(path, data) {
  const temp = `${path}.tmp-${process.pid}`;
  const fd = openSync(temp, "w");
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

/** The checkpoint in `dir`, or undefined when there is none. Throws a UsageError when it was made by other flags. */
function readCheckpoint(dir, options) {
  let text;
  try {
    text = readFileSync(join(dir, CHECKPOINT_FILE), "utf8");
  } catch (error) {
    if (error.code === "ENOENT") return undefined;
    throw error;
  }
  let checkpoint;
  try {
    checkpoint = JSON.parse(text);
  } catch (error) {
    throw new JobError(`${join(dir, CHECKPOINT_FILE)} is not valid JSON (${error.message}); delete it to start over`);
  }
  if (checkpoint?.format !== CHECKPOINT_FORMAT) {
    throw new JobError(`${join(dir, CHECKPOINT_FILE)} is not a demo-train checkpoint (format ${checkpoint?.format})`);
  }
  for (const name of STATE_FLAGS) {
    if (checkpoint.config[name] !== options[name]) {
      throw new JobError(
        `${join(dir, CHECKPOINT_FILE)} was written with --${name} ${checkpoint.config[name]} but this run has ` +
          `--${name} ${options[name]}; run with the same flags, or delete the checkpoint to start over`,
      );
    }
  }
  return checkpoint;
}

/** `epoch=3 loss=0.4123 ...`: Katib's stdout metrics format, plain decimals (never exponents, NaN or Infinity). */
const metricsLine = (metrics) =>
  Object.entries(metrics)
    .map(([name, value]) => `${name}=${name === "epoch" ? value : value.toFixed(4)}`)
    .join(" ");

async function main() {
  const options = parseOptions(process.argv.slice(2), process.env);
  if (options.help) {
    console.log(usage());
    return 0;
  }
  const data = makeSpirals({ seed: options.seed, classes: options.classes, perClass: options["samples-per-class"] });
  const sizes = [2, ...Array(options.layers).fill(options.hidden), options.classes];
  const checkpoint = options.checkpointDir && readCheckpoint(options.checkpointDir, options);
  // One RNG for everything that happens during training (initial weights, shuffles); its state is checkpointed.
  const rng = new Rng(checkpoint ? checkpoint.rng : options.seed);
  const net = createMlp({ sizes, activation: options.activation, rng, params: checkpoint?.params });
  const optimizer = createOptimizer(options.optimizer, net.params.length, checkpoint?.optimizer);
  let epoch = checkpoint ? checkpoint.epoch : 0;
  if (checkpoint) console.log(`resumed from epoch=${epoch}`);
  console.error(
    `demo-train: ${data.train.n} training and ${data.validation.n} validation points, MLP ${sizes.join("→")} ` +
      `(${options.activation}), ${options.optimizer} lr ${options.lr}, ${options.epochs} epochs`,
  );

  const saveCheckpoint = () => {
    if (!options.checkpointDir) return;
    mkdirSync(options.checkpointDir, { recursive: true });
    const config = Object.fromEntries(STATE_FLAGS.map((name) => [name, options[name]]));
    const params = Array.from(net.params);
    const state = { format: CHECKPOINT_FORMAT, epoch, config, rng: rng.state, params, optimizer: optimizer.state() };
    writeFileAtomic(join(options.checkpointDir, CHECKPOINT_FILE), JSON.stringify(state));
  };

  const measure = () => {
    const train = evaluate(net, data.train);
    const val = evaluate(net, data.validation);
    return { epoch, loss: train.loss, accuracy: train.accuracy, val_loss: val.loss, val_accuracy: val.accuracy };
  };

  // A signal only sets a flag (and cuts the pause short): the state is saved between epochs, where it is whole.
  const stop = new AbortController();
  let stopSignal;
  const onSignal = (signal) => {
    stopSignal = signal;
    stop.abort();
  };
  process.on("SIGTERM", onSignal).on("SIGINT", onSignal);

  const batchSize = options["batch-size"];
  const order = new Int32Array(data.train.n);
  const grad = new Float64Array(net.params.length);
  const bx = new Float64Array(batchSize * 2);
  const by = new Int32Array(batchSize);
  while (epoch < options.epochs && !stop.signal.aborted) {
    // A fresh permutation each epoch, drawn only from the RNG, so a resumed run shuffles as an uninterrupted one.
    for (let i = 0; i < order.length; i++) order[i] = i;
    rng.shuffle(order);
    for (let start = 0; start < order.length; start += batchSize) {
      const n = Math.min(batchSize, order.length - start);
      for (let r = 0; r < n; r++) {
        const i = order[start + r];
        bx[r * 2] = data.train.x[i * 2];
        bx[r * 2 + 1] = data.train.x[i * 2 + 1];
        by[r] = data.train.y[i];
      }
      backward(net, bx, by, n, grad);
      optimizer.step(net.params, grad, options.lr);
    }
    epoch++;
    const metrics = measure();
    if (!Number.isFinite(metrics.loss)) {
      console.error(`demo-train: training diverged at epoch ${epoch} (loss is ${metrics.loss}); try a smaller --lr`);
      return 1;
    }
    console.log(metricsLine(metrics));
    if (options["checkpoint-every"] > 0 && epoch % options["checkpoint-every"] === 0) saveCheckpoint();
    // Yield to the event loop every epoch, even without --sleep-ms, so a SIGTERM is seen within one epoch.
    await sleep(options["sleep-ms"], undefined, { signal: stop.signal }).catch(() => {});
  }
  process.off("SIGTERM", onSignal).off("SIGINT", onSignal);
  if (stop.signal.aborted && epoch < options.epochs) {
    saveCheckpoint();
    const where = options.checkpointDir
      ? `checkpoint saved to ${options.checkpointDir}`
      : "no SWITCHYARD_CHECKPOINT_DIR, so progress is lost";
    console.error(`demo-train: stopped by ${stopSignal} after epoch ${epoch}; ${where}`);
    return stopSignal === "SIGINT" ? 130 : 143;
  }

  saveCheckpoint();
  const model = toModelJson(net, data);
  mkdirSync(options.outputDir, { recursive: true });
  writeFileAtomic(join(options.outputDir, "model.onnx"), toOnnx(model));
  writeFileAtomic(join(options.outputDir, "model.json"), JSON.stringify(model));
  writeFileAtomic(join(options.outputDir, "metrics.json"), `${JSON.stringify(measure(), null, 2)}\n`);
  console.error(`demo-train: wrote model.onnx, model.json and metrics.json to ${options.outputDir}`);
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error) => {
    const isUsage = error instanceof UsageError || String(error?.code).startsWith("ERR_PARSE_ARGS");
    if (isUsage) console.error(`demo-train: ${error.message}\n${usage()}`);
    else if (error instanceof JobError) console.error(`demo-train: ${error.message}`);
    else console.error(`demo-train: ${error?.stack ?? error}`);
    process.exitCode = isUsage || error instanceof JobError ? 2 : 1;
  },
);
