/**
 * Timers for jobs' `activeDeadlineSeconds`, counted from the job's first start. A timer only says that a deadline
 * passed (`onPassed`); what that means is the state machine's business (job-state.ts, input `deadline`), and the
 * flag it sets is stored before any replica is stopped.
 */
import type { Clock } from "@switchyard/core";
import type { JobRow } from "./job-rows.js";
import { isFinal } from "./phases.js";

/** Timers take at most 2^31 − 1 ms (~24.8 days; a longer one fires at once): a far deadline is re-armed on the way. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

export class JobDeadlines {
  private readonly timers = new Map<string, ReturnType<Clock["setTimeout"]>>();

  constructor(
    private readonly clock: Clock,
    private readonly onPassed: (uid: string) => void,
  ) {}

  /** Arms the job's deadline unless it has none, is armed already, or the job has ended. */
  arm(job: JobRow): void {
    const seconds = job.spec.activeDeadlineSeconds;
    if (!seconds || this.timers.has(job.uid) || isFinal(job.phase)) return;
    const at = (job.start_time ?? this.clock.now()) + seconds * 1000;
    const wait = at - this.clock.now();
    if (wait > MAX_TIMER_MS) {
      this.timers.set(job.uid, this.clock.setTimeout(() => (this.timers.delete(job.uid), this.arm(job)), MAX_TIMER_MS));
      return;
    }
    const t = this.clock.setTimeout(() => {
      this.timers.delete(job.uid);
      this.onPassed(job.uid);
    }, Math.max(0, wait));
    this.timers.set(job.uid, t);
  }

  disarm(uid: string): void {
    const t = this.timers.get(uid);
    if (t) this.clock.clearTimeout(t);
    this.timers.delete(uid);
  }

  close(): void {
    for (const uid of [...this.timers.keys()]) this.disarm(uid);
  }
}
