// The model server as a real process on a Unix socket, called through the mesh client, against ONNX Runtime called
// directly on the same model.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { chmodSync, mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import { DATATYPE_NAMES, decodeOutputs, encodeInputs, type Datatype, type Tensor } from "@switchyard/inference";
import { wasNotExecuted } from "@switchyard/mesh";
import * as ort from "onnxruntime-node";
import { datatypesModel, demoModel, fixedBatchModel, privateDir, runToExit, startServer, type ServerProcess } from "./test-harness.js";

const ROWS = [0.1, 0.2, -1, 0.5, 2, -3];
const input = (rows = ROWS): Tensor => ({ name: "input", datatype: "FP32", shape: [rows.length / 2, 2], data: Float32Array.from(rows) });

function failsWith(code: Code, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof SwitchyardError, String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, pattern);
    return true;
  };
}

describe("the model server on the demo model", () => {
  const tmp = privateDir();
  let model: string;
  let server: ServerProcess;
  let expected: Float32Array;

  before(async () => {
    model = demoModel(tmp.dir);
    const session = await ort.InferenceSession.create(model);
    expected = (await session.run({ input: new ort.Tensor("float32", Float32Array.from(ROWS), [3, 2]) })).probabilities!.data as Float32Array;
    await session.release();
    server = await startServer(tmp.dir, ["--name", "demo", "--model", model]);
  });
  after(async () => {
    await server?.stop();
    tmp.remove();
  });

  it("answers typed contents with typed contents and raw with raw, equal to ONNX Runtime called directly", async () => {
    const typed = await server.infer.modelInfer({ modelName: "demo", id: "r1", ...encodeInputs([input()]) });
    assert.equal(typed.rawOutputContents.length, 0);
    assert.equal(typed.modelName, "demo");
    assert.equal(typed.modelVersion, "1");
    assert.equal(typed.id, "r1");
    const [p] = decodeOutputs(typed);
    assert.deepEqual([p!.name, p!.datatype, p!.shape], ["probabilities", "FP32", [3, 3]]);
    assert.deepEqual(Array.from(p!.data as Float32Array), Array.from(expected));
    const raw = await server.infer.modelInfer({ modelName: "demo", modelVersion: "1", ...encodeInputs([input()], { raw: true }) });
    assert.equal(raw.rawOutputContents.length, 1);
    assert.deepEqual(Array.from(decodeOutputs(raw)[0]!.data as Float32Array), Array.from(expected));
  });

  it("describes the model and itself, and says it is ready", async () => {
    const md = await server.infer.modelMetadata({ name: "demo" });
    assert.deepEqual(
      { name: md.name, versions: md.versions, platform: md.platform, inputs: md.inputs.map((t) => [t.name, t.datatype, t.shape.map(Number)]), outputs: md.outputs.map((t) => [t.name, t.datatype, t.shape.map(Number)]) },
      { name: "demo", versions: ["1"], platform: "onnxruntime_onnx", inputs: [["input", "FP32", [-1, 2]]], outputs: [["probabilities", "FP32", [-1, 3]]] },
    );
    assert.equal((await server.infer.serverMetadata({})).name, "switchyard-model-server");
    assert.equal((await server.infer.serverLive({})).live, true);
    assert.equal((await server.infer.serverReady({})).ready, true);
    assert.equal((await server.infer.modelReady({ name: "demo" })).ready, true);
    const load = await server.control.getLoad({});
    assert.equal(load.ready, true);
    assert.ok(load.busyMsTotal > 0);
  });

  it("refuses bad inputs with INVALID_ARGUMENT naming the input and what the model expects", async () => {
    const call = (inputs: Tensor[], extra: object = {}) => server.infer.modelInfer({ modelName: "demo", ...encodeInputs(inputs), ...extra });
    await assert.rejects(call([{ ...input(), name: "features" }]), failsWith(Code.InvalidArgument, /^input "features": the model has no such input; its inputs are input \(FP32 \[-1, 2\]\)$/));
    await assert.rejects(call([{ name: "input", datatype: "FP64", shape: [1, 2], data: Float64Array.of(1, 2) }]), failsWith(Code.InvalidArgument, /^input "input": expected datatype FP32, got FP64$/));
    await assert.rejects(call([{ ...input(), shape: [2, 3] }]), failsWith(Code.InvalidArgument, /^input "input": expected shape \[-1, 2\] \(-1 is any size\), got \[2, 3\]$/));
    await assert.rejects(call([{ ...input(), shape: [6] }]), failsWith(Code.InvalidArgument, /^input "input": expected rank 2 \(shape \[-1, 2\], -1 is any size\), got \[6\]$/));
    const short = { modelName: "demo", inputs: [{ name: "input", datatype: "FP32", shape: [3n, 2n], contents: { fp32Contents: [1, 2, 3] } }] };
    await assert.rejects(server.infer.modelInfer(short), failsWith(Code.InvalidArgument, /^input "input": wrong number of elements for shape \[3, 2\]: expected 6 elements, got 3 in contents.fp32_contents$/));
    await assert.rejects(server.infer.modelInfer({ modelName: "demo" }), failsWith(Code.InvalidArgument, /^input "input" is missing: the model expects input \(FP32 \[-1, 2\]\)$/));
    await assert.rejects(call([input()], { outputs: [{ name: "logits" }] }), failsWith(Code.InvalidArgument, /^output "logits": the model has no such output; its outputs are probabilities/));
  });

  it("answers NOT_FOUND for another model or version", async () => {
    await assert.rejects(server.infer.modelInfer({ modelName: "iris", ...encodeInputs([input()]) }), failsWith(Code.NotFound, /^model "iris" is not served here: this server serves "demo" \(revision 1\)$/));
    await assert.rejects(server.infer.modelInfer({ modelName: "demo", modelVersion: "7", ...encodeInputs([input()]) }), failsWith(Code.NotFound, /has no version "7" here/));
    await assert.rejects(server.infer.modelMetadata({ name: "iris" }), failsWith(Code.NotFound, /not served here/));
  });

  it("counts what it answered for GetLoad and on its metrics socket", async () => {
    const load = await server.control.getLoad({});
    assert.ok(load.completed >= 2n && load.failed >= 7n, JSON.stringify({ completed: String(load.completed), failed: String(load.failed) }));
    const text = await server.scrape();
    assert.match(text, /switchyard_inference_requests_total\{model="demo",revision="1",outcome="ok"\} \d+/);
    assert.match(text, /switchyard_inference_requests_total\{model="demo",revision="1",outcome="invalid_argument"\} \d+/);
    assert.match(text, /switchyard_inference_request_duration_seconds_count\{model="demo",revision="1"\} \d+/);
    assert.match(text, /grpc_server_handled_total\{.*grpc_method="ModelInfer".*\}/);
  });
});

describe("the model server on every datatype", () => {
  const tmp = privateDir();
  /** Every datatype: requests with FP16 go raw (the protocol has no typed FP16). */
  let server: ServerProcess;
  /** Every datatype but FP16, for typed contents. */
  let typedServer: ServerProcess;
  const values: Record<Datatype, Tensor["data"]> = {
    BOOL: Uint8Array.of(1, 0, 1),
    UINT8: Uint8Array.of(0, 128, 255),
    UINT16: Uint16Array.of(0, 1, 65535),
    UINT32: Uint32Array.of(0, 1, 4294967295),
    UINT64: BigUint64Array.of(0n, 2n ** 53n + 1n, 2n ** 64n - 1n),
    INT8: Int8Array.of(-128, 0, 127),
    INT16: Int16Array.of(-32768, 0, 32767),
    INT32: Int32Array.of(-7, 0, 2 ** 31 - 1),
    INT64: BigInt64Array.of(-(2n ** 63n), -(2n ** 53n) - 1n, 2n ** 63n - 1n),
    FP16: Uint16Array.of(0x3c00, 0x0000, 0xc000),
    FP32: Float32Array.of(1.5, -0, 3.25),
    FP64: Float64Array.of(Math.PI, -1e300, 0.1),
    BYTES: ["a", "", "héllo"].map((s) => new TextEncoder().encode(s)),
  };
  const tensor = (d: Datatype): Tensor => ({ name: `${d.toLowerCase()}_in`, datatype: d, shape: [1, 3], data: values[d] }) as Tensor;
  const plain = (t: Tensor) => (Array.isArray(t.data) ? t.data.map((b) => Buffer.from(b).toString()) : Array.from(t.data as ArrayLike<number | bigint>));

  before(async () => {
    const path = join(tmp.dir, "datatypes.onnx");
    await datatypesModel(path, DATATYPE_NAMES);
    server = await startServer(tmp.dir, ["--name", "types", "--model", path]);
    const typedDir = join(tmp.dir, "typed");
    mkdirSync(typedDir, { mode: 0o700 });
    await datatypesModel(join(typedDir, "typed.onnx"), DATATYPE_NAMES.filter((d) => d !== "FP16"));
    typedServer = await startServer(typedDir, ["--name", "types", "--model", join(typedDir, "typed.onnx")]);
  });
  after(async () => {
    await server?.stop();
    await typedServer?.stop();
    tmp.remove();
  });

  for (const raw of [false, true]) {
    it(`round-trips each datatype through Identity as ${raw ? "raw" : "typed"} contents`, async () => {
      // FP16 has no typed contents in the protocol: typed requests go to the model without it.
      const types = DATATYPE_NAMES.filter((d) => raw || d !== "FP16");
      const wanted = types.map((d) => ({ name: `${d.toLowerCase()}_out` }));
      const resp = await (raw ? server : typedServer).infer.modelInfer({ modelName: "types", ...encodeInputs(types.map(tensor), { raw }), outputs: wanted });
      assert.equal(resp.rawOutputContents.length, raw ? types.length : 0);
      const outs = decodeOutputs(resp);
      assert.deepEqual(outs.map((t) => t.name), wanted.map((w) => w.name));
      for (const d of types) {
        const out = outs.find((t) => t.name === `${d.toLowerCase()}_out`)!;
        assert.deepEqual([out.datatype, out.shape, plain(out)], [d, [1, 3], plain(tensor(d))], d);
      }
    });
  }

  it("computes only the outputs asked for, in the order asked, and casts INT32 to FP32", async () => {
    const feeds = DATATYPE_NAMES.map(tensor);
    const resp = await server.infer.modelInfer({ modelName: "types", ...encodeInputs(feeds, { raw: true }), outputs: [{ name: "int32_as_fp32" }, { name: "int64_out" }] });
    const outs = decodeOutputs(resp);
    assert.deepEqual(outs.map((t) => [t.name, t.datatype]), [["int32_as_fp32", "FP32"], ["int64_out", "INT64"]]);
    assert.deepEqual(Array.from(outs[0]!.data as Float32Array), [-7, 0, 2 ** 31]);
  });
});

describe("the model server's refusals at start", () => {
  const tmp = privateDir();
  after(() => tmp.remove());

  it("exits 2 with the usage on a bad flag", () => {
    const r = runToExit(["--name", "m", "--max-queue-size", "none", "--socket", join(tmp.dir, "s.sock")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /^model-server: --max-queue-size must be an integer ≥ 1, got "none"\n\nusage: model-server --name NAME/);
  });

  it("refuses dynamic batching for a model whose first dimension is fixed, naming the input", async () => {
    const path = join(tmp.dir, "fixed.onnx");
    await fixedBatchModel(path);
    const r = runToExit(["--name", "m", "--model", path, "--max-batch-size", "8", "--socket", join(tmp.dir, "s.sock")]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /--max-batch-size 8 needs every input and output to have a variable first dimension \(the batch\), but input "x" has shape \[1, 2\]: its first dimension is fixed/);
  });

  it("says clearly that ONNX Runtime's CUDA provider is not available from Node here", () => {
    const r = runToExit(["--name", "m", "--model", demoModel(tmp.dir), "--gpu", "--socket", join(tmp.dir, "g.sock")]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /model-server: --gpu: ONNX Runtime's CUDA execution provider is not available to onnxruntime-node here/);
  });

  it("refuses a socket directory others can enter (the directory is a plaintext server's only protection)", () => {
    const open = join(tmp.dir, "open");
    mkdirSync(open);
    chmodSync(open, 0o755);
    const r = runToExit(["--name", "m", "--model", "x.onnx", "--socket", join(open, "s.sock")]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the socket directory .*\/open is open to other users \(mode 755\)/);
  });
});

describe("a model sent over ModelServer.LoadModel", () => {
  const tmp = privateDir();
  after(() => tmp.remove());

  it("serves its socket before the model arrives, loads the pieces, checks the checksum, then serves", async () => {
    const file = readFileSync(demoModel(tmp.dir));
    const server = await startServer(tmp.dir, ["--name", "sent"], { waitReady: false });
    try {
      assert.equal((await server.control.getLoad({})).ready, false);
      await assert.rejects(server.infer.modelInfer({ modelName: "sent", ...encodeInputs([input()]) }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unavailable && wasNotExecuted(e) && /not loaded yet/.test(e.message));
      const checksum = `sha256:${createHash("sha256").update(file).digest("hex")}`;
      const half = Math.floor(file.length / 2);
      const total = BigInt(file.length);
      const first = await server.control.loadModel({ offset: 0n, data: file.subarray(0, half), totalBytes: total });
      assert.deepEqual([first.received, first.ready], [BigInt(half), false]);
      const skipped = BigInt(half + 10);
      await assert.rejects(server.control.loadModel({ offset: skipped, data: file.subarray(half + 10, half + 20), totalBytes: total }), failsWith(Code.InvalidArgument, new RegExp(`^the piece at offset ${skipped} is out of order: ${half} bytes were received, so the next piece starts there$`)));
      const again = await server.control.loadModel({ offset: 0n, data: file.subarray(0, half), totalBytes: total });
      assert.equal(again.received, BigInt(half), "a piece sent again is acknowledged, not taken twice");
      const last = await server.control.loadModel({ offset: BigInt(half), data: file.subarray(half), last: true, checksum, totalBytes: total });
      assert.deepEqual([last.received, last.ready], [total, true]);
      assert.equal((await server.control.getLoad({})).ready, true);
      const resp = await server.infer.modelInfer({ modelName: "sent", ...encodeInputs([input()]) });
      assert.deepEqual(decodeOutputs(resp)[0]!.shape, [3, 3]);
      await assert.rejects(server.control.loadModel({ offset: 0n, data: file, last: true, checksum, totalBytes: total }), failsWith(Code.FailedPrecondition, /already received its model/));
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  });

  it("refuses a file whose checksum does not match", async () => {
    const dir = join(tmp.dir, "bad");
    mkdirSync(dir, { mode: 0o700 });
    const server = await startServer(dir, ["--name", "sent"], { waitReady: false });
    try {
      const data = Buffer.from("not a model");
      await assert.rejects(server.control.loadModel({ offset: 0n, data, last: true, checksum: "sha256:00", totalBytes: BigInt(data.length) }), failsWith(Code.DataLoss, /the file was damaged on the way/));
      assert.equal((await server.control.getLoad({})).ready, false);
    } finally {
      await server.stop();
    }
  });
});
