import { Code } from "@switchyard/core";

/** Istio's HTTPFaultInjection, compiled: fractions in [0, 1], delay in ms, abort as a gRPC code. */
export interface CompiledFault {
  readonly delay: { readonly fraction: number; readonly delayMs: number } | undefined;
  readonly abort: { readonly fraction: number; readonly code: Code } | undefined;
}

export interface FaultDecision {
  readonly delayMs: number;
  /** The code to fail with, or undefined to let the call go. */
  readonly abortCode: Code | undefined;
}

const NONE: FaultDecision = { delayMs: 0, abortCode: undefined };

/**
 * Decides the faults of one call. Delay and abort are drawn independently, as Envoy's fault filter does: a call may be
 * delayed and then aborted. Applied once per call before any attempt, so retries do not re-roll (or mask) an injected
 * abort.
 */
export function decideFault(fault: CompiledFault | undefined, random: () => number): FaultDecision {
  if (fault === undefined) return NONE;
  const delayMs = fault.delay !== undefined && random() < fault.delay.fraction ? fault.delay.delayMs : 0;
  const abortCode = fault.abort !== undefined && random() < fault.abort.fraction ? fault.abort.code : undefined;
  return delayMs === 0 && abortCode === undefined ? NONE : { delayMs, abortCode };
}

/** gRPC status names as Istio writes them in `abort.grpcStatus`. */
export const GRPC_STATUS_NAMES: Readonly<Record<string, Code>> = {
  OK: Code.OK,
  CANCELLED: Code.Canceled,
  UNKNOWN: Code.Unknown,
  INVALID_ARGUMENT: Code.InvalidArgument,
  DEADLINE_EXCEEDED: Code.DeadlineExceeded,
  NOT_FOUND: Code.NotFound,
  ALREADY_EXISTS: Code.AlreadyExists,
  PERMISSION_DENIED: Code.PermissionDenied,
  RESOURCE_EXHAUSTED: Code.ResourceExhausted,
  FAILED_PRECONDITION: Code.FailedPrecondition,
  ABORTED: Code.Aborted,
  OUT_OF_RANGE: Code.OutOfRange,
  UNIMPLEMENTED: Code.Unimplemented,
  INTERNAL: Code.Internal,
  UNAVAILABLE: Code.Unavailable,
  DATA_LOSS: Code.DataLoss,
  UNAUTHENTICATED: Code.Unauthenticated,
};

/** The gRPC code an `abort.httpStatus` becomes (gRPC's HTTP → status mapping). */
export function codeForHttpStatus(status: number): Code {
  switch (status) {
    case 400:
      return Code.Internal;
    case 401:
      return Code.Unauthenticated;
    case 403:
      return Code.PermissionDenied;
    case 404:
      return Code.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return Code.Unavailable;
    default:
      return Code.Unknown;
  }
}
