// Dynamic batching, the bounded queue and the drain on SIGTERM, through the real process.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import { decodeOutputs, encodeInputs, type Tensor } from "@switchyard/inference";
import { retryAfterMs, wasNotExecuted } from "@switchyard/mesh";
import * as ort from "onnxruntime-node";
import { demoModel, privateDir, sample, startServer, until } from "./test-harness.js";

const row = (i: number): Tensor => ({ name: "input", datatype: "FP32", shape: [1, 2], data: Float32Array.of(Math.sin(i), Math.cos(3 * i)) });

describe("dynamic batching", () => {
  const tmp = privateDir();
  let model: string;
  let n = 0;
  /** A directory of its own per server (its socket). */
  const dir = () => {
    const d = join(tmp.dir, `s${n++}`);
    mkdirSync(d, { mode: 0o700 });
    return d;
  };
  before(() => {
    model = demoModel(tmp.dir);
  });
  after(() => tmp.remove());

  it("answers 32 concurrent single-row requests in batches, each as ONNX Runtime answers it alone", async () => {
    const session = await ort.InferenceSession.create(model);
    const alone = await Promise.all(Array.from({ length: 32 }, async (_, i) => (await session.run({ input: new ort.Tensor("float32", row(i).data as Float32Array, [1, 2]) })).probabilities!.data as Float32Array));
    await session.release();
    const server = await startServer(dir(), ["--name", "demo", "--model", model, "--max-batch-size", "32", "--max-queue-delay-us", "200000"]);
    try {
      const answers = await Promise.all(Array.from({ length: 32 }, (_, i) => server.infer.modelInfer({ modelName: "demo", ...encodeInputs([row(i)], { raw: i % 2 === 0 }) })));
      answers.forEach((resp, i) => {
        const [p] = decodeOutputs(resp);
        assert.deepEqual(p!.shape, [1, 3]);
        // A batched GEMM may round differently from a single row's: equal to float32 precision.
        Array.from(p!.data as Float32Array).forEach((v, k) => assert.ok(Math.abs(v - alone[i]![k]!) <= 1e-6, `request ${i}: ${v} vs ${alone[i]![k]}`));
        assert.equal(resp.rawOutputContents.length, i % 2 === 0 ? 1 : 0, "raw requests are answered raw, typed ones typed");
      });
      const text = await server.scrape();
      const runs = sample(text, 'switchyard_inference_batch_requests_count{model="demo"')!;
      const requests = sample(text, 'switchyard_inference_batch_requests_sum{model="demo"')!;
      assert.equal(requests, 32);
      assert.ok(runs < 32, `32 requests took ${runs} runs: some were batched`);
      assert.equal(sample(text, 'switchyard_inference_batch_size_sum{model="demo"'), 32, "rows per run add up to the requests' rows");
      assert.equal((await server.control.getLoad({})).completed, 32n);
    } finally {
      assert.equal((await server.stop()).code, 0);
    }
  });

  it("answers RESOURCE_EXHAUSTED at once with a pushback when the queue is full; SIGTERM still answers the queued", async () => {
    // Batches wait up to 10 minutes to fill: the two queued requests stay queued until the drain.
    const server = await startServer(dir(), ["--name", "demo", "--model", model, "--max-batch-size", "8", "--max-queue-delay-us", "600000000", "--max-queue-size", "2"]);
    const queued = [0, 1].map((i) => server.infer.modelInfer({ modelName: "demo", ...encodeInputs([row(i)]) }));
    await until(async () => (await server.control.getLoad({})).queued === 2);
    const refused = await server.infer.modelInfer({ modelName: "demo", ...encodeInputs([row(2)]) }).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof SwitchyardError, String(refused));
    assert.equal(refused.code, Code.ResourceExhausted);
    assert.match(refused.message, /^the model server's queue is full \(2 requests waiting\): retry after \d+ ms, or add replicas$/);
    assert.equal(typeof retryAfterMs(refused), "number", "grpc-retry-pushback-ms came with it");
    assert.ok(wasNotExecuted(refused));
    const load = await server.control.getLoad({});
    assert.deepEqual([load.inFlight, load.queued, load.rejected], [2, 2, 1n]);
    assert.equal((await server.stop()).code, 0);
    for (const resp of await Promise.all(queued)) assert.deepEqual(decodeOutputs(resp)[0]!.shape, [1, 3]);
  });

  it("refuses a request that waited in the queue past --queue-timeout-us", async () => {
    const server = await startServer(dir(), ["--name", "demo", "--model", model, "--max-batch-size", "8", "--max-queue-delay-us", "600000000", "--queue-timeout-us", "200000"]);
    try {
      const e = await server.infer.modelInfer({ modelName: "demo", ...encodeInputs([row(0)]) }).then(() => undefined, (err: unknown) => err);
      assert.ok(e instanceof SwitchyardError && e.code === Code.ResourceExhausted, String(e));
      assert.match(e.message, /^the request waited 200 ms in the queue, the most the model server allows \(--queue-timeout-us\)/);
      assert.equal((await server.control.getLoad({})).rejected, 1n);
      assert.match(await server.scrape(), /switchyard_inference_requests_total\{model="demo",revision="1",outcome="resource_exhausted"\} 1/);
    } finally {
      await server.stop();
    }
  });
});
