import type { Logger } from "./logger.js";

/** The line a service prints on stdout once it serves; the supervisor (`switchyard up`) waits for it. */
export const READY_PREFIX = "SWITCHYARD_READY ";

export interface ReadyInfo {
  service: string;
  address: string;
  [key: string]: unknown;
}

/** A started service, as its composition root returns it: where it serves and how to stop it gracefully. */
export interface RunningService {
  service: string;
  address: string;
  stop(): Promise<void>;
}

export function announceReady(info: ReadyInfo): void {
  process.stdout.write(`${READY_PREFIX}${JSON.stringify(info)}\n`);
}

export function parseReadyLine(line: string): ReadyInfo | undefined {
  if (!line.startsWith(READY_PREFIX)) return undefined;
  try {
    return JSON.parse(line.slice(READY_PREFIX.length)) as ReadyInfo;
  } catch {
    return undefined;
  }
}

/** Runs `stop` once on SIGTERM or SIGINT, then exits; a second signal exits at once. */
export function onShutdown(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (signal: NodeJS.Signals | "supervisor gone") => {
    if (stopping) process.exit(130);
    stopping = true;
    logger.info({ signal }, "stopping");
    stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err: String(err) }, "stop failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", handler);
  process.on("SIGINT", handler);
  // Started by `switchyard up`: the supervisor holds an IPC channel to us, which closes when it dies however it dies
  // (kill -9 included). A service must not outlive it: nobody would restart, stop or read it, and it would keep its
  // socket and database from the next `up`. Jobs are separate process groups and keep running.
  if (process.send) process.on("disconnect", () => handler("supervisor gone"));
  // Benchmarks run services with --expose-gc (SWITCHYARD_NODE_ARGS) and measure memory after a forced collection.
  const gc = (globalThis as { gc?: () => void }).gc;
  if (typeof gc === "function") process.on("SIGUSR2", () => gc());
}
