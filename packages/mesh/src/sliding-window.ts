import type { Clock } from "@switchyard/core";

const SLOTS = 10;

/**
 * Two event counts over a sliding window, kept in ten slots on the Clock: what the retry budget (requests, retries)
 * and the adaptive throttle (requests, accepts) decide with. The window's length is read at each rotation, so a policy
 * change takes effect without losing the counts.
 */
export class SlidingCounts {
  private readonly a = new Float64Array(SLOTS);
  private readonly b = new Float64Array(SLOTS);
  private slot = 0;
  private slotStartMs: number;

  constructor(
    private readonly clock: Clock,
    private readonly windowMs: () => number,
  ) {
    this.slotStartMs = clock.now();
  }

  /** Counts one event of the first kind in the current slot. */
  addA(): void {
    this.rotate();
    this.a[this.slot]!++;
  }

  /** Counts one event of the second kind in the current slot. */
  addB(): void {
    this.rotate();
    this.b[this.slot]!++;
  }

  /** The totals over the window. */
  totals(): { a: number; b: number } {
    this.rotate();
    let a = 0;
    let b = 0;
    for (let i = 0; i < SLOTS; i++) {
      a += this.a[i]!;
      b += this.b[i]!;
    }
    return { a, b };
  }

  private rotate(): void {
    const width = this.windowMs() / SLOTS;
    const now = this.clock.now();
    let steps = Math.floor((now - this.slotStartMs) / width);
    if (steps <= 0) return;
    this.slotStartMs += steps * width;
    if (steps > SLOTS) steps = SLOTS;
    for (let i = 0; i < steps; i++) {
      this.slot = (this.slot + 1) % SLOTS;
      this.a[this.slot] = 0;
      this.b[this.slot] = 0;
    }
  }
}
