// A custom predictor's process: started with PORT in its environment, in a process group of its own, watched until
// it answers readiness, stopped with SIGTERM to its group (SIGKILL after a grace).
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { Code, SwitchyardError, sleep, type Logger } from "@switchyard/core";
import type { PredictorHttp } from "./predictor-http.js";

export interface PredictorExit {
  /** The exit code, or 128 + the signal's number when a signal ended it (as a shell reports it). */
  code: number;
  signal: NodeJS.Signals | null;
}

export interface PredictorProcess {
  readonly pid: number | undefined;
  /** Resolves when the process has exited. */
  readonly exited: Promise<PredictorExit>;
  /** SIGTERM to its group; SIGKILL to the group if it has not exited after `graceMs`. */
  stop(graceMs: number): Promise<PredictorExit>;
}

/** A free TCP port on 127.0.0.1 (bound and released: another process could take it before the predictor does). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

const SIGNAL_NUMBERS: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGABRT: 6, SIGKILL: 9, SIGSEGV: 11, SIGPIPE: 13, SIGTERM: 15 };

export function startPredictor(o: { command: string; args: readonly string[]; port: number; env: NodeJS.ProcessEnv; logger: Logger }): PredictorProcess {
  // stdout goes to our stderr: this process's stdout carries the ready line alone. stdin is a pipe that nothing is
  // written to: it closes when this process dies however it dies, which a predictor may watch (the example does).
  const child = spawn(o.command, o.args, { env: { ...o.env, PORT: String(o.port) }, stdio: ["pipe", 2, 2], detached: true });
  const pid = child.pid;
  let alive = pid !== undefined;
  const exited = new Promise<PredictorExit>((resolve) => {
    child.once("error", (err) => {
      alive = false;
      o.logger.error({ err: err.message, command: o.command }, "cannot start the custom predictor");
      resolve({ code: 127, signal: null });
    });
    child.once("exit", (code, signal) => {
      alive = false;
      resolve({ code: code ?? 128 + (signal ? (SIGNAL_NUMBERS[signal] ?? 1) : 1), signal });
    });
  });
  // The predictor has its own process group (so that signals reach all of its processes, and a job's SIGTERM to ours
  // does not reach it before in-flight calls end): if this process exits without stopping it, take it along.
  const killGroup = (signal: NodeJS.Signals) => {
    if (!alive || pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      // Already gone.
    }
  };
  const onExit = () => killGroup("SIGKILL");
  process.once("exit", onExit);
  void exited.then(() => process.removeListener("exit", onExit));
  o.logger.info({ pid, command: o.command, args: o.args, port: o.port }, "custom predictor started");
  return {
    pid,
    exited,
    async stop(graceMs) {
      killGroup("SIGTERM");
      const timer = setTimeout(() => killGroup("SIGKILL"), graceMs);
      const result = await exited;
      clearTimeout(timer);
      // Whatever it left behind in its group goes too.
      killGroup("SIGKILL");
      return result;
    },
  };
}

/**
 * Polls `GET /v2/health/ready` with growing pauses (25 ms doubling to 1 s) until it answers 200. Fails when the
 * predictor exits first, when `timeoutMs` passes (saying what it last answered), or when `signal` aborts.
 */
export async function waitUntilReady(http: PredictorHttp, proc: PredictorProcess, o: { timeoutMs: number; signal?: AbortSignal }): Promise<void> {
  const deadline = Date.now() + o.timeoutMs;
  let exit: PredictorExit | undefined;
  void proc.exited.then((e) => (exit = e));
  let pause = 25;
  let last = "no answer yet";
  for (;;) {
    if (exit !== undefined) throw new SwitchyardError(Code.FailedPrecondition, `the custom predictor exited with code ${exit.code} before it was ready`);
    if (o.signal?.aborted) throw new SwitchyardError(Code.Canceled, "stopped while waiting for the custom predictor");
    try {
      const res = await http.get("/v2/health/ready", { deadlineMs: Math.min(deadline, Date.now() + 2000), ...(o.signal ? { signal: o.signal } : {}) });
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = (err as Error).message;
    }
    if (Date.now() + pause > deadline) {
      throw new SwitchyardError(Code.DeadlineExceeded, `the custom predictor did not answer GET /v2/health/ready with 200 within ${o.timeoutMs} ms (last: ${last}); raise --startup-timeout-ms if it loads slowly`);
    }
    await Promise.race([sleep(pause, o.signal).catch(() => undefined), proc.exited]);
    pause = Math.min(1000, pause * 2);
  }
}
