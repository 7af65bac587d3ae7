import { pino } from "pino";

/** Structured logging. Libraries take a Logger and default to `noopLogger`; services build one with `createLogger`. */
export interface Logger {
  debug(fields: Record<string, unknown>, msg: string): void;
  info(fields: Record<string, unknown>, msg: string): void;
  warn(fields: Record<string, unknown>, msg: string): void;
  error(fields: Record<string, unknown>, msg: string): void;
  child(fields: Record<string, unknown>): Logger;
}

export const noopLogger: Logger = {
  debug() {},
  info() {},
  warn() {},
  error() {},
  child() {
    return noopLogger;
  },
};

export interface LoggerOptions {
  component: string;
  level?: string;
  /** Where to write; defaults to stderr (stdout stays free for command output). */
  destination?: number | string;
}

export function createLogger(options: LoggerOptions): Logger {
  // A log file is private (0600): logs name users, teams and jobs.
  const dest = pino.destination({ dest: options.destination ?? 2, sync: false, mode: 0o600 });
  return pino({ level: options.level ?? "info", base: { component: options.component } }, dest);
}
