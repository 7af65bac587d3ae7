import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, FakeClock, SwitchyardError } from "@switchyard/core";
import type { Tensor } from "@switchyard/inference";
import { retryAfterMs, wasNotExecuted } from "@switchyard/mesh";
import { InferQueue, type InferQueueOptions } from "./infer-queue.js";

/** A request of `rows` rows of width `width`, each row's values its tag. */
const rowsOf = (tag: number, rows = 1, width = 2): Tensor[] => [{ name: "x", datatype: "FP32", shape: [rows, width], data: new Float32Array(rows * width).fill(tag) }];

const flush = () => new Promise((r) => setImmediate(r));

/** A queue whose runs the test finishes by hand: each run is recorded with its inputs and a `finish`. */
function harness(o: Partial<InferQueueOptions>) {
  const clock = new FakeClock(1_000);
  const runs: { inputs: Tensor[]; finish(): void; fail(err: unknown): void }[] = [];
  const sizes: number[] = [];
  const queue = new InferQueue({
    clock,
    maxBatchSize: 0,
    maxQueueDelayMs: 0,
    preferredBatchSizes: [],
    maxQueueSize: 100,
    queueTimeoutMs: undefined,
    concurrency: 0,
    // The "model" doubles its input: outputs keep the batch's rows.
    run: (inputs) =>
      new Promise((resolve, reject) => {
        const x = inputs[0]!;
        runs.push({ inputs, finish: () => resolve([{ name: "y", datatype: "FP32", shape: x.shape.slice(), data: (x.data as Float32Array).map((v) => v * 2) }]), fail: reject });
      }),
    events: { onRun: (rows) => sizes.push(rows) },
    ...o,
  });
  return { clock, runs, sizes, queue };
}

const values = (t: Tensor[]) => Array.from(t[0]!.data as Float32Array);

describe("the inference queue", () => {
  it("batches queued requests in order once the oldest has waited the queue delay, and cuts the answers back", async () => {
    const { clock, runs, sizes, queue } = harness({ maxBatchSize: 8, maxQueueDelayMs: 5 });
    const answers = [1, 2, 3].map((tag) => queue.submit(rowsOf(tag, tag)));
    await flush();
    assert.equal(runs.length, 0, "waits for the batch to fill");
    clock.advance(4);
    await flush();
    assert.equal(runs.length, 0);
    clock.advance(1);
    assert.equal(runs.length, 1);
    assert.deepEqual(runs[0]!.inputs[0]!.shape, [6, 2]);
    assert.deepEqual(sizes, [6]);
    runs[0]!.finish();
    const [a, b, c] = await Promise.all(answers);
    assert.deepEqual(values(a!), [2, 2]);
    assert.deepEqual(values(b!), [4, 4, 4, 4]);
    assert.deepEqual(values(c!), [6, 6, 6, 6, 6, 6]);
  });

  it("runs a batch at once when it is full or reaches the largest preferred size", async () => {
    const full = harness({ maxBatchSize: 4, maxQueueDelayMs: 1_000 });
    for (const tag of [1, 2, 3, 4, 5]) void full.queue.submit(rowsOf(tag, 2));
    assert.equal(full.runs.length, 1, "the third request does not fit: the batch of two runs");
    assert.deepEqual(full.runs[0]!.inputs[0]!.shape, [4, 2]);
    const preferred = harness({ maxBatchSize: 16, maxQueueDelayMs: 1_000, preferredBatchSizes: [2, 4] });
    for (const tag of [1, 2, 3]) void preferred.queue.submit(rowsOf(tag));
    // After two requests a preferred size is formed and runs; the third waits for the next batch.
    assert.equal(preferred.runs.length, 1);
    assert.deepEqual(preferred.runs[0]!.inputs[0]!.shape, [2, 2]);
    assert.equal(preferred.queue.queued, 1);
  });

  it("runs one batch at a time and forms the next from what arrives meanwhile", async () => {
    const { runs, sizes, queue } = harness({ maxBatchSize: 32, maxQueueDelayMs: 0 });
    const first = queue.submit(rowsOf(1));
    assert.equal(runs.length, 1, "no delay: the first request runs alone at once");
    const rest = [2, 3, 4, 5].map((tag) => queue.submit(rowsOf(tag)));
    assert.equal(runs.length, 1, "the next batch waits while one runs");
    runs[0]!.finish();
    await first;
    await flush();
    assert.equal(runs.length, 2);
    assert.deepEqual(sizes, [1, 4]);
    runs[1]!.finish();
    assert.deepEqual((await Promise.all(rest)).map((t) => values(t)[0]), [4, 6, 8, 10]);
  });

  it("puts requests whose other dimensions differ in different batches, oldest first", async () => {
    const { clock, runs, queue } = harness({ maxBatchSize: 8, maxQueueDelayMs: 2 });
    void queue.submit(rowsOf(1, 1, 2));
    void queue.submit(rowsOf(2, 1, 3));
    void queue.submit(rowsOf(3, 1, 2));
    clock.advance(2);
    assert.deepEqual(runs.map((r) => r.inputs[0]!.shape), [[2, 2]]);
    runs[0]!.finish();
    await flush();
    assert.deepEqual(runs.map((r) => r.inputs[0]!.shape), [[2, 2], [1, 3]], "the other width waited past its delay: it runs next");
  });

  it("refuses at once when the queue is full, not executed, with a retry-after", async () => {
    const { clock, runs, queue } = harness({ maxBatchSize: 4, maxQueueDelayMs: 10, maxQueueSize: 2 });
    void queue.submit(rowsOf(1));
    void queue.submit(rowsOf(2));
    const refused = await queue.submit(rowsOf(3)).then(() => undefined, (e: unknown) => e);
    assert.ok(refused instanceof SwitchyardError);
    assert.equal(refused.code, Code.ResourceExhausted);
    assert.match(refused.message, /^the model server's queue is full \(2 requests waiting\): retry after \d+ ms, or add replicas$/);
    assert.ok(wasNotExecuted(refused));
    assert.equal(typeof retryAfterMs(refused), "number");
    clock.advance(10);
    assert.equal(runs.length, 1);
  });

  it("refuses a request that waited longer than the queue timeout", async () => {
    const { clock, runs, queue } = harness({ maxBatchSize: 0, concurrency: 1, queueTimeoutMs: 50 });
    const running = queue.submit(rowsOf(1));
    const waiting = queue.submit(rowsOf(2)).then(() => undefined, (e: unknown) => e);
    clock.advance(50);
    const e = await waiting;
    assert.ok(e instanceof SwitchyardError && e.code === Code.ResourceExhausted && /waited 50 ms in the queue/.test(e.message), String(e));
    assert.ok(wasNotExecuted(e));
    assert.equal(queue.queued, 0);
    runs[0]!.finish();
    await running;
    assert.equal(runs.length, 1, "the timed-out request never ran");
  });

  it("without batching runs up to the concurrency and queues the rest in order", async () => {
    const { runs, queue } = harness({ concurrency: 2 });
    const answers = [1, 2, 3, 4].map((tag) => queue.submit(rowsOf(tag)));
    assert.equal(runs.length, 2);
    assert.equal(queue.queued, 2);
    assert.equal(queue.running, 2);
    runs[1]!.finish();
    await flush();
    assert.deepEqual(runs.map((r) => values(r.inputs)[0]), [1, 2, 3]);
    for (const r of runs) r.finish();
    await flush();
    runs[3]!.finish();
    assert.deepEqual((await Promise.all(answers)).map((t) => values(t)[0]), [2, 4, 6, 8]);
  });

  it("drops a request its caller cancelled while it waited", async () => {
    const { runs, queue } = harness({ concurrency: 1 });
    void queue.submit(rowsOf(1));
    const abort = new AbortController();
    const waiting = queue.submit(rowsOf(2), { signal: abort.signal }).then(() => undefined, (e: unknown) => e);
    abort.abort();
    const e = await waiting;
    assert.ok(e instanceof SwitchyardError && e.code === Code.Canceled);
    runs[0]!.finish();
    await flush();
    assert.equal(runs.length, 1);
  });

  it("when draining runs what is queued without waiting for batches to fill, and refuses new requests", async () => {
    const { runs, queue } = harness({ maxBatchSize: 8, maxQueueDelayMs: 60_000 });
    const queued = [1, 2].map((tag) => queue.submit(rowsOf(tag)));
    assert.equal(runs.length, 0);
    let drained = false;
    const draining = queue.drain().then(() => (drained = true));
    assert.equal(runs.length, 1);
    const late = await queue.submit(rowsOf(3)).then(() => undefined, (e: unknown) => e);
    assert.ok(late instanceof SwitchyardError && late.code === Code.Unavailable && wasNotExecuted(late));
    await flush();
    assert.equal(drained, false);
    runs[0]!.finish();
    await Promise.all(queued);
    await draining;
  });

  it("refuses a request with more rows than a batch takes, and fails every request of a failed batch", async () => {
    const { clock, runs, queue } = harness({ maxBatchSize: 4, maxQueueDelayMs: 1 });
    await assert.rejects(queue.submit(rowsOf(1, 5)), /the request has 5 rows, more than this model's batches take \(4\)/);
    const answers = [1, 2].map((tag) => queue.submit(rowsOf(tag)).then(() => "ok", (e: unknown) => (e as Error).message));
    clock.advance(1);
    runs[0]!.fail(new SwitchyardError(Code.Internal, "boom"));
    assert.deepEqual(await Promise.all(answers), ["boom", "boom"]);
  });
});
