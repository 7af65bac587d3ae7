import { Code, type Clock } from "@switchyard/core";
import { SlidingCounts } from "./sliding-window.js";

/** A VirtualService route's `retries`, compiled. */
export interface CompiledRetryPolicy {
  /** Retries allowed after the first attempt (Istio's `attempts`). */
  readonly attempts: number;
  /** Deadline of each attempt; undefined = each attempt may use all that remains of the call's deadline. */
  readonly perTryTimeoutMs: number | undefined;
  /** gRPC codes a failed attempt is retried on. */
  readonly codes: ReadonlySet<number>;
  /** Retry on transport failures (connect-failure, refused-stream, reset): UNAVAILABLE with no response from the server. */
  readonly transport: boolean;
  /** Send a retry to another endpoint than the one that failed (Istio's default retry host predicate). */
  readonly ignorePreviousHosts: boolean;
}

/** HTTP statuses Istio accepts in `retryOn`, as the gRPC codes they stand for (Envoy's grpc-status → HTTP mapping). */
const HTTP_TO_CODES: Record<string, readonly Code[]> = {
  "409": [Code.Aborted, Code.AlreadyExists],
  "429": [Code.ResourceExhausted],
  "499": [Code.Canceled],
  "500": [Code.Unknown, Code.Internal, Code.DataLoss],
  "501": [Code.Unimplemented],
  "503": [Code.Unavailable],
  "504": [Code.DeadlineExceeded],
};

const GRPC_CONDITIONS: Record<string, Code> = {
  cancelled: Code.Canceled,
  "deadline-exceeded": Code.DeadlineExceeded,
  internal: Code.Internal,
  "resource-exhausted": Code.ResourceExhausted,
  unavailable: Code.Unavailable,
};

const TRANSPORT_CONDITIONS = new Set(["connect-failure", "refused-stream", "reset", "reset-before-request"]);

/**
 * Parses Istio's `retryOn` (Envoy's x-envoy-retry-on and x-envoy-retry-grpc-on values, comma-separated). Returns the
 * codes and whether transport failures count, or throws naming the condition that has no meaning for gRPC calls here.
 */
export function compileRetryOn(retryOn: string): { codes: Set<number>; transport: boolean } {
  const codes = new Set<number>();
  let transport = false;
  for (const raw of retryOn.split(",")) {
    const cond = raw.trim();
    if (cond === "") continue;
    if (cond in GRPC_CONDITIONS) codes.add(GRPC_CONDITIONS[cond]!);
    else if (TRANSPORT_CONDITIONS.has(cond)) transport = true;
    else if (cond === "5xx") for (const c of [...HTTP_TO_CODES["500"]!, Code.Unimplemented, Code.Unavailable, Code.DeadlineExceeded]) codes.add(c);
    else if (cond === "gateway-error") [Code.Unavailable, Code.DeadlineExceeded].forEach((c) => codes.add(c));
    else if (cond === "retriable-4xx") HTTP_TO_CODES["409"]!.forEach((c) => codes.add(c));
    else if (cond === "retriable-status-codes") continue; // enables the numeric entries, which are read as they come
    else if (/^\d{3}$/.test(cond) && cond in HTTP_TO_CODES) HTTP_TO_CODES[cond]!.forEach((c) => codes.add(c));
    else throw new RangeError(`retryOn condition "${cond}" is not supported for gRPC calls (use ${[...Object.keys(GRPC_CONDITIONS), ...TRANSPORT_CONDITIONS, "5xx", "gateway-error", "retriable-4xx", ...Object.keys(HTTP_TO_CODES)].join(", ")})`);
  }
  return { codes, transport };
}

/** Istio's default when a route sets no `retries`: 2 retries on connect-failure, refused-stream, unavailable, cancelled. */
export const DEFAULT_RETRY_POLICY: CompiledRetryPolicy = {
  attempts: 2,
  perTryTimeoutMs: undefined,
  ...compileRetryOn("connect-failure,refused-stream,unavailable,cancelled,retriable-status-codes"),
  ignorePreviousHosts: true,
};

export const NO_RETRY_POLICY: CompiledRetryPolicy = { attempts: 0, perTryTimeoutMs: undefined, codes: new Set(), transport: false, ignorePreviousHosts: true };

/** What the call layer knows about a failed attempt. */
export interface AttemptFailure {
  readonly code: number;
  /** The request surely did not run: refused before it was sent, or refused by the server's admission control. */
  readonly notRun: boolean;
  /** The failure came from the transport, with no status from the server (connect-failure, reset). */
  readonly transport: boolean;
}

/**
 * Whether a failed attempt may be retried by the policy's conditions and the method's safety: a method marked
 * NO_SIDE_EFFECTS or IDEMPOTENT in its proto may run twice; any other only where the first attempt surely did not run.
 */
export function retryable(policy: CompiledRetryPolicy, failure: AttemptFailure, idempotent: boolean): "yes" | "no" | "not_idempotent" {
  const matches = policy.codes.has(failure.code) || (policy.transport && failure.transport);
  if (!matches) return "no";
  return idempotent || failure.notRun ? "yes" : "not_idempotent";
}

/** Exponential backoff with full jitter (Envoy's: uniform in [0, min(max, base·2^(n−1))]), n = the retry number. */
export function backoffMs(retry: number, baseMs: number, maxMs: number, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random() * ceiling);
}

export interface RetryBudgetOptions {
  /** Retries allowed as a share of requests in the window (default 20%). */
  percent?: number;
  /** Retries allowed per second regardless of traffic, so a quiet client can still retry (default 10). */
  minRetriesPerSecond?: number;
  windowMs?: number;
}

export interface CompiledRetryBudgetOptions {
  readonly percent: number;
  readonly minRetriesPerSecond: number;
  readonly windowMs: number;
}

export function compileRetryBudgetOptions(o: RetryBudgetOptions): CompiledRetryBudgetOptions {
  const c = { percent: o.percent ?? 20, minRetriesPerSecond: o.minRetriesPerSecond ?? 10, windowMs: o.windowMs ?? 10_000 };
  if (c.percent < 0 || c.minRetriesPerSecond < 0 || c.windowMs < 100) throw new RangeError("retry budget: percent and minRetriesPerSecond ≥ 0, window ≥ 100 ms");
  return c;
}

/**
 * Finagle's retry budget: over a sliding window, retries may add at most `percent` of the requests plus a small floor.
 * A failing destination therefore sees at most ~1.2× its normal load from retries, never the 3× that "2 retries each"
 * would send. Windowed in ten slots on the Clock.
 */
export class RetryBudget {
  /** a: first attempts (requests), b: retries. */
  private readonly counts: SlidingCounts;

  constructor(
    private options: CompiledRetryBudgetOptions,
    clock: Clock,
  ) {
    this.counts = new SlidingCounts(clock, () => this.options.windowMs);
  }

  update(options: CompiledRetryBudgetOptions): void {
    this.options = options;
  }

  /** Counts a first attempt (a request). */
  onRequest(): void {
    this.counts.addA();
  }

  /** Takes one retry from the budget; false when the budget is spent. */
  tryRetry(): boolean {
    const { a: requests, b: retries } = this.counts.totals();
    const o = this.options;
    const allowed = (o.minRetriesPerSecond * o.windowMs) / 1000 + (requests * o.percent) / 100;
    if (retries + 1 > allowed) return false;
    this.counts.addB();
    return true;
  }
}
