import { Code, SwitchyardError, invalidArgument } from "@switchyard/core";

/** The tensor datatypes of the Open Inference Protocol that Switchyard serves (BF16 is refused: see `parseDatatype`). */
export type Datatype = "BOOL" | "UINT8" | "UINT16" | "UINT32" | "UINT64" | "INT8" | "INT16" | "INT32" | "INT64" | "FP16" | "FP32" | "FP64" | "BYTES";

/** How a tensor's elements are held in memory, per datatype: what ONNX Runtime's Node API takes and gives. */
export interface DatatypeArrays {
  /** One byte per element, 0 or 1. */
  BOOL: Uint8Array;
  UINT8: Uint8Array;
  UINT16: Uint16Array;
  UINT32: Uint32Array;
  UINT64: BigUint64Array;
  INT8: Int8Array;
  INT16: Int16Array;
  INT32: Int32Array;
  INT64: BigInt64Array;
  /** binary16 bit patterns (fp16.ts converts). */
  FP16: Uint16Array;
  FP32: Float32Array;
  FP64: Float64Array;
  /** One byte string per element (UTF-8 when it is text). */
  BYTES: Uint8Array[];
}

export type TensorData = DatatypeArrays[Datatype];
export type FixedSizeData = Exclude<TensorData, Uint8Array[]>;

/** A tensor: elements row-major in `data`, `shape` with one size per dimension (no -1 here). */
export type Tensor = { [D in Datatype]: { name: string; datatype: D; shape: number[]; data: DatatypeArrays[D] } }[Datatype];

/** The field of `InferTensorContents` (protobuf-es name) that carries a datatype's values in typed form. */
export type ContentsField = "boolContents" | "intContents" | "int64Contents" | "uintContents" | "uint64Contents" | "fp32Contents" | "fp64Contents" | "bytesContents";

/** ONNX Runtime's tensor type names (onnxruntime-common `Tensor.Type`). */
export type OnnxTensorType = "bool" | "uint8" | "uint16" | "uint32" | "uint64" | "int8" | "int16" | "int32" | "int64" | "float16" | "float32" | "float64" | "string";

export interface DatatypeInfo {
  readonly datatype: Datatype;
  /** Bytes per element in raw contents; 0 for BYTES, whose elements are each a 4-byte little-endian length and the bytes. */
  readonly elementBytes: number;
  /** The typed contents field; undefined for FP16, which the protocol carries in raw contents only. */
  readonly contentsField: ContentsField | undefined;
  /** The same field's name in the proto (for messages): `fp32_contents`. */
  readonly contentsName: string | undefined;
  readonly onnxType: OnnxTensorType;
  /** Allowed range of integer datatypes (inclusive), for checks where the carrier is wider (int_contents, JSON). */
  readonly min?: number | bigint;
  readonly max?: number | bigint;
  /** A zeroed array of `length` elements. */
  allocate(length: number): TensorData;
}

function info(
  datatype: Datatype,
  elementBytes: number,
  contentsField: ContentsField | undefined,
  onnxType: OnnxTensorType,
  allocate: (n: number) => TensorData,
  range?: [number | bigint, number | bigint],
): DatatypeInfo {
  return { datatype, elementBytes, contentsField, contentsName: contentsField === undefined ? undefined : CONTENTS_FIELD_NAMES[contentsField], onnxType, allocate, ...(range ? { min: range[0], max: range[1] } : {}) };
}

/** Each typed contents field's name in the proto, for messages (`fp32Contents` → `fp32_contents`). */
export const CONTENTS_FIELD_NAMES: Readonly<Record<ContentsField, string>> = {
  boolContents: "bool_contents",
  intContents: "int_contents",
  int64Contents: "int64_contents",
  uintContents: "uint_contents",
  uint64Contents: "uint64_contents",
  fp32Contents: "fp32_contents",
  fp64Contents: "fp64_contents",
  bytesContents: "bytes_contents",
};

/** Every datatype, with its element size, typed contents field and ONNX Runtime type. */
export const DATATYPES: Readonly<Record<Datatype, DatatypeInfo>> = Object.freeze({
  BOOL: info("BOOL", 1, "boolContents", "bool", (n) => new Uint8Array(n)),
  UINT8: info("UINT8", 1, "uintContents", "uint8", (n) => new Uint8Array(n), [0, 0xff]),
  UINT16: info("UINT16", 2, "uintContents", "uint16", (n) => new Uint16Array(n), [0, 0xffff]),
  UINT32: info("UINT32", 4, "uintContents", "uint32", (n) => new Uint32Array(n), [0, 0xffffffff]),
  UINT64: info("UINT64", 8, "uint64Contents", "uint64", (n) => new BigUint64Array(n), [0n, 2n ** 64n - 1n]),
  INT8: info("INT8", 1, "intContents", "int8", (n) => new Int8Array(n), [-0x80, 0x7f]),
  INT16: info("INT16", 2, "intContents", "int16", (n) => new Int16Array(n), [-0x8000, 0x7fff]),
  INT32: info("INT32", 4, "intContents", "int32", (n) => new Int32Array(n), [-0x80000000, 0x7fffffff]),
  INT64: info("INT64", 8, "int64Contents", "int64", (n) => new BigInt64Array(n), [-(2n ** 63n), 2n ** 63n - 1n]),
  FP16: info("FP16", 2, undefined, "float16", (n) => new Uint16Array(n)),
  FP32: info("FP32", 4, "fp32Contents", "float32", (n) => new Float32Array(n)),
  FP64: info("FP64", 8, "fp64Contents", "float64", (n) => new Float64Array(n)),
  BYTES: info("BYTES", 0, "bytesContents", "string", (n) => Array.from({ length: n }, () => new Uint8Array(0))),
});

export const DATATYPE_NAMES: readonly Datatype[] = Object.freeze(Object.keys(DATATYPES) as Datatype[]);

const BY_ONNX = new Map<string, Datatype>(DATATYPE_NAMES.map((d) => [DATATYPES[d].onnxType, d]));

export function isDatatype(value: string): value is Datatype {
  return Object.hasOwn(DATATYPES, value);
}

/** The protocol datatype of an ONNX Runtime tensor type (`float32` → FP32), or undefined for one it has none for. */
export function datatypeOfOnnx(type: string): Datatype | undefined {
  return BY_ONNX.get(type);
}

/** Why a datatype name is not served, or undefined when it is. */
export function unsupportedDatatype(value: string): string | undefined {
  if (isDatatype(value)) return undefined;
  if (value === "BF16") {
    return "BF16 is not supported: ONNX Runtime's JavaScript API has no bfloat16 tensors and JavaScript no bfloat16 arrays; send FP32 (or FP16) and cast in the model";
  }
  return `unknown datatype ${JSON.stringify(value)}: expected one of ${DATATYPE_NAMES.join(", ")}`;
}

/**
 * Checks a datatype name (`where` names what carries it: `input "x"`, with `field` its path). Throws
 * INVALID_ARGUMENT with the reason (BF16: why it is refused) and the list of datatypes.
 */
export function parseDatatype(value: string, where: string, field: string): Datatype {
  const why = unsupportedDatatype(value);
  if (why === undefined) return value as Datatype;
  throw invalidArgument(`${where}: ${why}`, [{ field, message: why, expected: DATATYPE_NAMES.join(" | "), got: JSON.stringify(value) }]);
}

/** The number of elements of a shape (1 for a scalar). Throws on a negative or non-integer dimension. */
export function elementCount(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) throw new SwitchyardError(Code.InvalidArgument, `shape [${shape.join(", ")}] has a dimension that is not a non-negative integer`);
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new SwitchyardError(Code.InvalidArgument, `shape [${shape.join(", ")}] holds more elements than can be counted`);
  return n;
}

/** `[2, 3]`, or `[-1, 3]` for a shape with variable dimensions: how messages show shapes. */
export function formatShape(shape: readonly (number | bigint)[]): string {
  return `[${shape.join(", ")}]`;
}
