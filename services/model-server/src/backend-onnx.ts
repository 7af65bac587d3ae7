// ONNX Runtime in process (onnxruntime-node: its CPU binaries ship in the package). Loaded only when a model server
// serves an ONNX model, so a custom predictor's bridge does not pay for it.
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { DATATYPES, datatypeOfOnnx, type Tensor } from "@switchyard/inference";
import type * as Ort from "onnxruntime-node";
import type { ModelBackend, ModelSignature, RunOptions, TensorSpec } from "./model-backend.js";

export interface OnnxBackendOptions {
  /** The .onnx file, or its bytes (sent over ModelServer.LoadModel). */
  model: string | Uint8Array;
  /** Threads one inference may use (intraOpNumThreads). */
  intraOpThreads: number;
  /** Use the CUDA execution provider (refused clearly when onnxruntime-node has none here). */
  gpu: boolean;
  logger: Logger;
}

const utf8 = new TextEncoder();
const utf8Lossy = new TextDecoder("utf-8");

/** The model's inputs and outputs as the protocol shows them; tensors only, of types the protocol has. */
function signatureOf(session: Ort.InferenceSession): ModelSignature {
  const spec = (kind: string, m: Ort.InferenceSession.ValueMetadata): TensorSpec => {
    if (!m.isTensor) throw new SwitchyardError(Code.FailedPrecondition, `the model's ${kind} ${JSON.stringify(m.name)} is not a tensor (a sequence or map): the Open Inference Protocol carries tensors only`);
    const datatype = datatypeOfOnnx(m.type);
    if (datatype === undefined) throw new SwitchyardError(Code.FailedPrecondition, `the model's ${kind} ${JSON.stringify(m.name)} is of type ${m.type}, which the Open Inference Protocol has no datatype for`);
    // ONNX Runtime gives [] both for a scalar and for a tensor of unknown rank: the latter is the safer reading.
    const shape = m.shape.length === 0 ? undefined : m.shape.map((d) => (typeof d === "number" && d >= 0 ? d : -1));
    return { name: m.name, datatype, shape };
  };
  return { inputs: session.inputMetadata.map((m) => spec("input", m)), outputs: session.outputMetadata.map((m) => spec("output", m)) };
}

export async function openOnnxBackend(o: OnnxBackendOptions): Promise<ModelBackend> {
  const ort = (await import("onnxruntime-node")) as typeof Ort;
  const options: Ort.InferenceSession.SessionOptions = {
    intraOpNumThreads: o.intraOpThreads,
    interOpNumThreads: 1,
    executionMode: "sequential",
    graphOptimizationLevel: "all",
    executionProviders: o.gpu ? ["cuda"] : ["cpu"],
  };
  let session: Ort.InferenceSession;
  try {
    session = typeof o.model === "string" ? await ort.InferenceSession.create(o.model, options) : await ort.InferenceSession.create(o.model, options);
  } catch (err) {
    const text = String((err as Error).message ?? err).split("\n")[0]!.slice(0, 400);
    if (o.gpu) {
      throw new SwitchyardError(
        Code.FailedPrecondition,
        `--gpu: ONNX Runtime's CUDA execution provider is not available to onnxruntime-node here (${text}). Its CUDA libraries are installed by the package's install script, which this platform does not run; serve on the CPU (without --gpu), or with a custom predictor that uses the GPU`,
        { cause: err },
      );
    }
    throw new SwitchyardError(Code.FailedPrecondition, `cannot load the ONNX model ${typeof o.model === "string" ? o.model : `(${o.model.length} bytes received)`}: ${text}`, { cause: err });
  }
  const signature = signatureOf(session);
  o.logger.info({ model: typeof o.model === "string" ? o.model : `${o.model.length} bytes`, inputs: signature.inputs, outputs: signature.outputs, intraOpThreads: o.intraOpThreads, gpu: o.gpu }, "ONNX model loaded");

  const toOrt = (t: Tensor): Ort.Tensor => {
    const type = DATATYPES[t.datatype].onnxType;
    if (t.datatype === "BYTES") return new ort.Tensor("string", t.data.map((b) => utf8Lossy.decode(b)), t.shape);
    return new ort.Tensor(type as "float32", t.data as Float32Array, t.shape);
  };
  const fromOrt = (name: string, v: Ort.OnnxValue): Tensor => {
    const datatype = datatypeOfOnnx(v.type);
    if (datatype === undefined) throw new SwitchyardError(Code.Internal, `output ${JSON.stringify(name)} is of type ${v.type}, which the protocol has no datatype for`);
    const shape = v.dims.slice();
    if (datatype === "BYTES") return { name, datatype, shape, data: (v.data as string[]).map((s) => utf8.encode(s)) };
    return { name, datatype, shape, data: v.data } as Tensor;
  };

  async function run(inputs: Tensor[], names: readonly string[]): Promise<Tensor[]> {
    const feeds: Record<string, Ort.Tensor> = {};
    for (const t of inputs) feeds[t.name] = toOrt(t);
    let results: Ort.InferenceSession.ReturnType;
    try {
      results = await session.run(feeds, names as string[]);
    } catch (err) {
      // A shape the graph cannot take past the checked dimensions (e.g. two inputs that must agree): the request's.
      throw new SwitchyardError(Code.InvalidArgument, `the model could not run on these inputs: ${String((err as Error).message ?? err).split("\n")[0]!.slice(0, 600)}`, { cause: err });
    }
    return names.map((n) => fromOrt(n, results[n]!));
  }

  const allOutputs = signature.outputs.map((s) => s.name);
  return {
    platform: "onnxruntime_onnx",
    signature,
    infer: (inputs: Tensor[], options: RunOptions) => run(inputs, options.outputs && options.outputs.length > 0 ? options.outputs : allOutputs),
    metadata: async () => signature,
    async warmUp() {
      // Zeros of each input's shape, variable dimensions (the batch) as 1: the first run allocates and plans.
      const zeros = signature.inputs.map((s): Tensor => {
        const shape = (s.shape ?? []).map((d) => (d < 0 ? 1 : d));
        const count = shape.reduce((a, b) => a * b, 1);
        return { name: s.name, datatype: s.datatype, shape, data: DATATYPES[s.datatype].allocate(count) } as Tensor;
      });
      const t0 = performance.now();
      await run(zeros, allOutputs);
      o.logger.info({ ms: Math.round((performance.now() - t0) * 100) / 100 }, "warm-up inference done");
    },
    async close() {
      await session.release();
    },
  };
}
