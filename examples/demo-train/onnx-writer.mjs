// A tiny ONNX writer: just enough protobuf encoding to serialize a ModelProto.
//
// Why by hand: the demo job must run with Node alone, anywhere a user copies it — no `npm install`, no
// node_modules, no protobuf runtime. ONNX files are protobuf messages, and writing protobuf needs only two wire
// types (varint and length-delimited) plus the field numbers from onnx/onnx.proto, which are stable across IR
// versions. Only encoding is implemented; reading models is the model server's job (ONNX Runtime).
//
// Field numbers below are from https://github.com/onnx/onnx/blob/main/onnx/onnx.proto.

const WIRE_VARINT = 0;
const WIRE_LEN = 2;

/** ONNX TensorProto.DataType values this writer knows. */
export const DataType = Object.freeze({ FLOAT: 1, INT64: 7 });

/** ONNX AttributeProto.AttributeType values this writer knows. */
const AttributeType = Object.freeze({ FLOAT: 1, INT: 2, STRING: 3, FLOATS: 6, INTS: 7 });

const utf8 = new TextEncoder();

/**
 * Encodes an unsigned or signed integer as a protobuf varint. Negative numbers are written as 64-bit two's
 * complement (10 bytes), which is how protobuf encodes negative int32/int64 values.
 * @param {number | bigint} value
 * @returns {Uint8Array}
 */
export function encodeVarint(value) {
  let n = typeof value === "bigint" ? value : BigInt(value);
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`varint value must be a safe integer, got ${value}`);
  }
  n = BigInt.asUintN(64, n);
  const out = [];
  do {
    let byte = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) byte |= 0x80;
    out.push(byte);
  } while (n !== 0n);
  return Uint8Array.from(out);
}

/** @param {Uint8Array[]} parts */
function concat(parts) {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const key = (field, wire) => encodeVarint((field << 3) | wire);
const int = (field, value) => concat([key(field, WIRE_VARINT), encodeVarint(value)]);
const bytes = (field, payload) => concat([key(field, WIRE_LEN), encodeVarint(payload.length), payload]);
const str = (field, text) => bytes(field, utf8.encode(text));
const message = (field, parts) => bytes(field, concat(parts));

/** float32 values, little-endian, as ONNX's raw_data and protobuf's packed floats both require. */
function float32Bytes(values) {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}

/**
 * @typedef {{ name: string, dims: number[], data: ArrayLike<number> }} FloatTensor
 * @typedef {{ name: string, elemType?: number, shape: (number | string)[] }} ValueInfo  string dims are symbolic
 * @typedef {"float" | "int" | "string" | "floats" | "ints"} AttributeKind
 * @typedef {{ name: string, value: number | string | number[], type?: AttributeKind }} Attribute
 * @typedef {{ opType: string, inputs: string[], outputs: string[], name?: string, attributes?: Attribute[] }} Node
 * @typedef {{ name: string, nodes: Node[], initializers: FloatTensor[], inputs: ValueInfo[], outputs: ValueInfo[],
 *   docString?: string }} Graph
 * @typedef {{ graph: Graph, irVersion?: number, opsetVersion?: number, producerName?: string, producerVersion?: string,
 *   docString?: string, metadata?: Record<string, string> }} Model
 */

/** TensorProto: dims = 1, data_type = 2, name = 8, raw_data = 9. */
function tensorProto(t) {
  const size = t.dims.reduce((a, b) => a * b, 1);
  if (size !== t.data.length) {
    throw new RangeError(`tensor ${t.name}: dims [${t.dims}] hold ${size} values but data has ${t.data.length}`);
  }
  return [...t.dims.map((d) => int(1, d)), int(2, DataType.FLOAT), str(8, t.name), bytes(9, float32Bytes(t.data))];
}

/** ValueInfoProto { name = 1, type = 2 } → TypeProto { tensor_type = 1 } → Tensor { elem_type = 1, shape = 2 }
 *  → TensorShapeProto { dim = 1 } → Dimension { dim_value = 1 | dim_param = 2 }. */
function valueInfoProto(v) {
  const dims = v.shape.map((d) => message(1, [typeof d === "string" ? str(2, d) : int(1, d)]));
  const tensorType = [int(1, v.elemType ?? DataType.FLOAT), message(2, dims)];
  return [str(1, v.name), message(2, [message(1, tensorType)])];
}

/** AttributeProto: name = 1, f = 2, i = 3, s = 4, floats = 7, ints = 8, type = 20. */
function attributeProto(a) {
  const type = a.type ?? (typeof a.value === "string" ? "string" : Number.isInteger(a.value) ? "int" : "float");
  const head = str(1, a.name);
  switch (type) {
    case "float": {
      const f = new Uint8Array(4);
      new DataView(f.buffer).setFloat32(0, Number(a.value), true);
      return [head, concat([key(2, 5), f]), int(20, AttributeType.FLOAT)]; // wire type 5: fixed32
    }
    case "int":
      return [head, int(3, Number(a.value)), int(20, AttributeType.INT)];
    case "string":
      return [head, str(4, String(a.value)), int(20, AttributeType.STRING)];
    case "floats":
      return [head, bytes(7, float32Bytes(/** @type {number[]} */ (a.value))), int(20, AttributeType.FLOATS)];
    case "ints": {
      const packed = concat(/** @type {number[]} */ (a.value).map((v) => encodeVarint(v)));
      return [head, bytes(8, packed), int(20, AttributeType.INTS)];
    }
    default:
      throw new TypeError(`attribute ${a.name}: unknown type ${type}`);
  }
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5. */
function nodeProto(n, index) {
  return [
    ...n.inputs.map((i) => str(1, i)),
    ...n.outputs.map((o) => str(2, o)),
    str(3, n.name ?? `${n.opType.toLowerCase()}_${index}`),
    str(4, n.opType),
    ...(n.attributes ?? []).map((a) => message(5, attributeProto(a))),
  ];
}

/** GraphProto: node = 1, name = 2, initializer = 5, doc_string = 10, input = 11, output = 12. */
function graphProto(g) {
  return [
    ...g.nodes.map((n, i) => message(1, nodeProto(n, i))),
    str(2, g.name),
    ...g.initializers.map((t) => message(5, tensorProto(t))),
    ...(g.docString ? [str(10, g.docString)] : []),
    ...g.inputs.map((v) => message(11, valueInfoProto(v))),
    ...g.outputs.map((v) => message(12, valueInfoProto(v))),
  ];
}

/**
 * Serializes a model to the bytes of an `.onnx` file.
 * ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, doc_string = 6, graph = 7,
 * opset_import = 8 (OperatorSetIdProto { domain = 1, version = 2 }), metadata_props = 14 ({ key = 1, value = 2 }).
 * @param {Model} model
 * @returns {Uint8Array}
 */
export function encodeModel(model) {
  const metadata = Object.entries(model.metadata ?? {}).map(([k, v]) => message(14, [str(1, k), str(2, v)]));
  return concat([
    int(1, model.irVersion ?? 7), // IR 7 is the version that goes with opset 13 (ONNX 1.8)
    str(2, model.producerName ?? "switchyard-demo-train"),
    ...(model.producerVersion ? [str(3, model.producerVersion)] : []),
    ...(model.docString ? [str(6, model.docString)] : []),
    message(7, graphProto(model.graph)),
    message(8, [str(1, ""), int(2, model.opsetVersion ?? 13)]),
    ...metadata,
  ]);
}
