import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { create } from "@bufbuild/protobuf";
import { ModelInferResponseSchema, ModelMetadataResponseSchema } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { DATATYPE_NAMES, type Datatype } from "./datatypes.js";
import { protoInferRequestToRest, protoInferResponseToRest, restInferRequestToProto, restInferResponseToProto, restMetadata, restMetadataToProto } from "./rest-messages.js";
import { tensorToRest } from "./rest-tensor.js";
import { decodeInputs, decodeOutputs, encodeInputs, encodeOutputs } from "./tensor-codec.js";
import { ALL_SAMPLES, plain, sampleTensor } from "./test-samples.js";

/** The JSON a REST client writes for the sample of each datatype. */
const JSON_DATA: Record<Datatype, unknown[]> = {
  BOOL: [true, false, true, true, false, false],
  UINT8: [0, 1, 127, 128, 254, 255],
  UINT16: [0, 1, 32767, 32768, 65534, 65535],
  UINT32: [0, 1, 2147483647, 2147483648, 4294967294, 4294967295],
  UINT64: [0, 1, "9007199254740993", "9223372036854775808", "18446744073709551614", "18446744073709551615"],
  INT8: [-128, -1, 0, 1, 100, 127],
  INT16: [-32768, -1, 0, 1, 1000, 32767],
  INT32: [-2147483648, -1, 0, 1, 123456, 2147483647],
  INT64: ["-9223372036854775808", "-9007199254740993", -1, 0, "9007199254740993", "9223372036854775807"],
  FP16: [0, 1, -2, 0.5, 65504, -0.25],
  FP32: [0, -1.5, 3.25, Math.fround(1e-30), Math.fround(-3.4e38), Math.fround(0.1)],
  FP64: [0, -1.5, Math.PI, 1e-300, -1.7e308, 0.1],
  BYTES: ["", "a", "héllo", "日本", "x y", "\u0000z"],
};

function invalidAt(field: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof SwitchyardError, String(e));
    assert.equal(e.code, Code.InvalidArgument, e.message);
    assert.match(e.message, pattern);
    assert.equal(e.details[0]?.field, field, JSON.stringify(e.details));
    return true;
  };
}

const req = (inputs: unknown[], extra: Record<string, unknown> = {}) => ({ inputs, ...extra });

describe("REST form", () => {
  for (const raw of [true, false]) {
    it(`reads every datatype from JSON into a gRPC request (${raw ? "raw" : "typed"} contents)`, () => {
      // FP16 has no typed contents: a request with it is raw whatever was asked (sendsFp16 below).
      const types = DATATYPE_NAMES.filter((d) => raw || d !== "FP16");
      const body = req(types.map((d) => ({ name: `${d.toLowerCase()}_in`, shape: [2, 3], datatype: d, data: JSON_DATA[d] })));
      const proto = restInferRequestToProto(body, "m", "2", { raw });
      assert.equal(proto.modelName, "m");
      assert.equal(proto.modelVersion, "2");
      assert.equal(proto.rawInputContents.length, raw ? types.length : 0);
      assert.deepEqual(decodeInputs(proto).map(plain), ALL_SAMPLES.filter((t) => types.includes(t.datatype)).map(plain));
      const sendsFp16 = restInferRequestToProto(req([{ name: "h", shape: [1], datatype: "FP16", data: [1] }]), "m", "", { raw: false });
      assert.equal(sendsFp16.rawInputContents.length, 1);
    });
  }

  it("writes every datatype as JSON: exact 64-bit integers as strings beyond 2^53, FP16 as numbers, BYTES as text", () => {
    for (const d of DATATYPE_NAMES) assert.deepEqual(tensorToRest(sampleTensor(d)).data, JSON_DATA[d], d);
    const nonFinite = tensorToRest({ name: "f", datatype: "FP32", shape: [3], data: Float32Array.of(NaN, Infinity, -Infinity) });
    assert.deepEqual(nonFinite.data, ["NaN", "Infinity", "-Infinity"]);
    const back = restInferRequestToProto(req([{ ...nonFinite }]), "m");
    assert.deepEqual(plain(decodeInputs(back)[0]!), [NaN, Infinity, -Infinity]);
  });

  it("takes nested row-major arrays as well as flat ones", () => {
    const nested = restInferRequestToProto(req([{ name: "x", shape: [2, 2, 2], datatype: "INT32", data: [[[1, 2], [3, 4]], [[5, 6], [7, 8]]] }]), "m");
    assert.deepEqual(plain(decodeInputs(nested)[0]!), [1, 2, 3, 4, 5, 6, 7, 8]);
    assert.throws(
      () => restInferRequestToProto(req([{ name: "x", shape: [2], datatype: "INT32", data: [[[1]], [[2]]] }]), "m"),
      invalidAt("inputs[0].data", /^invalid inference request: inputs\[0\]\.data: expected arrays nested at most 1 deep/),
    );
  });

  it("names the JSON path and what was expected for each problem", () => {
    const cases: [unknown, string, RegExp][] = [
      [[1], "(body)", /\(body\): expected a JSON object/],
      [{}, "inputs", /inputs: expected a non-empty array of tensors, got nothing/],
      [req([{ name: "x", shape: "2", datatype: "FP32", data: [1, 2] }]), "inputs[0].shape", /inputs\[0\]\.shape: expected an array of at most 32 non-negative integers, got "2"/],
      [req([{ name: "x", shape: [-1], datatype: "FP32", data: [] }]), "inputs[0].shape", /non-negative integers, got \[-1\]/],
      [req([{ name: "x", shape: [1], datatype: "BF16", data: [1] }]), "inputs[0].datatype", /BF16 is not supported/],
      [req([{ name: "x", shape: [3], datatype: "FP32", data: [1, 2] }]), "inputs[0].data", /inputs\[0\]\.data: expected 3 elements for shape \[3\], got 2/],
      [req([{ name: "x", shape: [2, 2], datatype: "INT8", data: [[1, 2], [3, 300]] }]), "inputs[0].data[1][1]", /inputs\[0\]\.data\[1\]\[1\]: expected an integer in \[-128, 127\] for INT8, got 300/],
      [req([{ name: "x", shape: [2], datatype: "BOOL", data: [true, 1] }]), "inputs[0].data[1]", /expected true or false, got 1/],
      [req([{ name: "x", shape: [1], datatype: "INT64", data: [2 ** 60] }]), "inputs[0].data[0]", /a string of digits beyond 2\^53/],
      [req([{ name: "x", shape: [1], datatype: "UINT64", data: ["-1"] }]), "inputs[0].data[0]", /expected an integer in \[0, 18446744073709551615\] for UINT64/],
      [req([{ name: "x", shape: [1], datatype: "BYTES", data: [7] }]), "inputs[0].data[0]", /expected a string, got 7/],
      [req([{ name: "x", shape: [1], datatype: "FP32", data: ["1.5"] }]), "inputs[0].data[0]", /expected a number \(or "NaN", "Infinity", "-Infinity"\) for FP32, got "1.5"/],
      [req([{ name: "x", shape: [1], datatype: "FP32", data: [1], extra: 1 }]), "inputs[0].extra", /unknown key; expected one of name, shape, datatype, parameters, data/],
      [req([{ name: "", shape: [1], datatype: "FP32", data: [1] }]), "inputs[0].name", /expected a non-empty string/],
      [req([{ name: "x", shape: [1], datatype: "FP32", data: [1] }, { name: "x", shape: [1], datatype: "FP32", data: [1] }]), "inputs[1].name", /expected a name no other tensor has/],
      [req([{ name: "x", shape: [1], datatype: "FP32", data: [1] }], { outputs: [{}] }), "outputs[0]", /outputs\[0\]: expected an object \{name, parameters\?\}/],
      [req([{ name: "x", shape: [1], datatype: "FP32", data: [1] }], { parameters: { a: [1] } }), "parameters.a", /expected a boolean, number or string/],
      [req([{ name: "x", shape: [1], datatype: "FP32", data: [1] }], { input: [] }), "input", /unknown key/],
    ];
    for (const [body, field, pattern] of cases) assert.throws(() => restInferRequestToProto(body, "m"), invalidAt(field, pattern), field);
  });

  it("reports several problems in one error, the first in the message", () => {
    try {
      restInferRequestToProto(req([{ name: "a", shape: [1], datatype: "FP32", data: ["x"] }, { name: "b", shape: "x", datatype: "FP32", data: [] }]), "m");
      assert.fail("accepted");
    } catch (e) {
      assert.ok(e instanceof SwitchyardError);
      assert.match(e.message, /^invalid inference request: inputs\[0\]\.data\[0\]: .* \(and 1 more problem\)$/);
      assert.deepEqual(e.details.map((d) => d.field), ["inputs[0].data[0]", "inputs[1].shape"]);
    }
  });

  it("carries id, parameters and requested outputs both ways", () => {
    const body = { id: "r1", parameters: { a: true, b: 3, c: 1.5, d: "s" }, inputs: [{ name: "x", shape: [1], datatype: "FP32", parameters: { p: "q" }, data: [1] }], outputs: [{ name: "y", parameters: { binary_data: false } }] };
    const proto = restInferRequestToProto(body, "m");
    assert.equal(proto.id, "r1");
    assert.deepEqual(Object.keys(proto.parameters), ["a", "b", "c", "d"]);
    assert.equal(proto.parameters.b!.parameterChoice.case, "int64Param");
    assert.equal(proto.parameters.c!.parameterChoice.case, "doubleParam");
    assert.deepEqual(proto.outputs.map((o) => o.name), ["y"]);
    assert.deepEqual(protoInferRequestToRest(proto), body);
  });

  it("writes a gRPC response as the REST response, from typed or raw contents", () => {
    for (const raw of [false, true]) {
      const resp = create(ModelInferResponseSchema, { modelName: "m", modelVersion: "1", id: "r1", ...encodeOutputs([sampleTensor("FP32", "y"), sampleTensor("INT64", "z")], { raw }) });
      assert.deepEqual(protoInferResponseToRest(resp), {
        model_name: "m",
        model_version: "1",
        id: "r1",
        outputs: [
          { name: "y", shape: [2, 3], datatype: "FP32", data: JSON_DATA.FP32 },
          { name: "z", shape: [2, 3], datatype: "INT64", data: JSON_DATA.INT64 },
        ],
      });
    }
  });

  it("reads a predictor's REST response into a gRPC response, a malformed one as INTERNAL", () => {
    const body = { model_name: "m", outputs: DATATYPE_NAMES.map((d) => ({ name: d, shape: [2, 3], datatype: d, data: JSON_DATA[d] })) };
    const resp = restInferResponseToProto(body, { raw: true });
    assert.deepEqual(decodeOutputs(resp).map(plain), ALL_SAMPLES.map(plain));
    assert.throws(
      () => restInferResponseToProto({ model_name: "m", outputs: [{ name: "y", shape: [2], datatype: "FP32", data: [1] }] }),
      (e: unknown) => e instanceof SwitchyardError && e.code === Code.Internal && /^invalid inference response: outputs\[0\]\.data: expected 2 elements/.test(e.message),
    );
  });

  it("writes and reads model metadata in the protocol's JSON shape", () => {
    const md = create(ModelMetadataResponseSchema, { name: "m", versions: ["1"], platform: "onnxruntime_onnx", inputs: [{ name: "input", datatype: "FP32", shape: [-1n, 2n] }], outputs: [{ name: "p", datatype: "FP32", shape: [-1n, 3n] }] });
    const json = restMetadata(md);
    assert.deepEqual(json, { name: "m", versions: ["1"], platform: "onnxruntime_onnx", inputs: [{ name: "input", datatype: "FP32", shape: [-1, 2] }], outputs: [{ name: "p", datatype: "FP32", shape: [-1, 3] }] });
    assert.deepEqual(restMetadata(restMetadataToProto(json)), json);
    assert.throws(() => restMetadataToProto({ name: "m", inputs: [{ name: "x", datatype: "F", shape: [1] }] }), /invalid model metadata: inputs\[0\]: expected \{name, datatype/);
  });

  it("round-trips REST → gRPC → REST for every datatype", () => {
    const body = req(DATATYPE_NAMES.map((d) => ({ name: d, shape: [2, 3], datatype: d, data: JSON_DATA[d] })));
    const tensors = decodeInputs(restInferRequestToProto(body, "m"));
    const back = protoInferResponseToRest(create(ModelInferResponseSchema, { modelName: "m", ...encodeOutputs(tensors) }));
    assert.deepEqual(back.outputs, body.inputs);
    assert.deepEqual(encodeInputs(tensors, { raw: true }).rawInputContents.length, 13);
  });
});
