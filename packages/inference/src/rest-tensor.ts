// One tensor in the REST (JSON) form of the Open Inference Protocol, and the parameters maps, both ways.
import { create } from "@bufbuild/protobuf";
import { InferParameterSchema, type InferParameter } from "@switchyard/api";
import { Code, SwitchyardError, type FieldViolation } from "@switchyard/core";
import { DATATYPES, formatShape, unsupportedDatatype, type Datatype, type FixedSizeData, type Tensor, type TensorData } from "./datatypes.js";
import { floatToHalfBits, halfBitsToFloat } from "./fp16.js";

/** A JSON element: booleans for BOOL, numbers (or strings of digits for 64-bit integers beyond 2^53, "NaN"/"Infinity"/"-Infinity" for floats), strings for BYTES. */
export type RestElement = boolean | number | string;
export type RestParameters = Record<string, boolean | number | string>;

/** `{name, shape, datatype, parameters?, data}`: data flat, row-major (nested arrays are accepted on input). */
export interface RestTensor {
  name: string;
  shape: number[];
  datatype: string;
  parameters?: RestParameters;
  data: RestElement[];
}

/** Deepest nesting of a tensor's dimensions accepted in JSON (ONNX models rarely go past 8). */
export const MAX_REST_RANK = 32;
const MAX_PROBLEMS = 20;

/** Problems found in a JSON document, each with its path: thrown together as one error. */
export class Problems {
  readonly list: FieldViolation[] = [];
  add(field: string, expected: string, got: string, message = `expected ${expected}, got ${got}`): void {
    if (this.list.length < MAX_PROBLEMS) this.list.push({ field, message, expected, got });
  }
  get count(): number {
    return this.list.length;
  }
  /** Throws `<what>: <path>: expected …, got …` (and how many more) with every violation, when there are any. */
  throwIfAny(code: Code, what: string): void {
    const first = this.list[0];
    if (first === undefined) return;
    const more = this.list.length > 1 ? ` (and ${this.list.length - 1} more problem${this.list.length > 2 ? "s" : ""})` : "";
    throw new SwitchyardError(code, `${what}: ${first.field}: ${first.message}${more}`, { details: this.list });
  }
}

/** A short description of a JSON value for messages: its text when short, else its kind. */
export function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return v.length <= 4 && JSON.stringify(v).length <= 40 ? JSON.stringify(v) : `an array of ${v.length}`;
  if (typeof v === "object") return "an object";
  const text = JSON.stringify(v);
  return text.length <= 40 ? text : `${text.slice(0, 37)}…"`;
}

export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Refuses keys outside `allowed` (a typo would otherwise be ignored silently). */
export function checkKeys(obj: Record<string, unknown>, allowed: readonly string[], path: string, p: Problems): void {
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) p.add(path === "" ? k : `${path}.${k}`, `one of the keys ${allowed.join(", ")}`, JSON.stringify(k), `unknown key; expected one of ${allowed.join(", ")}`);
}

// ---- parameters ----

export function parametersToRest(params: { [k: string]: InferParameter }): RestParameters {
  const out: RestParameters = {};
  for (const [k, v] of Object.entries(params)) {
    const c = v.parameterChoice;
    if (c.case === undefined) continue;
    out[k] = typeof c.value === "bigint" ? bigToJson(c.value) : c.value;
  }
  return out;
}

export function parametersFromRest(json: unknown, path: string, p: Problems): { [k: string]: InferParameter } {
  if (json === undefined) return {};
  if (!isObject(json)) {
    p.add(path, "an object of parameters", describe(json));
    return {};
  }
  const out: { [k: string]: InferParameter } = {};
  for (const [k, v] of Object.entries(json)) {
    if (typeof v === "boolean") out[k] = create(InferParameterSchema, { parameterChoice: { case: "boolParam", value: v } });
    else if (typeof v === "string") out[k] = create(InferParameterSchema, { parameterChoice: { case: "stringParam", value: v } });
    else if (typeof v === "number" && Number.isSafeInteger(v)) out[k] = create(InferParameterSchema, { parameterChoice: { case: "int64Param", value: BigInt(v) } });
    else if (typeof v === "number" && Number.isFinite(v)) out[k] = create(InferParameterSchema, { parameterChoice: { case: "doubleParam", value: v } });
    else p.add(`${path}.${k}`, "a boolean, number or string", describe(v));
  }
  return out;
}

// ---- elements ----

/** 64-bit integers as JSON: a number when exact, else a string of digits. */
function bigToJson(v: bigint): number | string {
  return v >= -BigInt(Number.MAX_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function floatToJson(v: number): number | string {
  return Number.isFinite(v) ? v : Number.isNaN(v) ? "NaN" : v > 0 ? "Infinity" : "-Infinity";
}

const utf8 = new TextEncoder();
const utf8Lossy = new TextDecoder("utf-8");

/** A tensor as JSON, data flat. BYTES elements are decoded as UTF-8 (bytes that are not become U+FFFD). */
export function tensorToRest(t: Tensor): RestTensor {
  let data: RestElement[];
  switch (t.datatype) {
    case "BOOL":
      data = Array.from(t.data, (v) => v !== 0);
      break;
    case "INT64":
    case "UINT64":
      data = Array.from(t.data as BigInt64Array, bigToJson);
      break;
    case "FP16":
      data = Array.from(t.data, (h) => floatToJson(halfBitsToFloat(h)));
      break;
    case "FP32":
    case "FP64":
      data = Array.from(t.data as Float64Array, floatToJson);
      break;
    case "BYTES":
      data = t.data.map((b) => utf8Lossy.decode(b));
      break;
    default:
      data = Array.from(t.data as Int32Array);
  }
  return { name: t.name, shape: t.shape.slice(), datatype: t.datatype, data };
}

const FLOAT_WORDS: Record<string, number> = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };
const DIGITS = /^-?\d{1,20}$/;

/** One JSON element as the datatype's value, or a string saying what was expected. */
function elementOf(datatype: Datatype, v: unknown): number | bigint | boolean | Uint8Array | { expected: string } {
  const info = DATATYPES[datatype];
  switch (datatype) {
    case "BOOL":
      return typeof v === "boolean" ? v : { expected: "true or false" };
    case "BYTES":
      return typeof v === "string" ? utf8.encode(v) : { expected: "a string" };
    case "FP16":
    case "FP32":
    case "FP64":
      if (typeof v === "number") return v;
      if (typeof v === "string" && Object.hasOwn(FLOAT_WORDS, v)) return FLOAT_WORDS[v]!;
      return { expected: `a number (or "NaN", "Infinity", "-Infinity") for ${datatype}` };
    case "INT64":
    case "UINT64": {
      const range = `an integer in [${String(info.min)}, ${String(info.max)}] for ${datatype} (a string of digits beyond 2^53)`;
      let b: bigint;
      if (typeof v === "number" && Number.isSafeInteger(v)) b = BigInt(v);
      else if (typeof v === "string" && DIGITS.test(v)) b = BigInt(v);
      else return { expected: range };
      return b >= (info.min as bigint) && b <= (info.max as bigint) ? b : { expected: range };
    }
    default:
      return typeof v === "number" && Number.isInteger(v) && v >= (info.min as number) && v <= (info.max as number) ? v : { expected: `an integer in [${String(info.min)}, ${String(info.max)}] for ${datatype}` };
  }
}

/** Flattens nested arrays (row-major) into `out`; false when they nest deeper than `maxDepth`. */
function flatten(v: unknown[], depth: number, maxDepth: number, out: unknown[]): boolean {
  for (const e of v) {
    if (Array.isArray(e)) {
      if (depth + 1 > maxDepth || !flatten(e, depth + 1, maxDepth, out)) return false;
    } else out.push(e);
  }
  return true;
}

/** The path of the k-th leaf of nested arrays: `[1][2]` (only computed for a message). */
function leafPath(v: unknown[], k: number): string {
  let seen = 0;
  const walk = (a: unknown[]): string | undefined => {
    for (let i = 0; i < a.length; i++) {
      const e = a[i];
      if (Array.isArray(e)) {
        const inner = walk(e);
        if (inner !== undefined) return `[${i}]${inner}`;
      } else if (seen++ === k) return `[${i}]`;
    }
    return undefined;
  };
  return walk(v) ?? `[${k}]`;
}

/**
 * Reads one tensor's JSON (`path`: where it is, e.g. `inputs[0]`); problems go to `p` with their paths, and then
 * the result is undefined. Data may be flat or nested row-major arrays holding shape's product of elements.
 */
export function tensorFromRest(json: unknown, path: string, p: Problems): (Tensor & { parameters?: { [k: string]: InferParameter } }) | undefined {
  if (!isObject(json)) {
    p.add(path, "an object {name, shape, datatype, data}", describe(json));
    return undefined;
  }
  const before = p.count;
  checkKeys(json, ["name", "shape", "datatype", "parameters", "data"], path, p);
  const { name, shape, datatype, data } = json;
  if (typeof name !== "string" || name === "") p.add(`${path}.name`, "a non-empty string", describe(name));
  if (typeof datatype !== "string") p.add(`${path}.datatype`, "a datatype name such as FP32", describe(datatype));
  else {
    const why = unsupportedDatatype(datatype);
    if (why !== undefined) p.add(`${path}.datatype`, "a supported datatype", JSON.stringify(datatype), why);
  }
  const shapeOk = Array.isArray(shape) && shape.length <= MAX_REST_RANK && shape.every((d) => Number.isSafeInteger(d) && (d as number) >= 0);
  if (!shapeOk) p.add(`${path}.shape`, `an array of at most ${MAX_REST_RANK} non-negative integers`, describe(shape));
  if (!Array.isArray(data)) p.add(`${path}.data`, "an array of elements (flat or nested, row-major)", describe(data));
  const parameters = parametersFromRest(json.parameters, `${path}.parameters`, p);
  if (p.count > before) return undefined;
  const dt = datatype as Datatype;
  const dims = shape as number[];
  let count = 1;
  for (const d of dims) count *= d;
  const flat: unknown[] = [];
  if (!flatten(data as unknown[], 1, Math.max(1, dims.length), flat)) {
    p.add(`${path}.data`, `arrays nested at most ${Math.max(1, dims.length)} deep (the shape's rank)`, "deeper nesting");
    return undefined;
  }
  if (flat.length !== count) {
    p.add(`${path}.data`, `${count} elements for shape ${formatShape(dims)}`, `${flat.length}`);
    return undefined;
  }
  const out = DATATYPES[dt].allocate(count);
  for (let k = 0; k < count; k++) {
    const e = elementOf(dt, flat[k]);
    if (typeof e === "object" && "expected" in e) {
      p.add(`${path}.data${leafPath(data as unknown[], k)}`, e.expected, describe(flat[k]));
      return undefined;
    }
    store(dt, out, k, e);
  }
  const tensor = { name: name as string, datatype: dt, shape: dims.slice(), data: out } as Tensor;
  return Object.keys(parameters).length > 0 ? { ...tensor, parameters } : tensor;
}

function store(dt: Datatype, out: TensorData, k: number, e: number | bigint | boolean | Uint8Array): void {
  if (dt === "BYTES") (out as Uint8Array[])[k] = e as Uint8Array;
  else if (dt === "BOOL") (out as Uint8Array)[k] = e ? 1 : 0;
  else if (dt === "FP16") (out as Uint16Array)[k] = floatToHalfBits(e as number);
  else (out as FixedSizeData as Float64Array)[k] = e as number;
}
