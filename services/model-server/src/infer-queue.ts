// Admission and dynamic batching in front of the model: a bounded queue, Triton's dynamic batcher when
// maxBatchSize > 1, a concurrency limit otherwise. Time comes from a Clock, so the rules are tested without sleeping.
import { Code, SwitchyardError, invalidArgument, type Clock, type TimerHandle } from "@switchyard/core";
import { batchKey, batchRows, concatBatch, splitBatch, type Tensor } from "@switchyard/inference";
import type { RunOptions } from "./model-backend.js";
import { newRefusal } from "@switchyard/mesh";

export interface InferQueueOptions {
  clock: Clock;
  /** > 1: dynamic batching up to this many rows (dimension 0) per run; otherwise every request runs alone. */
  maxBatchSize: number;
  /** How long the oldest queued request waits for its batch to fill before it runs anyway. */
  maxQueueDelayMs: number;
  /** Batch sizes (rows) sent as soon as they can be formed. */
  preferredBatchSizes: readonly number[];
  /** Requests that may wait; beyond it a request is refused at once (RESOURCE_EXHAUSTED with a retry-after). */
  maxQueueSize: number;
  /** A request queued longer is refused (RESOURCE_EXHAUSTED); undefined: no limit. */
  queueTimeoutMs: number | undefined;
  /** Without batching: runs at once (0: unlimited); the rest wait in the queue. */
  concurrency: number;
  run(inputs: Tensor[], options: RunOptions): Promise<Tensor[]>;
  events?: InferQueueEvents;
}

/** What the metrics count; the queue does not know about metrics. */
export interface InferQueueEvents {
  /** A run starts: its rows (the batch's dimension 0; 0 when not batching) and the requests it answers. */
  onRun?(rows: number, requests: number): void;
  /** A request leaves the queue for a run, after `waitMs` (0: it ran at once). */
  onDequeue?(waitMs: number): void;
}

interface Waiting {
  readonly inputs: Tensor[];
  readonly options: RunOptions;
  readonly rows: number;
  readonly key: string;
  readonly at: number;
  resolve(outputs: Tensor[]): void;
  reject(err: unknown): void;
  timer?: TimerHandle;
  unlisten?: () => void;
}

export class InferQueue {
  private readonly queue: Waiting[] = [];
  private readonly batching: boolean;
  private runs = 0;
  private runningRequests = 0;
  private draining = false;
  private delay: { handle: TimerHandle; at: number } | undefined;
  private idle: (() => void)[] = [];
  /** Moving averages of a run's duration and of the requests it answers: the retry-after hint of a refusal. */
  private avgRunMs = 0;
  private avgRequestsPerRun = 1;

  constructor(private readonly o: InferQueueOptions) {
    this.batching = o.maxBatchSize > 1;
  }

  /** Requests waiting in the queue. */
  get queued(): number {
    return this.queue.length;
  }

  /** Requests being run now. */
  get running(): number {
    return this.runningRequests;
  }

  /**
   * Runs one request's inputs through the model, queued and batched as configured. Refusals (full queue, queue
   * timeout, draining) are marked not executed and carry a retry-after hint.
   */
  async submit(inputs: Tensor[], options: RunOptions = {}): Promise<Tensor[]> {
    if (this.draining) throw newRefusal(Code.Unavailable, "the model server is shutting down: send the request to another replica");
    let rows = 0;
    let key = "";
    if (this.batching) {
      rows = batchRows(inputs);
      if (rows > this.o.maxBatchSize) {
        throw invalidArgument(`the request has ${rows} rows, more than this model's batches take (${this.o.maxBatchSize}): send at most ${this.o.maxBatchSize} rows per request`, [
          { field: "inputs", message: "too many rows", expected: `at most ${this.o.maxBatchSize}`, got: String(rows) },
        ]);
      }
      key = batchKey(inputs);
    } else if (this.o.concurrency === 0 || this.runs < this.o.concurrency) {
      this.o.events?.onDequeue?.(0);
      return this.runSingle(inputs, options);
    }
    if (this.queue.length >= this.o.maxQueueSize) {
      const after = this.retryAfterMs();
      throw newRefusal(Code.ResourceExhausted, `the model server's queue is full (${this.o.maxQueueSize} requests waiting): retry after ${after} ms, or add replicas`, after);
    }
    if (options.signal?.aborted) throw cancelled(options.signal);
    return new Promise<Tensor[]>((resolve, reject) => {
      const w: Waiting = { inputs, options, rows, key, at: this.o.clock.now(), resolve, reject };
      this.queue.push(w);
      const timeout = this.o.queueTimeoutMs;
      if (timeout !== undefined) w.timer = this.o.clock.setTimeout(() => this.expire(w, timeout), timeout);
      const signal = options.signal;
      if (signal !== undefined) {
        const onAbort = () => this.drop(w, cancelled(signal));
        signal.addEventListener("abort", onAbort, { once: true });
        w.unlisten = () => signal.removeEventListener("abort", onAbort);
      }
      this.pump();
    });
  }

  /**
   * Stops taking requests (they are refused UNAVAILABLE, not executed), runs what is queued without waiting for
   * batches to fill, and resolves once nothing is queued or running.
   */
  drain(): Promise<void> {
    this.draining = true;
    if (this.delay !== undefined) this.o.clock.clearTimeout(this.delay.handle);
    this.delay = undefined;
    this.pump();
    return this.queue.length === 0 && this.runs === 0 ? Promise.resolve() : new Promise((r) => this.idle.push(r));
  }

  /**
   * How long until the queue has room, roughly: what the oldest request still waits for its batch to fill, plus the
   * runs it takes to answer what is queued (moving averages); between 1 ms and 10 s.
   */
  private retryAfterMs(): number {
    const head = this.queue[0];
    const filling = this.batching && head !== undefined ? Math.max(0, head.at + this.o.maxQueueDelayMs - this.o.clock.now()) : 0;
    const perRun = this.batching ? this.avgRequestsPerRun : Math.max(1, this.o.concurrency);
    return Math.min(10_000, Math.max(1, Math.ceil(filling + this.avgRunMs * (this.queue.length / Math.max(1, perRun)))));
  }

  private remove(w: Waiting): boolean {
    const i = this.queue.indexOf(w);
    if (i < 0) return false;
    this.queue.splice(i, 1);
    if (w.timer !== undefined) this.o.clock.clearTimeout(w.timer);
    w.unlisten?.();
    return true;
  }

  private drop(w: Waiting, err: unknown): void {
    if (!this.remove(w)) return;
    w.reject(err);
    this.pump();
  }

  private expire(w: Waiting, timeoutMs: number): void {
    const after = this.retryAfterMs();
    this.drop(w, newRefusal(Code.ResourceExhausted, `the request waited ${timeoutMs} ms in the queue, the most the model server allows (--queue-timeout-us): it is overloaded; retry after ${after} ms, or add replicas`, after));
  }

  private pump(): void {
    if (this.batching) this.pumpBatch();
    else {
      while (this.queue.length > 0 && (this.o.concurrency === 0 || this.runs < this.o.concurrency)) {
        const w = this.queue[0]!;
        this.remove(w);
        this.o.events?.onDequeue?.(this.o.clock.now() - w.at);
        this.runSingle(w.inputs, w.options).then(w.resolve, w.reject);
      }
    }
    if (this.queue.length === 0 && this.runs === 0 && this.idle.length > 0) for (const r of this.idle.splice(0)) r();
  }

  /**
   * Triton's dynamic batcher. One batch runs at a time: ONNX Runtime already spreads one run over its intra-op
   * threads, so two runs on one session would only compete for the same cores and both take longer; while a batch
   * runs, the next one forms from the requests that arrive meanwhile, so under load batches grow to what the model
   * can keep up with. The batch is seeded by the oldest request (so none starves) and takes, in order, the queued
   * requests with the same key (names, datatypes, dimensions after the first) while the rows stay within
   * maxBatchSize. It runs at once when it is full (the next such request would not fit), when a preferred size can be
   * formed (the largest one), when the oldest request has waited maxQueueDelay, or when draining.
   */
  private pumpBatch(): void {
    if (this.runs > 0 || this.queue.length === 0) return;
    const head = this.queue[0]!;
    const picked: Waiting[] = [];
    let rows = 0;
    let full = false;
    let preferredCut = 0;
    for (const w of this.queue) {
      if (w.key !== head.key) continue;
      if (rows + w.rows > this.o.maxBatchSize) {
        full = true;
        break;
      }
      picked.push(w);
      rows += w.rows;
      if (this.o.preferredBatchSizes.includes(rows)) preferredCut = picked.length;
    }
    if (rows === this.o.maxBatchSize) full = true;
    const due = head.at + this.o.maxQueueDelayMs;
    const now = this.o.clock.now();
    const take = full || this.draining || now >= due ? picked : preferredCut > 0 ? picked.slice(0, preferredCut) : undefined;
    if (take === undefined) {
      if (this.delay?.at === due) return;
      if (this.delay !== undefined) this.o.clock.clearTimeout(this.delay.handle);
      this.delay = {
        at: due,
        handle: this.o.clock.setTimeout(() => {
          this.delay = undefined;
          this.pump();
        }, due - now),
      };
      return;
    }
    if (this.delay !== undefined) this.o.clock.clearTimeout(this.delay.handle);
    this.delay = undefined;
    for (const w of take) {
      this.remove(w);
      this.o.events?.onDequeue?.(now - w.at);
    }
    void this.runBatch(take);
  }

  private async runBatch(batch: Waiting[]): Promise<void> {
    const rows = batch.map((w) => w.rows);
    this.started(batch.length, rows.reduce((a, b) => a + b, 0));
    const t0 = this.o.clock.now();
    try {
      const inputs = batch.length === 1 ? batch[0]!.inputs : concatBatch(batch.map((w) => w.inputs));
      const outputs = await this.o.run(inputs, {});
      if (batch.length === 1) batch[0]!.resolve(outputs);
      else splitBatch(outputs, rows).forEach((part, i) => batch[i]!.resolve(part));
    } catch (err) {
      for (const w of batch) w.reject(err);
    } finally {
      this.finished(batch.length, this.o.clock.now() - t0);
    }
  }

  private async runSingle(inputs: Tensor[], options: RunOptions): Promise<Tensor[]> {
    this.started(1, 0);
    const t0 = this.o.clock.now();
    try {
      return await this.o.run(inputs, options);
    } finally {
      this.finished(1, this.o.clock.now() - t0);
    }
  }

  private started(requests: number, rows: number): void {
    this.runs++;
    this.runningRequests += requests;
    this.o.events?.onRun?.(rows, requests);
  }

  private finished(requests: number, ms: number): void {
    this.runs--;
    this.runningRequests -= requests;
    this.avgRunMs = this.avgRunMs === 0 ? ms : 0.8 * this.avgRunMs + 0.2 * ms;
    this.avgRequestsPerRun = 0.8 * this.avgRequestsPerRun + 0.2 * requests;
    this.pump();
  }
}

function cancelled(signal: AbortSignal): SwitchyardError {
  return signal.reason instanceof SwitchyardError ? signal.reason : new SwitchyardError(Code.Canceled, "the request was cancelled while it waited in the queue");
}
