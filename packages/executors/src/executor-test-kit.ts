/**
 * Helpers for any engine's tests: waiting on a condition and on a run's end, reading a run's whole log. Test-only;
 * not exported from index.ts.
 */
import type { Executor, ReplicaState } from "./executor.js";

export async function waitFor<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export function exitOf(ex: Executor, runId: string, timeoutMs = 10_000): Promise<ReplicaState> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error(`run ${runId} did not end within ${timeoutMs} ms`));
    }, timeoutMs);
    const stop = ex.watch(runId, (state) => {
      clearTimeout(timer);
      resolve(state);
    });
  });
}

export async function logText(ex: Executor, runId: string): Promise<string> {
  return (await ex.readLog(runId)).data.toString("utf8");
}
