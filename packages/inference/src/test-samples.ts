// Test data: one [2, 3] tensor per datatype, with each type's edge values. Used by this package's tests only.
import { DATATYPE_NAMES, type Datatype, type Tensor } from "./datatypes.js";
import { floatToHalfBits } from "./fp16.js";

const utf8 = new TextEncoder();

/** A [2, 3] tensor of `datatype` named `<datatype>_in`, holding the type's extremes. */
export function sampleTensor(datatype: Datatype, name = `${datatype.toLowerCase()}_in`): Tensor {
  const shape = [2, 3];
  switch (datatype) {
    case "BOOL":
      return { name, datatype, shape, data: Uint8Array.from([1, 0, 1, 1, 0, 0]) };
    case "UINT8":
      return { name, datatype, shape, data: Uint8Array.from([0, 1, 127, 128, 254, 255]) };
    case "UINT16":
      return { name, datatype, shape, data: Uint16Array.from([0, 1, 0x7fff, 0x8000, 0xfffe, 0xffff]) };
    case "UINT32":
      return { name, datatype, shape, data: Uint32Array.from([0, 1, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff]) };
    case "UINT64":
      return { name, datatype, shape, data: BigUint64Array.from([0n, 1n, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 2n, 2n ** 64n - 1n]) };
    case "INT8":
      return { name, datatype, shape, data: Int8Array.from([-128, -1, 0, 1, 100, 127]) };
    case "INT16":
      return { name, datatype, shape, data: Int16Array.from([-32768, -1, 0, 1, 1000, 32767]) };
    case "INT32":
      return { name, datatype, shape, data: Int32Array.from([-(2 ** 31), -1, 0, 1, 123456, 2 ** 31 - 1]) };
    case "INT64":
      return { name, datatype, shape, data: BigInt64Array.from([-(2n ** 63n), -(2n ** 53n) - 1n, -1n, 0n, 2n ** 53n + 1n, 2n ** 63n - 1n]) };
    case "FP16":
      return { name, datatype, shape, data: Uint16Array.from([0, 1, -2, 0.5, 65504, -0.25].map(floatToHalfBits)) };
    case "FP32":
      return { name, datatype, shape, data: Float32Array.from([0, -1.5, 3.25, 1e-30, -3.4e38, 0.1]) };
    case "FP64":
      return { name, datatype, shape, data: Float64Array.from([0, -1.5, Math.PI, 1e-300, -1.7e308, 0.1]) };
    case "BYTES":
      return { name, datatype, shape, data: ["", "a", "héllo", "日本", "x y", "\u0000z"].map((s) => utf8.encode(s)) };
  }
}

export const ALL_SAMPLES: readonly Tensor[] = DATATYPE_NAMES.map((d) => sampleTensor(d));

/** A tensor's data as plain values, for deepEqual across array types. */
export function plain(t: Tensor): unknown[] {
  return Array.isArray(t.data) ? t.data.map((b) => Array.from(b)) : Array.from(t.data as ArrayLike<number | bigint>);
}
