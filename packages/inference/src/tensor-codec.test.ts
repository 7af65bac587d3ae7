import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { InferTensorContentsSchema, ModelInferRequestSchema, ModelInferResponseSchema, type ModelInferRequest } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { DATATYPE_NAMES } from "./datatypes.js";
import { decodeInputs, decodeOutputs, encodeInputs, encodeOutputs } from "./tensor-codec.js";
import { ALL_SAMPLES, plain, sampleTensor } from "./test-samples.js";

/** A request as it arrives: serialized and parsed again, so raw bytes sit at odd offsets of one buffer. */
function overTheWire(init: Parameters<typeof create<typeof ModelInferRequestSchema>>[1]): ModelInferRequest {
  return fromBinary(ModelInferRequestSchema, toBinary(ModelInferRequestSchema, create(ModelInferRequestSchema, init)));
}

function invalid(pattern: RegExp, field?: string) {
  return (e: unknown) => {
    assert.ok(e instanceof SwitchyardError, String(e));
    assert.equal(e.code, Code.InvalidArgument, e.message);
    assert.match(e.message, pattern);
    if (field !== undefined) assert.equal(e.details[0]?.field, field);
    return true;
  };
}

describe("tensor codec", () => {
  for (const raw of [false, true]) {
    it(`round-trips every datatype as ${raw ? "raw" : "typed"} inputs and outputs`, () => {
      const typedTensors = ALL_SAMPLES.filter((t) => raw || t.datatype !== "FP16");
      const req = overTheWire({ modelName: "m", ...encodeInputs(typedTensors, { raw }) });
      assert.equal(req.rawInputContents.length, raw ? typedTensors.length : 0);
      const decoded = decodeInputs(req);
      assert.deepEqual(
        decoded.map((t) => [t.name, t.datatype, t.shape, plain(t)]),
        typedTensors.map((t) => [t.name, t.datatype, t.shape, plain(t)]),
      );
      const resp = fromBinary(ModelInferResponseSchema, toBinary(ModelInferResponseSchema, create(ModelInferResponseSchema, encodeOutputs(decoded, { raw }))));
      assert.equal(resp.rawOutputContents.length, raw ? typedTensors.length : 0);
      assert.deepEqual(decodeOutputs(resp).map(plain), typedTensors.map(plain));
    });
  }

  it("decodes raw contents that are views into a larger Node Buffer (as grpc-js hands them over)", () => {
    const wire = Buffer.from(toBinary(ModelInferRequestSchema, create(ModelInferRequestSchema, encodeInputs(ALL_SAMPLES, { raw: true }))));
    const pooled = Buffer.concat([Buffer.alloc(3, 0xee), wire]).subarray(3);
    const decoded = decodeInputs(fromBinary(ModelInferRequestSchema, pooled));
    assert.deepEqual(decoded.map(plain), ALL_SAMPLES.map(plain));
  });

  it("sends FP16 raw, and then every tensor raw (the protocol has no typed FP16 and raw is all or none)", () => {
    const enc = encodeOutputs([sampleTensor("FP32"), sampleTensor("FP16")]);
    assert.equal(enc.rawOutputContents.length, 2);
    assert.equal(enc.outputs[0]!.contents, undefined);
    const req = overTheWire({ inputs: [{ name: "h", datatype: "FP16", shape: [1n], contents: {} }] });
    assert.throws(() => decodeInputs(req), invalid(/^input "h": the protocol has no typed contents for FP16: send its 1 elements in raw_input_contents/));
  });

  it("puts each typed datatype in its field of InferTensorContents", () => {
    const fields = DATATYPE_NAMES.filter((d) => d !== "FP16").map((d) => {
      const c = encodeInputs([sampleTensor(d)]).inputs[0]!.contents!;
      return [d, Object.entries(c).filter(([k, v]) => k !== "$typeName" && Array.isArray(v) && v.length > 0).map(([k]) => k)];
    });
    assert.deepEqual(Object.fromEntries(fields), {
      BOOL: ["boolContents"], UINT8: ["uintContents"], UINT16: ["uintContents"], UINT32: ["uintContents"], UINT64: ["uint64Contents"],
      INT8: ["intContents"], INT16: ["intContents"], INT32: ["intContents"], INT64: ["int64Contents"],
      FP32: ["fp32Contents"], FP64: ["fp64Contents"], BYTES: ["bytesContents"],
    });
  });

  it("frames raw BYTES elements with 4-byte little-endian lengths", () => {
    const raw = encodeInputs([{ name: "s", datatype: "BYTES", shape: [2], data: [Uint8Array.of(0x61), Uint8Array.of()] }], { raw: true }).rawInputContents[0]!;
    assert.deepEqual(Array.from(raw), [1, 0, 0, 0, 0x61, 0, 0, 0, 0]);
  });

  it("refuses a wrong element count, naming the input, what the shape holds and what came", () => {
    const req = overTheWire({ inputs: [{ name: "x", datatype: "FP32", shape: [2n, 3n], contents: { fp32Contents: [1, 2, 3, 4, 5] } }] });
    assert.throws(() => decodeInputs(req), invalid(/^input "x": wrong number of elements for shape \[2, 3\]: expected 6 elements, got 5 in contents.fp32_contents$/, "inputs[0].contents.fp32_contents"));
  });

  it("refuses raw contents of the wrong length, in bytes", () => {
    const req = overTheWire({ inputs: [{ name: "x", datatype: "INT64", shape: [3n] }], rawInputContents: [new Uint8Array(20)] });
    assert.throws(() => decodeInputs(req), invalid(/^input "x": wrong size of raw contents for INT64 \[3\]: expected 24 bytes \(3 elements × 8\), got 20 bytes$/, "raw_input_contents[0]"));
  });

  it("takes raw contents for all inputs or none", () => {
    const req = overTheWire({ inputs: [{ name: "a", datatype: "UINT8", shape: [1n] }, { name: "b", datatype: "UINT8", shape: [1n] }], rawInputContents: [Uint8Array.of(1)] });
    assert.throws(() => decodeInputs(req), invalid(/^raw_input_contents has 1 entries for 2 inputs: give raw contents for every input \(in order\) or for none$/));
    const both = overTheWire({ inputs: [{ name: "a", datatype: "UINT8", shape: [1n], contents: { uintContents: [1] } }], rawInputContents: [Uint8Array.of(1)] });
    assert.throws(() => decodeInputs(both), invalid(/^input "a": has both contents.uint_contents and raw_input_contents\[0\]: give one$/));
  });

  it("refuses values in another datatype's field, and integers outside a narrow type's range", () => {
    const wrong = overTheWire({ inputs: [{ name: "x", datatype: "FP32", shape: [1n], contents: { intContents: [1] } }] });
    assert.throws(() => decodeInputs(wrong), invalid(/^input "x": datatype FP32 carries its values in contents.fp32_contents: expected contents.fp32_contents, got contents.int_contents$/));
    const big = overTheWire({ inputs: [{ name: "x", datatype: "INT8", shape: [2n], contents: { intContents: [1, 300] } }] });
    assert.throws(() => decodeInputs(big), invalid(/^input "x": element 1 is outside INT8's range: expected \[-128, 127\], got 300$/, "inputs[0].contents.int_contents[1]"));
    const u16 = overTheWire({ inputs: [{ name: "x", datatype: "UINT16", shape: [1n], contents: { uintContents: [70000] } }] });
    assert.throws(() => decodeInputs(u16), invalid(/outside UINT16's range/));
  });

  it("refuses malformed raw BYTES: a cut length, a cut element, bytes left over", () => {
    const bad = (raw: number[], count: bigint) => overTheWire({ inputs: [{ name: "s", datatype: "BYTES", shape: [count] }], rawInputContents: [Uint8Array.from(raw)] });
    assert.throws(() => decodeInputs(bad([1, 0, 0, 0, 0x61, 2, 0], 2n)), invalid(/^input "s": raw BYTES contents end at element 1 of 2/));
    assert.throws(() => decodeInputs(bad([5, 0, 0, 0, 0x61], 1n)), invalid(/^input "s": raw BYTES element 0 claims 5 bytes but only 1 remain/));
    assert.throws(() => decodeInputs(bad([1, 0, 0, 0, 0x61, 9], 1n)), invalid(/^input "s": raw BYTES contents hold more than 1 elements/));
  });

  it("refuses unknown and BF16 datatypes, duplicate and empty names", () => {
    assert.throws(() => decodeInputs(overTheWire({ inputs: [{ name: "x", datatype: "BF16", shape: [1n] }] })), invalid(/^input "x": BF16 is not supported/, "inputs[0].datatype"));
    assert.throws(() => decodeInputs(overTheWire({ inputs: [{ name: "x", datatype: "FLOAT32", shape: [1n] }] })), invalid(/^input "x": unknown datatype "FLOAT32"/));
    const twice = { name: "x", datatype: "UINT8", shape: [1n], contents: { uintContents: [1] } };
    assert.throws(() => decodeInputs(overTheWire({ inputs: [twice, twice] })), invalid(/^input "x": appears twice in inputs$/));
    assert.throws(() => decodeInputs(overTheWire({ inputs: [{ name: "", datatype: "UINT8", shape: [0n] }] })), invalid(/^inputs\[0\]: a tensor needs a name/));
    assert.throws(() => decodeInputs(overTheWire({ inputs: [{ name: "n", datatype: "UINT8", shape: [-1n] }] })), invalid(/^input "n": every dimension must be a non-negative size/));
  });

  it("reports a malformed response as the server's fault (INTERNAL), not the caller's", () => {
    const resp = create(ModelInferResponseSchema, { outputs: [{ name: "y", datatype: "FP32", shape: [2n], contents: create(InferTensorContentsSchema, { fp32Contents: [1] }) }] });
    assert.throws(() => decodeOutputs(resp), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Internal && /^output "y": wrong number of elements/.test(e.message));
  });

  it("takes empty tensors (a zero dimension) both ways", () => {
    const empty = { name: "e", datatype: "FP32" as const, shape: [0, 4], data: new Float32Array(0) };
    for (const raw of [false, true]) assert.deepEqual(decodeInputs(overTheWire(encodeInputs([empty], { raw })))[0]!.shape, [0, 4]);
  });
});
