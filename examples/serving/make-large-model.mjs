#!/usr/bin/env node
// Writes an ONNX MLP large enough that one inference costs more than a gRPC hop (about 1–3 ms at batch 1 on one
// core): float32 512 → 2048 → 2048 → 512 by default, ReLU between layers, a dynamic batch dimension ("N"), input
// `input` FP32 [N, 512] → output `output` FP32 [N, 512]. Random weights from a seed (the same seed, the same file).
//
// Made on demand, never committed (about 25 MB): node examples/serving/make-large-model.mjs [--out PATH]
// [--sizes 512,2048,2048,512] [--seed 1]. Prints the file's size and the parameter count.
import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { encodeModel } from "../demo-train/onnx-writer.mjs";

const usage = "usage: node make-large-model.mjs [--out PATH (default large-model.onnx)] [--sizes 512,2048,2048,512] [--seed N]";

function main() {
  let values;
  try {
    ({ values } = parseArgs({ options: { out: { type: "string" }, sizes: { type: "string" }, seed: { type: "string" }, help: { type: "boolean" } }, strict: true }));
  } catch (err) {
    console.error(`${err.message}\n${usage}`);
    process.exit(2);
  }
  if (values.help) {
    console.log(usage);
    return;
  }
  const sizes = (values.sizes ?? "512,2048,2048,512").split(",").map(Number);
  const seed = Number(values.seed ?? "1");
  if (sizes.length < 2 || sizes.some((n) => !Number.isSafeInteger(n) || n < 1) || !Number.isSafeInteger(seed)) {
    console.error(`--sizes takes two or more positive integers and --seed an integer\n${usage}`);
    process.exit(2);
  }
  const out = resolve(values.out ?? "large-model.onnx");

  // xorshift32: a seeded generator, so the same flags write the same file.
  let state = seed >>> 0 || 1;
  const uniform = () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 2 ** 32;
  };
  const nodes = [];
  const initializers = [];
  let current = "input";
  let params = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const [fanIn, fanOut] = [sizes[l], sizes[l + 1]];
    // He-uniform weights keep activations in range through the ReLUs.
    const bound = Math.sqrt(6 / fanIn);
    const weight = new Float32Array(fanIn * fanOut);
    for (let i = 0; i < weight.length; i++) weight[i] = (uniform() * 2 - 1) * bound;
    const bias = new Float32Array(fanOut);
    initializers.push({ name: `layer${l}.weight`, dims: [fanIn, fanOut], data: weight }, { name: `layer${l}.bias`, dims: [fanOut], data: bias });
    params += weight.length + bias.length;
    const last = l + 2 === sizes.length;
    const z = last ? "output" : `layer${l}.linear`;
    nodes.push({ opType: "Gemm", name: `layer${l}.gemm`, inputs: [current, `layer${l}.weight`, `layer${l}.bias`], outputs: [z] });
    if (!last) {
      current = `layer${l}.relu`;
      nodes.push({ opType: "Relu", name: `layer${l}.activation`, inputs: [z], outputs: [current] });
    }
  }
  const bytes = encodeModel({
    producerName: "switchyard-examples-serving",
    docString: `MLP ${sizes.join(" → ")} (ReLU), random weights (seed ${seed}): a model that takes a few milliseconds per inference`,
    graph: {
      name: "large_mlp",
      nodes,
      initializers,
      inputs: [{ name: "input", shape: ["N", sizes[0]] }],
      outputs: [{ name: "output", shape: ["N", sizes[sizes.length - 1]] }],
    },
  });
  writeFileSync(out, bytes);
  console.log(`wrote ${out}: ${(bytes.length / 1024 ** 2).toFixed(1)} MiB, ${params.toLocaleString("en-US")} parameters (${sizes.join(" → ")}), input "input" FP32 [N, ${sizes[0]}] → output "output" FP32 [N, ${sizes[sizes.length - 1]}]`);
}

main();
