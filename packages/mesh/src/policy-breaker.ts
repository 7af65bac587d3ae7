import { Code, type Clock, type TimerHandle } from "@switchyard/core";
import type { BreakerState } from "./events.js";

export interface BreakerOptions {
  /** Opens after this many failed calls in a row (0 = not by count). */
  consecutiveFailures?: number;
  /** Opens when at least this share of calls in the window failed (0–1; 0 = not by ratio)… */
  failureRatio?: number;
  /** …and the window holds at least this many calls. */
  minimumCalls?: number;
  /** The sliding window for the ratio (ten buckets). */
  windowMs?: number;
  /** How long it stays open before letting trial calls through (half-open). */
  openMs?: number;
  /** Trial calls let through while half-open; that many successes close it, one failure opens it again. */
  halfOpenCalls?: number;
  /** gRPC codes that count as failures; the rest (OK, NOT_FOUND, INVALID_ARGUMENT…) count as successes. */
  failureCodes?: readonly Code[];
}

export interface CompiledBreakerOptions {
  readonly consecutiveFailures: number;
  readonly failureRatio: number;
  readonly minimumCalls: number;
  readonly windowMs: number;
  readonly openMs: number;
  readonly halfOpenCalls: number;
  readonly failureCodes: ReadonlySet<number>;
}

/** Codes that say the destination, not the request, is at fault. */
export const BREAKER_FAILURE_CODES: readonly Code[] = [Code.Unavailable, Code.DeadlineExceeded, Code.Internal, Code.Unknown, Code.DataLoss];

export function compileBreakerOptions(o: BreakerOptions): CompiledBreakerOptions {
  const c = {
    consecutiveFailures: o.consecutiveFailures ?? 5,
    failureRatio: o.failureRatio ?? 0,
    minimumCalls: o.minimumCalls ?? 20,
    windowMs: o.windowMs ?? 10_000,
    openMs: o.openMs ?? 30_000,
    halfOpenCalls: o.halfOpenCalls ?? 1,
    failureCodes: new Set<number>(o.failureCodes ?? BREAKER_FAILURE_CODES),
  };
  if (c.consecutiveFailures < 0 || !Number.isInteger(c.consecutiveFailures)) throw new RangeError("consecutiveFailures must be an integer ≥ 0");
  if (c.failureRatio < 0 || c.failureRatio > 1) throw new RangeError("failureRatio must be between 0 and 1");
  if (c.consecutiveFailures === 0 && c.failureRatio === 0) throw new RangeError("a circuit breaker needs consecutiveFailures or failureRatio");
  if (c.openMs <= 0 || c.windowMs <= 0) throw new RangeError("openMs and windowMs must be > 0");
  if (c.halfOpenCalls < 1 || !Number.isInteger(c.halfOpenCalls)) throw new RangeError("halfOpenCalls must be an integer ≥ 1");
  return c;
}

const BUCKETS = 10;

/**
 * A circuit breaker for one destination: closed (calls pass, failures counted) → open (calls refused at once, so the
 * caller can fall back instead of waiting on a sick service) → after `openMs`, half-open (a few trial calls) → closed
 * when they succeed, open again when one fails. Time comes from the Clock; the open→half-open move is a timer so the
 * state (and its gauge) changes even without traffic.
 */
export class CircuitBreaker {
  private current: BreakerState = "closed";
  private consecutive = 0;
  private readonly calls = new Float64Array(BUCKETS);
  private readonly failures = new Float64Array(BUCKETS);
  private bucketStartMs: number;
  private bucketIndex = 0;
  private trialsInFlight = 0;
  private trialSuccesses = 0;
  private timer: TimerHandle | undefined;

  constructor(
    private options: CompiledBreakerOptions,
    private readonly clock: Clock,
    private readonly onChange: (from: BreakerState, to: BreakerState) => void = () => undefined,
  ) {
    this.bucketStartMs = clock.now();
  }

  get state(): BreakerState {
    return this.current;
  }

  update(options: CompiledBreakerOptions): void {
    this.options = options;
  }

  /** Whether a call may go now. In half-open this reserves one of the trial slots: report its outcome with `record`. */
  tryPass(): boolean {
    if (this.current === "closed") return true;
    if (this.current === "open") return false;
    if (this.trialsInFlight + this.trialSuccesses >= this.options.halfOpenCalls) return false;
    this.trialsInFlight++;
    return true;
  }

  /** Gives back what `tryPass` reserved for a call that was then not sent (refused by a bulkhead, no endpoint). */
  cancel(): void {
    if (this.current === "half_open") this.trialsInFlight = Math.max(0, this.trialsInFlight - 1);
  }

  /** The outcome of a call that `tryPass` let through. */
  record(code: number): void {
    const failed = this.options.failureCodes.has(code);
    if (this.current === "half_open") {
      this.trialsInFlight = Math.max(0, this.trialsInFlight - 1);
      if (failed) return this.open();
      if (++this.trialSuccesses >= this.options.halfOpenCalls) this.transition("closed");
      return;
    }
    if (this.current === "open") return;
    this.rotate();
    this.calls[this.bucketIndex]!++;
    if (!failed) {
      this.consecutive = 0;
      return;
    }
    this.failures[this.bucketIndex]!++;
    this.consecutive++;
    const o = this.options;
    if (o.consecutiveFailures > 0 && this.consecutive >= o.consecutiveFailures) return this.open();
    if (o.failureRatio > 0) {
      let calls = 0;
      let failures = 0;
      for (let i = 0; i < BUCKETS; i++) {
        calls += this.calls[i]!;
        failures += this.failures[i]!;
      }
      if (calls >= o.minimumCalls && failures / calls >= o.failureRatio) this.open();
    }
  }

  close(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private open(): void {
    this.transition("open");
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (this.current === "open") this.transition("half_open");
    }, this.options.openMs);
  }

  private transition(to: BreakerState): void {
    const from = this.current;
    if (from === to) return;
    this.current = to;
    this.trialsInFlight = 0;
    this.trialSuccesses = 0;
    if (to === "closed" || to === "open") {
      this.consecutive = 0;
      this.calls.fill(0);
      this.failures.fill(0);
    }
    this.onChange(from, to);
  }

  private rotate(): void {
    const width = this.options.windowMs / BUCKETS;
    const now = this.clock.now();
    let steps = Math.floor((now - this.bucketStartMs) / width);
    if (steps <= 0) return;
    this.bucketStartMs += steps * width;
    if (steps > BUCKETS) steps = BUCKETS;
    for (let i = 0; i < steps; i++) {
      this.bucketIndex = (this.bucketIndex + 1) % BUCKETS;
      this.calls[this.bucketIndex] = 0;
      this.failures[this.bucketIndex] = 0;
    }
  }
}
