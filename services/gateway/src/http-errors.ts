import { Code as ConnectCode, ConnectError } from "@connectrpc/connect";
import { Code, ERROR_DETAILS_KEY, SwitchyardError, nameSuffix, noopLogger, parseErrorDetails, type FieldViolation, type Logger } from "@switchyard/core";
import { retryAfterMs } from "@switchyard/mesh";
import { formatBytes } from "./edge-limits.js";

/** gRPC status → HTTP status, as Google's APIs and grpc-gateway map them. */
const HTTP_STATUS: Record<Code, number> = {
  [Code.OK]: 200,
  [Code.Canceled]: 499,
  [Code.Unknown]: 500,
  [Code.InvalidArgument]: 400,
  [Code.DeadlineExceeded]: 504,
  [Code.NotFound]: 404,
  [Code.AlreadyExists]: 409,
  [Code.PermissionDenied]: 403,
  [Code.ResourceExhausted]: 429,
  [Code.FailedPrecondition]: 400,
  [Code.Aborted]: 409,
  [Code.OutOfRange]: 400,
  [Code.Unimplemented]: 501,
  [Code.Internal]: 500,
  [Code.Unavailable]: 503,
  [Code.DataLoss]: 500,
  [Code.Unauthenticated]: 401,
};

/** Connect's names for the codes (`invalid_argument`, …): REST callers get the same name Connect callers do. */
export const CODE_NAMES: readonly string[] = [
  "ok", "canceled", "unknown", "invalid_argument", "deadline_exceeded", "not_found", "already_exists", "permission_denied",
  "resource_exhausted", "failed_precondition", "aborted", "out_of_range", "unimplemented", "internal", "unavailable",
  "data_loss", "unauthenticated",
];

export function httpStatusOf(code: Code): number {
  return HTTP_STATUS[code] ?? 500;
}

/**
 * A request body over the gateway's limit. RESOURCE_EXHAUSTED for gRPC callers, but 413 (not 429) over HTTP: waiting
 * does not help, a smaller body does.
 */
export class BodyTooLargeError extends SwitchyardError {
  constructor(readonly maxBytes: number) {
    const hint = `send at most ${formatBytes(maxBytes)}, or raise SWITCHYARD_MAX_BODY_BYTES on the gateway`;
    super(Code.ResourceExhausted, `message too large: the request body is over the gateway's limit of ${formatBytes(maxBytes)} (${maxBytes} bytes); ${hint}`, {
      retryable: false,
      details: [{ field: "body", message: "is too large", expected: `at most ${maxBytes} bytes`, got: `more than ${maxBytes} bytes`, hint }],
    });
  }
}

/**
 * A refusal of the edge's own that waiting cures (a full queue of held requests): `retryAfterMs` reaches REST callers
 * as `Retry-After` and gRPC callers as `grpc-retry-pushback-ms`, as a service's pushback does (mesh `retryAfterMs`).
 */
export class RetryLaterError extends SwitchyardError {
  constructor(
    code: Code,
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(code, message, { retryable: true });
  }
}

/** How long the caller is asked to wait before trying again: the edge's own hint, or the one a service sent. */
export function pushbackMsOf(err: unknown): number | undefined {
  return err instanceof RetryLaterError ? err.retryAfterMs : retryAfterMs(err);
}

/** The `Retry-After` header (whole seconds, at least 1) of an error that carries a pushback; none otherwise. */
export function retryAfterHeader(err: unknown): Record<string, string> {
  const ms = pushbackMsOf(err);
  return ms === undefined ? {} : { "retry-after": String(Math.max(1, Math.ceil(ms / 1000))) };
}

/** The HTTP status of an error at the edge: Google's mapping of its code, 413 for a body over the limit. */
export function httpStatusOfError(err: SwitchyardError): number {
  return err instanceof BodyTooLargeError ? 413 : httpStatusOf(err.code);
}

/** The JSON body of a REST error: `{code, message, details}`, details being the field violations. */
export interface ErrorBody {
  code: string;
  message: string;
  details: FieldViolation[];
}

/** gRPC's retry pushback trailer (A6): how long the server asks the caller to wait. */
const PUSHBACK_KEY = "grpc-retry-pushback-ms";

/** Whatever was thrown, as a SwitchyardError (a ConnectError keeps its code and the details it carries in metadata). */
export function toSwitchyardError(err: unknown): SwitchyardError {
  if (err instanceof ConnectError) {
    return new SwitchyardError(err.code as number as Code, err.rawMessage, { details: parseErrorDetails(err.metadata.get(ERROR_DETAILS_KEY)), cause: err });
  }
  return SwitchyardError.from(err);
}

export function errorBody(err: SwitchyardError): ErrorBody {
  return { code: CODE_NAMES[err.code] ?? "unknown", message: err.message, details: [...err.details] };
}

/**
 * What a caller may see of an error. INTERNAL and UNKNOWN ones come from the unexpected (an exception in the gateway, or
 * one a service passed on): their text may hold server paths or worse, so the caller gets `internal error (id …)` and
 * the log gets the text, under the same id.
 */
export function publicError(err: unknown, log: Logger = noopLogger, context: Record<string, unknown> = {}): SwitchyardError {
  const e = toSwitchyardError(err);
  const cause = e.cause instanceof Error && !(e.cause instanceof ConnectError) ? e.cause : e;
  // DATA_LOSS messages are written for the user (what to do about it) and pass; they are logged all the same.
  if (e.code === Code.DataLoss) log.error({ ...context, code: "data_loss", err: e.message, stack: cause.stack }, "data loss");
  if (e.code !== Code.Internal && e.code !== Code.Unknown) return e;
  const id = nameSuffix(10);
  log.error({ ...context, errorId: id, code: CODE_NAMES[e.code], err: e.message, stack: cause.stack }, "internal error");
  return new SwitchyardError(e.code, `internal error (id ${id}): the gateway's log has the details under this id`);
}

/** A SwitchyardError as Connect sends it: same code (Connect's codes are gRPC's), field violations in metadata. */
export function toConnectError(err: unknown, log?: Logger, context?: Record<string, unknown>): ConnectError {
  if (err instanceof ConnectError && err.code !== ConnectCode.Internal && err.code !== ConnectCode.Unknown) return err;
  const e = publicError(err, log, context);
  const metadata = new Headers();
  if (e.details.length > 0) metadata.set(ERROR_DETAILS_KEY, encodeURIComponent(JSON.stringify(e.details)));
  const pushback = pushbackMsOf(e);
  if (pushback !== undefined) metadata.set(PUSHBACK_KEY, String(Math.max(0, Math.round(pushback))));
  return new ConnectError(e.message, e.code as number as ConnectCode, metadata, undefined, err);
}
