import type { Clock } from "@switchyard/core";

export interface ThrottleOptions {
  /** The client sends at most about this many requests per request the destination accepts (the SRE book's K; default 2). */
  requestsPerAccept?: number;
  /** The window requests and accepts are counted over (ten slots; default 10 s). */
  windowMs?: number;
}

export interface CompiledThrottleOptions {
  readonly requestsPerAccept: number;
  readonly windowMs: number;
}

export function compileThrottleOptions(o: ThrottleOptions): CompiledThrottleOptions {
  const c = { requestsPerAccept: o.requestsPerAccept ?? 2, windowMs: o.windowMs ?? 10_000 };
  if (!(c.requestsPerAccept >= 1)) throw new RangeError(`requestsPerAccept must be ≥ 1, got ${c.requestsPerAccept}`);
  if (!(c.windowMs >= 100)) throw new RangeError("the throttling window must be ≥ 100 ms");
  return c;
}

const SLOTS = 10;

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): while a destination refuses calls for
 * overload (RESOURCE_EXHAUSTED, not executed), the client refuses locally with probability
 * max(0, (requests − K·accepts) / (requests + 1)), so an overloaded service receives at most about K times what it can
 * take and the excess is refused where it costs nothing: before a request is serialized and sent. When the destination
 * accepts again, the probability falls back to 0 by itself.
 */
export class AdaptiveThrottle {
  private readonly requests = new Float64Array(SLOTS);
  private readonly accepts = new Float64Array(SLOTS);
  private slot = 0;
  private slotStartMs: number;
  /** The destination's last retry-after hint, offered to callers refused locally. */
  lastPushbackMs: number | undefined;

  constructor(
    private options: CompiledThrottleOptions,
    private readonly clock: Clock,
  ) {
    this.slotStartMs = clock.now();
  }

  update(options: CompiledThrottleOptions): void {
    this.options = options;
  }

  /**
   * Whether to refuse a request locally (counted as a request when refused). Requests sent are counted when their
   * outcome is known (`accepted`, `refused`), so that a burst of calls in flight does not look like refusals.
   */
  reject(random: () => number): boolean {
    this.rotate();
    let requests = 0;
    let accepts = 0;
    for (let i = 0; i < SLOTS; i++) {
      requests += this.requests[i]!;
      accepts += this.accepts[i]!;
    }
    const p = (requests - this.options.requestsPerAccept * accepts) / (requests + 1);
    if (p <= 0 || random() >= p) return false;
    this.requests[this.slot]!++;
    return true;
  }

  /** The destination took the request (whatever it answered, it was not refused for overload). */
  accepted(): void {
    this.rotate();
    this.requests[this.slot]!++;
    this.accepts[this.slot]!++;
  }

  /** The destination refused the request for overload (RESOURCE_EXHAUSTED, not executed). */
  refused(pushbackMs: number | undefined): void {
    this.rotate();
    this.requests[this.slot]!++;
    if (pushbackMs !== undefined) this.lastPushbackMs = pushbackMs;
  }

  private rotate(): void {
    const width = this.options.windowMs / SLOTS;
    const now = this.clock.now();
    let steps = Math.floor((now - this.slotStartMs) / width);
    if (steps <= 0) return;
    this.slotStartMs += steps * width;
    if (steps > SLOTS) steps = SLOTS;
    for (let i = 0; i < steps; i++) {
      this.slot = (this.slot + 1) % SLOTS;
      this.requests[this.slot] = 0;
      this.accepts[this.slot] = 0;
    }
  }
}
