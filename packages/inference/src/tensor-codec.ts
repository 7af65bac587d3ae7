// Tensors ↔ the gRPC messages of the Open Inference Protocol: typed `contents` or `raw_*_contents`.
import { create } from "@bufbuild/protobuf";
import {
  InferTensorContentsSchema,
  ModelInferRequest_InferInputTensorSchema,
  ModelInferResponse_InferOutputTensorSchema,
  type InferTensorContents,
  type ModelInferRequest,
  type ModelInferRequest_InferInputTensor,
  type ModelInferResponse,
  type ModelInferResponse_InferOutputTensor,
} from "@switchyard/api";
import { Code, SwitchyardError, type FieldViolation } from "@switchyard/core";
import { CONTENTS_FIELD_NAMES, DATATYPES, formatShape, unsupportedDatatype, type ContentsField, type Datatype, type FixedSizeData, type Tensor, type TensorData } from "./datatypes.js";
import { bytesFromRaw, dataToRaw, fixedFromRaw } from "./raw-bytes.js";

/** Which side of a call a tensor list is: errors in inputs are the caller's, errors in outputs the server's. */
interface Side {
  readonly kind: "input" | "output";
  readonly list: "inputs" | "outputs";
  readonly raw: "raw_input_contents" | "raw_output_contents";
  readonly code: Code;
}
const INPUTS: Side = { kind: "input", list: "inputs", raw: "raw_input_contents", code: Code.InvalidArgument };
const OUTPUTS: Side = { kind: "output", list: "outputs", raw: "raw_output_contents", code: Code.Internal };

/** What the input and output tensor messages have in common. */
interface ProtoTensor {
  name: string;
  datatype: string;
  shape: bigint[];
  contents?: InferTensorContents | undefined;
}

const CONTENTS_FIELDS = Object.keys(CONTENTS_FIELD_NAMES) as ContentsField[];
const FIELD_NAMES = CONTENTS_FIELD_NAMES;

/** `input "x": <problem>`, with the violation; INVALID_ARGUMENT for inputs, INTERNAL for outputs (the server's fault). */
function tensorError(side: Side, name: string, field: string, problem: string, expected?: string, got?: string): SwitchyardError {
  const what = `${side.kind} ${JSON.stringify(name)}`;
  const text = expected !== undefined ? `${what}: ${problem}: expected ${expected}, got ${got ?? "something else"}` : `${what}: ${problem}`;
  const violation: FieldViolation = { field, message: problem, ...(expected !== undefined ? { expected } : {}), ...(got !== undefined ? { got } : {}) };
  return new SwitchyardError(side.code, text, { details: [violation] });
}

function decodeTensors(tensors: readonly ProtoTensor[], raw: readonly Uint8Array[], side: Side): Tensor[] {
  if (raw.length > 0 && raw.length !== tensors.length) {
    const problem = `${side.raw} has ${raw.length} entries for ${tensors.length} ${side.list}: give raw contents for every ${side.kind} (in order) or for none`;
    throw new SwitchyardError(side.code, problem, { details: [{ field: side.raw, message: problem, expected: `${tensors.length} entries`, got: String(raw.length) }] });
  }
  const seen = new Set<string>();
  return tensors.map((t, i) => {
    if (seen.has(t.name)) throw tensorError(side, t.name, `${side.list}[${i}].name`, `appears twice in ${side.list}`);
    seen.add(t.name);
    return decodeTensor(t, i, raw.length > 0 ? raw[i] : undefined, side);
  });
}

function decodeTensor(t: ProtoTensor, index: number, raw: Uint8Array | undefined, side: Side): Tensor {
  const base = `${side.list}[${index}]`;
  if (t.name === "") throw new SwitchyardError(side.code, `${base}: a tensor needs a name`, { details: [{ field: `${base}.name`, message: "empty", expected: "a tensor name" }] });
  const why = unsupportedDatatype(t.datatype);
  if (why !== undefined) throw tensorError(side, t.name, `${base}.datatype`, why);
  const datatype = t.datatype as Datatype;
  const shape: number[] = [];
  for (const d of t.shape) {
    if (d < 0n || d > BigInt(Number.MAX_SAFE_INTEGER)) throw tensorError(side, t.name, `${base}.shape`, "every dimension must be a non-negative size", "sizes ≥ 0", formatShape(t.shape));
    shape.push(Number(d));
  }
  let count = 1;
  for (const d of shape) count *= d;
  if (!Number.isSafeInteger(count)) throw tensorError(side, t.name, `${base}.shape`, "the shape holds more elements than can be counted", "a smaller shape", formatShape(shape));
  const info = DATATYPES[datatype];
  const contents = t.contents;
  if (raw !== undefined) {
    const typed = contents !== undefined ? CONTENTS_FIELDS.find((f) => contents[f].length > 0) : undefined;
    if (typed !== undefined) throw tensorError(side, t.name, `${base}.contents.${FIELD_NAMES[typed]}`, `has both contents.${FIELD_NAMES[typed]} and ${side.raw}[${index}]: give one`);
    const field = `${side.raw}[${index}]`;
    if (datatype === "BYTES") {
      const elements = bytesFromRaw(raw, count);
      if (!Array.isArray(elements)) throw tensorError(side, t.name, field, `${elements.problem} (shape ${formatShape(shape)})`, elements.expected, elements.got);
      return { name: t.name, datatype, shape, data: elements };
    }
    const expected = count * info.elementBytes;
    if (raw.length !== expected) {
      throw tensorError(side, t.name, field, `wrong size of raw contents for ${datatype} ${formatShape(shape)}`, `${expected} bytes (${count} elements × ${info.elementBytes})`, `${raw.length} bytes`);
    }
    return { name: t.name, datatype, shape, data: fixedFromRaw(datatype, count, raw) } as Tensor;
  }
  const field = info.contentsField;
  for (const f of CONTENTS_FIELDS) {
    if (f === field || contents === undefined || contents[f].length === 0) continue;
    const carrier = field === undefined ? `${side.raw} (the protocol has no typed contents for FP16)` : `contents.${FIELD_NAMES[field]}`;
    throw tensorError(side, t.name, `${base}.contents.${FIELD_NAMES[f]}`, `datatype ${datatype} carries its values in ${carrier}`, carrier, `contents.${FIELD_NAMES[f]}`);
  }
  if (field === undefined) {
    if (count === 0) return { name: t.name, datatype, shape, data: new Uint16Array(0) } as Tensor;
    throw tensorError(side, t.name, side.raw, `the protocol has no typed contents for ${datatype}: send its ${count} elements in ${side.raw}`);
  }
  const where = `${base}.contents.${FIELD_NAMES[field]}`;
  const values: readonly unknown[] = contents === undefined ? [] : contents[field];
  if (values.length !== count) {
    throw tensorError(side, t.name, where, `wrong number of elements for shape ${formatShape(shape)}`, `${count} elements`, `${values.length} in contents.${FIELD_NAMES[field]}`);
  }
  return { name: t.name, datatype, shape, data: fromTyped(datatype, values, (k, v) => tensorError(side, t.name, `${where}[${k}]`, `element ${k} is outside ${datatype}'s range`, `[${String(info.min)}, ${String(info.max)}]`, String(v))) } as Tensor;
}

/** Typed contents → the datatype's array (range-checked where the carrier is wider: INT8/16, UINT8/16). */
function fromTyped(datatype: Datatype, values: readonly unknown[], outOfRange: (index: number, value: unknown) => SwitchyardError): TensorData {
  switch (datatype) {
    case "BOOL":
      return Uint8Array.from(values as boolean[], (b) => (b ? 1 : 0));
    case "INT64":
      return BigInt64Array.from(values as bigint[]);
    case "UINT64":
      return BigUint64Array.from(values as bigint[]);
    case "BYTES":
      return (values as Uint8Array[]).slice();
    case "FP16":
      return new Uint16Array(0);
    default: {
      const info = DATATYPES[datatype];
      const out = info.allocate(values.length) as FixedSizeData;
      const nums = values as number[];
      if (info.min !== undefined && datatype !== "INT32" && datatype !== "UINT32") {
        const min = Number(info.min);
        const max = Number(info.max);
        for (let k = 0; k < nums.length; k++) if (nums[k]! < min || nums[k]! > max) throw outOfRange(k, nums[k]);
      }
      (out as Float64Array).set(nums);
      return out;
    }
  }
}

/** The typed contents of a tensor's data (FP16 has none: callers send it raw). */
function toTyped(t: Tensor): InferTensorContents {
  switch (t.datatype) {
    case "BOOL":
      return create(InferTensorContentsSchema, { boolContents: Array.from(t.data, (v) => v !== 0) });
    case "INT8":
    case "INT16":
    case "INT32":
      return create(InferTensorContentsSchema, { intContents: Array.from(t.data) });
    case "UINT8":
    case "UINT16":
    case "UINT32":
      return create(InferTensorContentsSchema, { uintContents: Array.from(t.data) });
    case "INT64":
      return create(InferTensorContentsSchema, { int64Contents: Array.from(t.data) });
    case "UINT64":
      return create(InferTensorContentsSchema, { uint64Contents: Array.from(t.data) });
    case "FP32":
      return create(InferTensorContentsSchema, { fp32Contents: Array.from(t.data) });
    case "FP64":
      return create(InferTensorContentsSchema, { fp64Contents: Array.from(t.data) });
    case "BYTES":
      return create(InferTensorContentsSchema, { bytesContents: t.data });
    case "FP16":
      throw new SwitchyardError(Code.Internal, `FP16 tensor ${JSON.stringify(t.name)} has no typed contents: encode it raw`);
  }
}

/** Checks that a tensor about to be sent holds as many elements as its shape says (a server-side bug otherwise). */
function checkWhole(t: Tensor, side: Side): void {
  let count = 1;
  for (const d of t.shape) count *= d;
  if (t.data.length !== count) throw tensorError({ ...side, code: Code.Internal }, t.name, side.list, `holds ${t.data.length} elements for shape ${formatShape(t.shape)}`);
}

/** Whether tensors go as raw contents: when asked, or when one of them is FP16 (the protocol's rule: all raw or none). */
function rawNeeded(tensors: readonly Tensor[], raw: boolean | undefined): boolean {
  return raw === true || tensors.some((t) => t.datatype === "FP16");
}

export interface EncodeOptions {
  /** Send the data as raw contents (default false: typed contents). FP16 tensors force raw for all (the protocol has no typed FP16). */
  raw?: boolean;
}

/** Decodes a request's inputs (typed or raw contents), checking element counts and datatypes: INVALID_ARGUMENT naming the input. */
export function decodeInputs(req: Pick<ModelInferRequest, "inputs" | "rawInputContents">): Tensor[] {
  return decodeTensors(req.inputs, req.rawInputContents, INPUTS);
}

/** Decodes a response's outputs; a malformed response is INTERNAL (the server's fault, not the caller's). */
export function decodeOutputs(resp: Pick<ModelInferResponse, "outputs" | "rawOutputContents">): Tensor[] {
  return decodeTensors(resp.outputs, resp.rawOutputContents, OUTPUTS);
}

/** Tensors as a request's inputs (what a client sends), typed contents or raw. */
export function encodeInputs(tensors: readonly Tensor[], options: EncodeOptions = {}): { inputs: ModelInferRequest_InferInputTensor[]; rawInputContents: Uint8Array[] } {
  const raw = rawNeeded(tensors, options.raw);
  const inputs = tensors.map((t) => {
    checkWhole(t, INPUTS);
    return create(ModelInferRequest_InferInputTensorSchema, { name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt), ...(raw ? {} : { contents: toTyped(t) }) });
  });
  return { inputs, rawInputContents: raw ? tensors.map((t) => dataToRaw(t.data)) : [] };
}

/**
 * Tensors as a response's outputs: raw contents when the request sent raw inputs (as Triton answers), typed
 * contents otherwise — except that any FP16 output makes them all raw.
 */
export function encodeOutputs(tensors: readonly Tensor[], options: EncodeOptions = {}): { outputs: ModelInferResponse_InferOutputTensor[]; rawOutputContents: Uint8Array[] } {
  const raw = rawNeeded(tensors, options.raw);
  const outputs = tensors.map((t) => {
    checkWhole(t, OUTPUTS);
    return create(ModelInferResponse_InferOutputTensorSchema, { name: t.name, datatype: t.datatype, shape: t.shape.map(BigInt), ...(raw ? {} : { contents: toTyped(t) }) });
  });
  return { outputs, rawOutputContents: raw ? tensors.map((t) => dataToRaw(t.data)) : [] };
}
