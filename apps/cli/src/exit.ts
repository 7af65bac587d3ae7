/** Exit codes: 0 success, 1 the job failed or was cancelled (or another failure), 2 invalid input or usage, 3 unreachable or refused. */
export const EXIT = { ok: 0, failed: 1, usage: 2, unreachable: 3 } as const;

/** An error that ends the CLI with a message and an exit code. */
export class CliExit extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}
