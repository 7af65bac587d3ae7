import type { Clock } from "@switchyard/core";
import { SlidingCounts } from "./sliding-window.js";

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

/**
 * Client-side adaptive throttling (Google SRE book, "Handling Overload"): while a destination refuses calls for
 * overload (RESOURCE_EXHAUSTED, not executed), the client refuses locally with probability
 * max(0, (requests − K·accepts) / (requests + 1)), so an overloaded service receives at most about K times what it can
 * take and the excess is refused where it costs nothing: before a request is serialized and sent. When the destination
 * accepts again, the probability falls back to 0 by itself.
 */
export class AdaptiveThrottle {
  /** a: requests, b: requests the destination accepted. */
  private readonly counts: SlidingCounts;
  /** The destination's last retry-after hint, offered to callers refused locally. */
  lastPushbackMs: number | undefined;

  constructor(
    private options: CompiledThrottleOptions,
    clock: Clock,
  ) {
    this.counts = new SlidingCounts(clock, () => this.options.windowMs);
  }

  update(options: CompiledThrottleOptions): void {
    this.options = options;
  }

  /**
   * Whether to refuse a request locally (counted as a request when refused). Requests sent are counted when their
   * outcome is known (`accepted`, `refused`), so that a burst of calls in flight does not look like refusals.
   */
  reject(random: () => number): boolean {
    const { a: requests, b: accepts } = this.counts.totals();
    const p = (requests - this.options.requestsPerAccept * accepts) / (requests + 1);
    if (p <= 0 || random() >= p) return false;
    this.counts.addA();
    return true;
  }

  /** The destination took the request (whatever it answered, it was not refused for overload). */
  accepted(): void {
    this.counts.addA();
    this.counts.addB();
  }

  /** The destination refused the request for overload (RESOURCE_EXHAUSTED, not executed). */
  refused(pushbackMs: number | undefined): void {
    this.counts.addA();
    if (pushbackMs !== undefined) this.lastPushbackMs = pushbackMs;
  }
}
