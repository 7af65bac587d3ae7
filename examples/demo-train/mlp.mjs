// A multi-layer perceptron with softmax cross-entropy, backpropagation and SGD/Adam, written out by hand.
// All parameters live in one Float64Array so optimizers, checkpoints and exports treat them as one vector.

import { encodeModel } from "./onnx-writer.mjs";

export const ACTIVATIONS = Object.freeze(["tanh", "relu"]);
export const OPTIMIZERS = Object.freeze(["adam", "sgd"]);
export const MODEL_FORMAT = "switchyard.demo-mlp/v1";

/**
 * @typedef {{ fanIn: number, fanOut: number, w: number, b: number }} LayerSlot  offsets into the parameter vector;
 *   the weight is row-major [fanIn, fanOut] (ONNX Gemm's B), the bias [fanOut]
 * @typedef {{ sizes: number[], activation: "tanh" | "relu", layers: LayerSlot[], params: Float64Array }} Mlp
 */

/** @param {number[]} sizes e.g. [2, 32, 32, 3] */
function layout(sizes) {
  const layers = [];
  let offset = 0;
  for (let l = 0; l + 1 < sizes.length; l++) {
    const fanIn = sizes[l];
    const fanOut = sizes[l + 1];
    layers.push({ fanIn, fanOut, w: offset, b: offset + fanIn * fanOut });
    offset += fanIn * fanOut + fanOut;
  }
  return { layers, count: offset };
}

/**
 * A network with Glorot-initialized (tanh) or He-initialized (relu) weights and zero biases.
 * @param {{ sizes: number[], activation: "tanh" | "relu", rng: { normal(): number }, params?: ArrayLike<number> }} options
 *   pass `params` to restore saved weights instead of initializing
 * @returns {Mlp}
 */
export function createMlp({ sizes, activation, rng, params }) {
  const { layers, count } = layout(sizes);
  const vector = new Float64Array(count);
  if (params) {
    if (params.length !== count) throw new RangeError(`expected ${count} parameters, got ${params.length}`);
    vector.set(params);
  } else {
    for (const { fanIn, fanOut, w } of layers) {
      const std = activation === "relu" ? Math.sqrt(2 / fanIn) : Math.sqrt(2 / (fanIn + fanOut));
      for (let i = 0; i < fanIn * fanOut; i++) vector[w + i] = std * rng.normal();
    }
  }
  return { sizes: [...sizes], activation, layers, params: vector };
}

/**
 * Forward pass over `n` rows of `x`. Returns every layer's output; the last one holds the class probabilities.
 * @param {Mlp} net
 * @param {Float64Array} x row-major [n, sizes[0]]
 * @param {number} n
 * @returns {Float64Array[]}
 */
export function forward(net, x, n) {
  const p = net.params;
  const outputs = [x];
  let a = x;
  net.layers.forEach(({ fanIn, fanOut, w, b }, l) => {
    const z = new Float64Array(n * fanOut);
    for (let r = 0; r < n; r++) {
      const zr = r * fanOut;
      for (let j = 0; j < fanOut; j++) z[zr + j] = p[b + j];
      for (let i = 0; i < fanIn; i++) {
        const ai = a[r * fanIn + i];
        if (ai === 0) continue;
        const wi = w + i * fanOut;
        for (let j = 0; j < fanOut; j++) z[zr + j] += ai * p[wi + j];
      }
    }
    if (l === net.layers.length - 1) softmaxRows(z, n, fanOut);
    else if (net.activation === "relu") for (let i = 0; i < z.length; i++) z[i] = z[i] > 0 ? z[i] : 0;
    else for (let i = 0; i < z.length; i++) z[i] = Math.tanh(z[i]);
    outputs.push(z);
    a = z;
  });
  return outputs;
}

function softmaxRows(z, n, width) {
  for (let r = 0; r < n; r++) {
    const o = r * width;
    let max = -Infinity;
    for (let j = 0; j < width; j++) max = Math.max(max, z[o + j]);
    let sum = 0;
    for (let j = 0; j < width; j++) sum += z[o + j] = Math.exp(z[o + j] - max);
    for (let j = 0; j < width; j++) z[o + j] /= sum;
  }
}

/** Mean cross-entropy and accuracy of probabilities `probs` [n, classes] against labels `y`. */
function score(probs, y, n, classes) {
  let loss = 0;
  let correct = 0;
  for (let r = 0; r < n; r++) {
    const o = r * classes;
    let best = 0;
    for (let j = 1; j < classes; j++) if (probs[o + j] > probs[o + best]) best = j;
    if (best === y[r]) correct++;
    loss -= Math.log(Math.max(probs[o + y[r]], 1e-12));
  }
  return { loss: loss / n, accuracy: correct / n };
}

/**
 * @param {Mlp} net
 * @param {{ x: Float64Array, y: Int32Array, n: number }} split
 * @returns {{ loss: number, accuracy: number }}
 */
export function evaluate(net, split) {
  const outputs = forward(net, split.x, split.n);
  return score(outputs[outputs.length - 1], split.y, split.n, net.sizes[net.sizes.length - 1]);
}

/**
 * Backpropagation: writes d(mean cross-entropy)/d(params) for one batch into `grad`, returns the batch's loss.
 * @param {Mlp} net
 * @param {Float64Array} x row-major [n, inputs]
 * @param {Int32Array} y
 * @param {number} n
 * @param {Float64Array} grad same length as net.params
 */
export function backward(net, x, y, n, grad) {
  const p = net.params;
  const outputs = forward(net, x, n);
  const classes = net.sizes[net.sizes.length - 1];
  const probs = outputs[outputs.length - 1];
  const { loss } = score(probs, y, n, classes);
  grad.fill(0);
  let dz = Float64Array.from(probs);
  for (let r = 0; r < n; r++) dz[r * classes + y[r]] -= 1;
  for (let i = 0; i < dz.length; i++) dz[i] /= n;
  for (let l = net.layers.length - 1; l >= 0; l--) {
    const { fanIn, fanOut, w, b } = net.layers[l];
    const a = outputs[l];
    for (let r = 0; r < n; r++) {
      const dr = r * fanOut;
      for (let j = 0; j < fanOut; j++) grad[b + j] += dz[dr + j];
      for (let i = 0; i < fanIn; i++) {
        const ai = a[r * fanIn + i];
        if (ai === 0) continue;
        const wi = w + i * fanOut;
        for (let j = 0; j < fanOut; j++) grad[wi + j] += ai * dz[dr + j];
      }
    }
    if (l === 0) break;
    const da = new Float64Array(n * fanIn);
    for (let r = 0; r < n; r++) {
      for (let i = 0; i < fanIn; i++) {
        const wi = w + i * fanOut;
        let s = 0;
        for (let j = 0; j < fanOut; j++) s += dz[r * fanOut + j] * p[wi + j];
        const ai = a[r * fanIn + i];
        da[r * fanIn + i] = s * (net.activation === "relu" ? (ai > 0 ? 1 : 0) : 1 - ai * ai);
      }
    }
    dz = da;
  }
  return loss;
}

/**
 * Adam (Kingma & Ba) or SGD with momentum 0.9. `state` is plain data (numbers and arrays) so it can be checkpointed.
 * @param {"adam" | "sgd"} kind
 * @param {number} size number of parameters
 * @param {{ t: number, m: ArrayLike<number>, v?: ArrayLike<number> }} [saved] state from a checkpoint
 */
export function createOptimizer(kind, size, saved) {
  const m = new Float64Array(size);
  const v = new Float64Array(kind === "adam" ? size : 0);
  let t = 0;
  if (saved) {
    if (saved.m.length !== size) throw new RangeError(`optimizer state has ${saved.m.length} slots, expected ${size}`);
    m.set(saved.m);
    if (kind === "adam" && saved.v) v.set(saved.v);
    t = saved.t;
  }
  return {
    /** @param {Float64Array} params @param {Float64Array} grad @param {number} lr */
    step(params, grad, lr) {
      t++;
      if (kind === "sgd") {
        for (let i = 0; i < size; i++) {
          m[i] = 0.9 * m[i] + grad[i];
          params[i] -= lr * m[i];
        }
        return;
      }
      const c1 = 1 - 0.9 ** t;
      const c2 = 1 - 0.999 ** t;
      for (let i = 0; i < size; i++) {
        m[i] = 0.9 * m[i] + 0.1 * grad[i];
        v[i] = 0.999 * v[i] + 0.001 * grad[i] * grad[i];
        params[i] -= (lr * (m[i] / c1)) / (Math.sqrt(v[i] / c2) + 1e-8);
      }
    },
    state: () => ({ t, m: Array.from(m), ...(kind === "adam" ? { v: Array.from(v) } : {}) }),
  };
}

/**
 * The exported model as plain JSON data. Weights are rounded to float32, so this file and model.onnx describe
 * exactly the same function.
 * @param {Mlp} net
 * @param {{ featureNames: string[], classes: string[] }} meta
 */
export function toModelJson(net, { featureNames, classes }) {
  const p = net.params;
  return {
    format: MODEL_FORMAT,
    inputName: "input",
    outputName: "probabilities",
    featureNames,
    classes,
    activation: net.activation,
    layers: net.layers.map(({ fanIn, fanOut, w, b }) => ({
      shape: [fanIn, fanOut],
      weight: Array.from(p.subarray(w, w + fanIn * fanOut), Math.fround),
      bias: Array.from(p.subarray(b, b + fanOut), Math.fround),
    })),
  };
}

/**
 * Class probabilities for `rows` from a model.json document — the reference that model.onnx must agree with.
 * @param {ReturnType<typeof toModelJson>} model
 * @param {number[][]} rows
 * @returns {number[][]}
 */
export function predict(model, rows) {
  const sizes = [model.layers[0].shape[0], ...model.layers.map((l) => l.shape[1])];
  const params = model.layers.flatMap((l) => [...l.weight, ...l.bias]);
  const net = createMlp({ sizes, activation: model.activation, rng: { normal: () => 0 }, params });
  const probs = forward(net, Float64Array.from(rows.flat()), rows.length).at(-1);
  const classes = sizes[sizes.length - 1];
  return rows.map((_, r) => Array.from(probs.subarray(r * classes, (r + 1) * classes)));
}

/**
 * model.onnx bytes for a model.json document: input `input` float32 [N, F] → (Gemm → Tanh|Relu)* → Gemm →
 * Softmax → output `probabilities` float32 [N, C], opset 13, with N a symbolic batch dimension.
 * @param {ReturnType<typeof toModelJson>} model
 */
export function toOnnx(model) {
  const nodes = [];
  const initializers = [];
  let current = model.inputName;
  model.layers.forEach((layer, l) => {
    const [fanIn, fanOut] = layer.shape;
    initializers.push({ name: `layer${l}.weight`, dims: [fanIn, fanOut], data: layer.weight });
    initializers.push({ name: `layer${l}.bias`, dims: [fanOut], data: layer.bias });
    const last = l === model.layers.length - 1;
    const z = last ? "logits" : `layer${l}.linear`;
    const inputs = [current, `layer${l}.weight`, `layer${l}.bias`];
    nodes.push({ opType: "Gemm", name: `layer${l}.gemm`, inputs, outputs: [z] });
    if (last) return;
    current = `layer${l}.${model.activation}`;
    const opType = model.activation === "relu" ? "Relu" : "Tanh";
    nodes.push({ opType, name: `layer${l}.activation`, inputs: [z], outputs: [current] });
  });
  nodes.push({
    opType: "Softmax",
    name: "softmax",
    inputs: ["logits"],
    outputs: [model.outputName],
    attributes: [{ name: "axis", type: "int", value: -1 }],
  });
  const features = model.layers[0].shape[0];
  const classes = model.layers[model.layers.length - 1].shape[1];
  return encodeModel({
    irVersion: 7,
    opsetVersion: 13,
    producerName: "switchyard-demo-train",
    producerVersion: "1",
    docString: `MLP over features [${model.featureNames.join(", ")}] → classes [${model.classes.join(", ")}]`,
    metadata: { classes: JSON.stringify(model.classes), featureNames: JSON.stringify(model.featureNames) },
    graph: {
      name: "demo_mlp",
      nodes,
      initializers,
      inputs: [{ name: model.inputName, shape: ["N", features] }],
      outputs: [{ name: model.outputName, shape: ["N", classes] }],
    },
  });
}
