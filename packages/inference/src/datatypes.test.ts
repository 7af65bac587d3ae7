import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { DATATYPES, DATATYPE_NAMES, datatypeOfOnnx, elementCount, parseDatatype } from "./datatypes.js";
import { floatToHalfBits, halfBitsToFloat } from "./fp16.js";

describe("datatypes", () => {
  it("maps every protocol datatype to its array, element size, contents field and ONNX Runtime type", () => {
    const table = DATATYPE_NAMES.map((d) => {
      const i = DATATYPES[d];
      return [d, i.elementBytes, i.contentsName ?? "-", i.onnxType, i.allocate(2).constructor.name];
    });
    assert.deepEqual(table, [
      ["BOOL", 1, "bool_contents", "bool", "Uint8Array"],
      ["UINT8", 1, "uint_contents", "uint8", "Uint8Array"],
      ["UINT16", 2, "uint_contents", "uint16", "Uint16Array"],
      ["UINT32", 4, "uint_contents", "uint32", "Uint32Array"],
      ["UINT64", 8, "uint64_contents", "uint64", "BigUint64Array"],
      ["INT8", 1, "int_contents", "int8", "Int8Array"],
      ["INT16", 2, "int_contents", "int16", "Int16Array"],
      ["INT32", 4, "int_contents", "int32", "Int32Array"],
      ["INT64", 8, "int64_contents", "int64", "BigInt64Array"],
      ["FP16", 2, "-", "float16", "Uint16Array"],
      ["FP32", 4, "fp32_contents", "float32", "Float32Array"],
      ["FP64", 8, "fp64_contents", "float64", "Float64Array"],
      ["BYTES", 0, "bytes_contents", "string", "Array"],
    ]);
    for (const d of DATATYPE_NAMES) assert.equal(datatypeOfOnnx(DATATYPES[d].onnxType), d);
    assert.equal(datatypeOfOnnx("int4"), undefined);
  });

  it("refuses BF16 saying why, and an unknown datatype listing the known ones", () => {
    assert.throws(
      () => parseDatatype("BF16", 'input "x"', "inputs[0].datatype"),
      (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /^input "x": BF16 is not supported: ONNX Runtime's JavaScript API has no bfloat16/.test(e.message) && e.details[0]?.field === "inputs[0].datatype",
    );
    assert.throws(() => parseDatatype("FLOAT", 'input "x"', "inputs[0].datatype"), /unknown datatype "FLOAT": expected one of BOOL, UINT8, .*BYTES/);
    assert.equal(parseDatatype("FP16", "x", "f"), "FP16");
  });

  it("counts a shape's elements and refuses negative dimensions", () => {
    assert.equal(elementCount([]), 1);
    assert.equal(elementCount([2, 3, 4]), 24);
    assert.equal(elementCount([0, 5]), 0);
    assert.throws(() => elementCount([-1, 2]), /not a non-negative integer/);
  });

  it("converts half precision both ways, rounding to nearest even", () => {
    const cases: [number, number][] = [
      [0, 0x0000],
      [-0, 0x8000],
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [65520, 0x7c00], // rounds up past the largest finite half
      [Infinity, 0x7c00],
      [-Infinity, 0xfc00],
      [2 ** -24, 0x0001], // smallest subnormal
      [2 ** -14, 0x0400], // smallest normal
      [1 + 2 ** -11, 0x3c00], // a tie: to even (down)
      [1 + 3 * 2 ** -11, 0x3c02], // a tie: to even (up)
      [0.1, 0x2e66],
    ];
    for (const [f, h] of cases) assert.equal(floatToHalfBits(f), h, `${f}`);
    assert.ok(Number.isNaN(halfBitsToFloat(floatToHalfBits(NaN))));
    for (const h of [0x0000, 0x0001, 0x03ff, 0x0400, 0x3c00, 0x7bff, 0xc000, 0x2e66]) assert.equal(floatToHalfBits(halfBitsToFloat(h)), h);
    assert.equal(halfBitsToFloat(0x7c00), Infinity);
  });
});
