import type { InferParameter } from "@switchyard/api";
import type { Datatype, Tensor } from "@switchyard/inference";

/** One input or output of a model: its datatype and shape, -1 for a variable dimension (rank unknown: undefined). */
export interface TensorSpec {
  readonly name: string;
  readonly datatype: Datatype;
  readonly shape: readonly number[] | undefined;
}

export interface ModelSignature {
  readonly inputs: readonly TensorSpec[];
  readonly outputs: readonly TensorSpec[];
}

/** What one run is asked besides its inputs (a batch has none of it: it runs for several callers). */
export interface RunOptions {
  /** Outputs to compute (undefined: all). */
  outputs?: readonly string[];
  /** The caller's cancellation and deadline (unbatched runs only). */
  signal?: AbortSignal;
  deadlineMs?: number;
  /** The request's id and parameters, passed on to a custom predictor (unbatched runs only). */
  id?: string;
  parameters?: { [k: string]: InferParameter };
}

/** What runs the model: ONNX Runtime in process (backend-onnx.ts) or a custom predictor over REST (backend-custom.ts). */
export interface ModelBackend {
  /** The protocol's `platform` (`onnxruntime_onnx`, `custom`). */
  readonly platform: string;
  /** The model's inputs and outputs as known at start (ONNX: always; a custom predictor: when it answers metadata). */
  readonly signature: ModelSignature | undefined;
  infer(inputs: Tensor[], options: RunOptions): Promise<Tensor[]>;
  /** The metadata to answer ModelMetadata with (a custom predictor is asked each time). */
  metadata(options: { signal?: AbortSignal; deadlineMs?: number }): Promise<ModelSignature>;
  /** One inference before the server says it is ready (ONNX: zeros of the input shapes, batch 1). */
  warmUp(): Promise<void>;
  /** Ends with in-flight runs done (a custom predictor: SIGTERM, then SIGKILL after a grace). */
  close(): Promise<void>;
}
