// A custom predictor behind the model server: its own process serving the Open Inference Protocol's REST on a
// loopback port; each gRPC call becomes the REST call (the JSON form of @switchyard/inference).
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { DATATYPES, parametersToRest, restInferResponseToTensors, restMetadataToProto, tensorToRest, type Datatype, type Tensor } from "@switchyard/inference";
import type { ModelBackend, ModelSignature, RunOptions } from "./model-backend.js";
import { createPredictorHttp, type PredictorCall } from "./predictor-http.js";
import { freePort, startPredictor, waitUntilReady, type PredictorExit } from "./predictor-process.js";

export interface CustomBackendOptions {
  command: string;
  args: readonly string[];
  /** The model's name in the predictor's paths (`/v2/models/{name}/infer`). */
  modelName: string;
  startupTimeoutMs: number;
  /** The environment the predictor inherits (PORT is added). */
  env: NodeJS.ProcessEnv;
  logger: Logger;
  /** Aborts the start (SIGTERM while waiting for readiness): the predictor is stopped. */
  signal?: AbortSignal;
  /** The predictor exited on its own (not stopped by close): the model server exits with its code. */
  onExit(exit: PredictorExit): void;
}

/** How long a predictor has to exit after SIGTERM before its group is killed. */
const STOP_GRACE_MS = 10_000;

/** The predictor's metadata as a signature (restMetadataToProto refused unknown datatypes already). */
function signatureOf(md: ReturnType<typeof restMetadataToProto>): ModelSignature {
  const spec = (t: { name: string; datatype: string; shape: bigint[] }) => ({ name: t.name, datatype: t.datatype as Datatype, shape: t.shape.map(Number) });
  return { inputs: md.inputs.map(spec), outputs: md.outputs.map(spec) };
}

export async function startCustomBackend(o: CustomBackendOptions): Promise<ModelBackend> {
  const port = await freePort();
  const http = createPredictorHttp(port);
  const proc = startPredictor({ command: o.command, args: o.args, port, env: o.env, logger: o.logger });
  let closing = false;
  void proc.exited.then((exit) => {
    if (closing) return;
    o.logger.error({ code: exit.code, signal: exit.signal }, "the custom predictor exited");
    o.onExit(exit);
  });
  const path = `/v2/models/${encodeURIComponent(o.modelName)}`;
  try {
    await waitUntilReady(http, proc, { timeoutMs: o.startupTimeoutMs, ...(o.signal ? { signal: o.signal } : {}) });
  } catch (err) {
    closing = true;
    await proc.stop(1000);
    http.close();
    throw err;
  }

  async function metadata(call: PredictorCall): Promise<ModelSignature & { platform: string }> {
    const res = await http.get(path, call);
    if (res.status !== 200) throw http.errorOf(res, `GET ${path}`);
    const md = restMetadataToProto(res.body);
    return { ...signatureOf(md), platform: md.platform };
  }

  // What the predictor says about the model at start: requests are checked against it, and batching needs it.
  let signature: ModelSignature | undefined;
  try {
    signature = await metadata({ deadlineMs: Date.now() + 10_000 });
  } catch (err) {
    o.logger.warn({ err: (err as Error).message }, `the custom predictor does not describe the model (GET ${path}): requests are passed on unchecked`);
  }
  o.logger.info({ port, signature }, "custom predictor ready");

  async function infer(inputs: Tensor[], options: RunOptions): Promise<Tensor[]> {
    const body: Record<string, unknown> = { inputs: inputs.map(tensorToRest) };
    if (options.id) body.id = options.id;
    if (options.parameters && Object.keys(options.parameters).length > 0) body.parameters = parametersToRest(options.parameters);
    if (options.outputs && options.outputs.length > 0) body.outputs = options.outputs.map((name) => ({ name }));
    const call: PredictorCall = { ...(options.signal ? { signal: options.signal } : {}), ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}) };
    const res = await http.post(`${path}/infer`, body, call);
    if (res.status !== 200) throw http.errorOf(res, `POST ${path}/infer`);
    try {
      return restInferResponseToTensors(res.body).outputs;
    } catch (err) {
      const e = SwitchyardError.from(err);
      throw new SwitchyardError(Code.Internal, `the custom predictor's answer is not an inference response: ${e.message}`, { details: [...e.details], cause: err });
    }
  }

  return {
    platform: "custom",
    signature,
    infer,
    metadata: (call) => metadata({ ...(call.signal ? { signal: call.signal } : {}), ...(call.deadlineMs !== undefined ? { deadlineMs: call.deadlineMs } : {}) }),
    async warmUp() {
      // The predictor said it is ready; when it described its inputs, one inference on zeros (batch 1) as for ONNX.
      if (signature === undefined) return;
      const zeros = signature.inputs.map((s): Tensor => {
        const shape = (s.shape ?? []).map((d) => (d < 0 ? 1 : d));
        return { name: s.name, datatype: s.datatype, shape, data: DATATYPES[s.datatype].allocate(shape.reduce((a, b) => a * b, 1)) } as Tensor;
      });
      try {
        await infer(zeros, { deadlineMs: Date.now() + o.startupTimeoutMs });
      } catch (err) {
        o.logger.warn({ err: (err as Error).message }, "the warm-up inference on zeros failed (the predictor said it was ready: serving anyway)");
      }
    },
    async close() {
      closing = true;
      const exit = await proc.stop(STOP_GRACE_MS);
      http.close();
      o.logger.info({ code: exit.code, signal: exit.signal }, "custom predictor stopped");
    },
  };
}
