/** Time as the CLI's wait loops see it: passed in, so that they are tested without sleeping. */
export interface PollTime {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/** Wall-clock time. The sleep's timer is not unref'd: a CLI waiting between two polls must not exit meanwhile. */
export const realTime: PollTime = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
};

export interface PollOptions<T> {
  /** Between two calls of `get`; 200 ms. */
  intervalMs?: number;
  /** Give up after this long (the last value comes back with `done: false`); none when absent. */
  timeoutMs?: number;
  /** Each value that is not final yet (to say why it is not). */
  onEach?: (value: T) => void;
  time?: PollTime;
}

/**
 * Calls `get` until `done` says its value is final, or the time is up: what `--wait` does for jobs and deployments.
 * Errors from `get` end the poll (the caller's error handling says what they mean).
 */
export async function pollUntil<T>(get: () => Promise<T>, done: (value: T) => boolean, o: PollOptions<T> = {}): Promise<{ value: T; done: boolean }> {
  const time = o.time ?? realTime;
  const interval = o.intervalMs ?? 200;
  const deadline = o.timeoutMs === undefined ? Infinity : time.now() + o.timeoutMs;
  for (;;) {
    const value = await get();
    if (done(value)) return { value, done: true };
    o.onEach?.(value);
    const left = deadline - time.now();
    if (left <= 0) return { value, done: false };
    await time.sleep(Math.min(interval, left));
  }
}
