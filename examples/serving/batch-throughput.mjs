#!/usr/bin/env node
// Items per second of an ONNX model in process (ONNX Runtime on one intra-op thread, as the model server runs it by
// default) at several batch sizes: what dynamic batching can gain on this machine. Ratios to batch 1, measured in
// the same run.
//
//   node examples/serving/make-large-model.mjs --out /tmp/large.onnx
//   node examples/serving/batch-throughput.mjs /tmp/large.onnx [--batches 1,8,32] [--seconds 3] [--threads 1]
import { parseArgs } from "node:util";
import * as ort from "onnxruntime-node";

const { values, positionals } = parseArgs({ allowPositionals: true, options: { batches: { type: "string" }, seconds: { type: "string" }, threads: { type: "string" } } });
const model = positionals[0];
if (!model) {
  console.error("usage: node batch-throughput.mjs MODEL.onnx [--batches 1,8,32] [--seconds 3] [--threads 1]");
  process.exit(2);
}
const batches = (values.batches ?? "1,8,32").split(",").map(Number);
const seconds = Number(values.seconds ?? "3");
const session = await ort.InferenceSession.create(model, { intraOpNumThreads: Number(values.threads ?? "1"), interOpNumThreads: 1, executionMode: "sequential", graphOptimizationLevel: "all" });
const meta = session.inputMetadata[0];
const width = meta.shape.slice(1).reduce((a, b) => a * Number(b), 1);
const rows = [];
for (const b of batches) {
  const feed = { [meta.name]: new ort.Tensor("float32", Float32Array.from({ length: b * width }, (_, i) => Math.sin(i)), [b, ...meta.shape.slice(1).map(Number)]) };
  for (let i = 0; i < 5; i++) await session.run(feed);
  let runs = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000) {
    await session.run(feed);
    runs++;
  }
  const ms = (performance.now() - t0) / runs;
  rows.push({ batch: b, msPerRun: ms, itemsPerS: (b * 1000) / ms });
}
const base = rows[0].itemsPerS;
for (const r of rows) console.log(`batch ${String(r.batch).padStart(3)}: ${r.msPerRun.toFixed(2)} ms/run, ${r.itemsPerS.toFixed(0)} items/s (${(r.itemsPerS / base).toFixed(2)}× batch ${rows[0].batch})`);
await session.release();
