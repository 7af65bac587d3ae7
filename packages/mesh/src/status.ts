import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { Code, ERROR_DETAILS_KEY, SwitchyardError, parseErrorDetails, type FieldViolation } from "@switchyard/core";
/** gRPC's standard retry pushback trailer: the server asks callers to wait this long before trying again. */
export const PUSHBACK_KEY = "grpc-retry-pushback-ms";
/** Set by a server's admission control (bulkhead, rate limit, draining): the handler never ran, a retry is safe. */
export const NOT_EXECUTED_KEY = "x-switchyard-not-executed";

interface Rejection {
  readonly retryAfterMs: number | undefined;
  readonly notExecuted: boolean;
}
const rejections = new WeakMap<SwitchyardError, Rejection>();

/** Marks an error as an admission refusal: the call did not run; `retryAfterMs` is the hint sent to the caller. */
export function markRejected(err: SwitchyardError, retryAfterMs?: number): SwitchyardError {
  rejections.set(err, { retryAfterMs, notExecuted: true });
  return err;
}

/**
 * A refusal by admission control (bulkhead, rate limit, breaker, throttle): expected, frequent under overload, and
 * raised before any user code ran, so it carries no stack trace (capturing one was a visible share of the CPU of an
 * overloaded client).
 */
export function newRefusal(code: Code, message: string, retryAfterMs?: number): SwitchyardError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return markRejected(new SwitchyardError(code, message), retryAfterMs);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

/** The retry-after hint of a refused call (rate limit, bulkhead), in ms, or undefined. Works across the wire. */
export function retryAfterMs(err: unknown): number | undefined {
  return err instanceof SwitchyardError ? rejections.get(err)?.retryAfterMs : undefined;
}

/** Whether a failed call surely did not run on the server (refused by its admission control, or never sent). */
export function wasNotExecuted(err: unknown): boolean {
  return err instanceof SwitchyardError && rejections.get(err)?.notExecuted === true;
}

/**
 * Bounds on what an error carries in trailers: messages and violations often quote what the caller sent (a name, a
 * path), and trailers are metadata — grpc-js refuses more than 8 KiB of it, and a peer that sends more breaks the
 * connection for every call on it. So a message is cut to 3,000 bytes as sent (percent-encoded), each violation's texts
 * at 200 characters, and the violations at what fits in 3,000 encoded bytes.
 */
const MAX_MESSAGE_BYTES = 3000;
const MAX_FIELD = 200;
const MAX_DETAILS_BYTES = 3000;

function boundedMessage(message: string): string {
  let m = cut(message, MAX_MESSAGE_BYTES);
  while (encodeURIComponent(m).length > MAX_MESSAGE_BYTES) m = cut(m, Math.floor(m.length * 0.7));
  return m;
}

const cut = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function boundedDetails(details: readonly FieldViolation[]): string | undefined {
  const kept: FieldViolation[] = [];
  let encoded: string | undefined;
  for (const d of details) {
    const short = Object.fromEntries(Object.entries(d).map(([k, v]) => [k, typeof v === "string" ? cut(v, MAX_FIELD) : v])) as unknown as FieldViolation;
    const next = encodeURIComponent(JSON.stringify([...kept, short]));
    if (next.length > MAX_DETAILS_BYTES) break;
    kept.push(short);
    encoded = next;
  }
  return encoded;
}

/** A SwitchyardError as grpc-js sends it: code, message, and the field violations as JSON in trailing metadata. */
export function toGrpcError(err: unknown): Partial<StatusObject> {
  const e = SwitchyardError.from(err);
  const metadata = new Metadata();
  const details = e.details.length > 0 ? boundedDetails(e.details) : undefined;
  if (details !== undefined) metadata.set(ERROR_DETAILS_KEY, details);
  if (e.retryable) metadata.set("x-switchyard-retryable", "1");
  const r = rejections.get(e);
  if (r?.notExecuted) metadata.set(NOT_EXECUTED_KEY, "1");
  if (r?.retryAfterMs !== undefined) metadata.set(PUSHBACK_KEY, String(Math.max(0, Math.round(r.retryAfterMs))));
  return { code: e.code as number as GrpcStatus, details: boundedMessage(e.message), metadata };
}

/** The SwitchyardError a grpc-js client error stands for, with the details the server sent. */
export function fromGrpcError(err: ServiceError | Error): SwitchyardError {
  const se = err as Partial<ServiceError>;
  if (typeof se.code !== "number") return SwitchyardError.from(err);
  const md = se.metadata;
  const raw = md?.get(ERROR_DETAILS_KEY)[0];
  const details = typeof raw === "string" ? parseErrorDetails(raw) : [];
  const retryable = md?.get("x-switchyard-retryable")[0] === "1" ? true : undefined;
  // grpc-js appends where the call went (",remote_addr=unix:/…/data/run/jobs.sock", ",LB pick: …") to errors it makes
  // itself (deadlines, dropped connections): the caller's business is what failed, not the server's paths.
  const message = (se.details && se.details.length > 0 ? se.details : (se.message ?? "unknown error")).replace(/,\s*(remote_addr|local_addr)=\S*/g, "");
  const e = new SwitchyardError(se.code as number as Code, message, { details, cause: err, ...(retryable ? { retryable } : {}) });
  const pushback = md?.get(PUSHBACK_KEY)[0];
  if (md?.get(NOT_EXECUTED_KEY)[0] === "1" || pushback !== undefined) {
    rejections.set(e, { retryAfterMs: typeof pushback === "string" && /^\d+$/.test(pushback) ? Number(pushback) : undefined, notExecuted: md?.get(NOT_EXECUTED_KEY)[0] === "1" });
  }
  return e;
}

/** UNAVAILABLE with no trailers from a server: the transport failed (connect failure, reset), not the handler. */
export function isTransportFailure(err: ServiceError): boolean {
  return err.code === GrpcStatus.UNAVAILABLE && (err.metadata === undefined || Object.keys(err.metadata.getMap()).length === 0);
}
