import type { Clock, TimerHandle } from "@switchyard/core";

export interface BulkheadOptions {
  /** Calls running at once (Istio's `connectionPool.http.http2MaxRequests` on the client side). */
  maxConcurrent: number;
  /** Calls waiting for a slot (Istio's `http1MaxPendingRequests`); 0 = none wait. */
  maxQueue?: number;
  /** The longest a call waits in the queue before it is refused; the call's own deadline also bounds it. */
  maxQueueWaitMs?: number;
}

export interface CompiledBulkheadOptions {
  readonly maxConcurrent: number;
  readonly maxQueue: number;
  readonly maxQueueWaitMs: number;
}

export function compileBulkheadOptions(o: BulkheadOptions): CompiledBulkheadOptions {
  if (!Number.isInteger(o.maxConcurrent) || o.maxConcurrent < 1) throw new RangeError(`maxConcurrent must be an integer ≥ 1, got ${o.maxConcurrent}`);
  const maxQueue = o.maxQueue ?? 0;
  if (!Number.isInteger(maxQueue) || maxQueue < 0) throw new RangeError(`maxQueue must be an integer ≥ 0, got ${maxQueue}`);
  return { maxConcurrent: o.maxConcurrent, maxQueue, maxQueueWaitMs: o.maxQueueWaitMs ?? 60_000 };
}

interface Waiter {
  resolve: (admitted: boolean) => void;
  timer: TimerHandle | undefined;
  done: boolean;
}

/** Result of `enter`: admitted now, refused now, or queued (the promise says whether the call was admitted in time). */
export type BulkheadEntry = true | false | Promise<boolean>;

/**
 * Max concurrent calls plus a bounded FIFO queue; beyond both, a call is refused at once (the caller answers
 * RESOURCE_EXHAUSTED) instead of piling up until memory runs out. Options can change while calls are in flight: the
 * counters carry over, and a larger limit admits queued calls immediately.
 */
export class Bulkhead {
  private inFlight = 0;
  private readonly queue: Waiter[] = [];
  private queueHead = 0;
  private holdEwmaMs = 0;

  constructor(
    private options: CompiledBulkheadOptions,
    private readonly clock: Clock,
  ) {}

  get active(): number {
    return this.inFlight;
  }

  get queued(): number {
    return this.queue.length - this.queueHead;
  }

  get limits(): CompiledBulkheadOptions {
    return this.options;
  }

  update(options: CompiledBulkheadOptions): void {
    this.options = options;
    this.drain();
    while (this.queued > options.maxQueue) this.finish(this.queue.pop()!, false);
  }

  /**
   * Asks for a slot. `waitMs` bounds the time in the queue (the call's remaining deadline); `signal` takes a queued call
   * out when the caller gives up.
   */
  enter(waitMs: number = Infinity, signal?: AbortSignal): BulkheadEntry {
    if (this.inFlight < this.options.maxConcurrent && this.queued === 0) {
      this.inFlight++;
      return true;
    }
    if (this.queued >= this.options.maxQueue || waitMs <= 0) return false;
    return new Promise<boolean>((resolve) => {
      const w: Waiter = { resolve, timer: undefined, done: false };
      const limit = Math.min(waitMs, this.options.maxQueueWaitMs);
      if (Number.isFinite(limit)) w.timer = this.clock.setTimeout(() => this.finish(w, false), limit);
      signal?.addEventListener("abort", () => this.finish(w, false), { once: true });
      this.queue.push(w);
    });
  }

  /** Gives a slot back; `heldMs` (when known) feeds the retry-after estimate. */
  leave(heldMs?: number): void {
    this.inFlight--;
    if (heldMs !== undefined && heldMs >= 0) this.holdEwmaMs = this.holdEwmaMs === 0 ? heldMs : this.holdEwmaMs * 0.9 + heldMs * 0.1;
    this.drain();
  }

  /** A hint for a refused caller: about when a slot should be free, from the average hold time and the queue. */
  retryAfterMs(): number {
    const perSlot = this.holdEwmaMs > 0 ? this.holdEwmaMs : 10;
    return Math.max(1, Math.ceil(perSlot * (1 + this.queued / this.options.maxConcurrent)));
  }

  private drain(): void {
    while (this.inFlight < this.options.maxConcurrent && this.queueHead < this.queue.length) {
      const w = this.queue[this.queueHead++]!;
      if (w.done) continue;
      this.inFlight++;
      this.finish(w, true);
    }
    if (this.queueHead > 64 && this.queueHead * 2 > this.queue.length) {
      this.queue.splice(0, this.queueHead);
      this.queueHead = 0;
    }
  }

  private finish(w: Waiter, admitted: boolean): void {
    if (w.done) return;
    w.done = true;
    if (w.timer !== undefined) this.clock.clearTimeout(w.timer);
    if (!admitted) {
      const i = this.queue.indexOf(w, this.queueHead);
      if (i >= 0) this.queue.splice(i, 1);
    }
    w.resolve(admitted);
  }
}
