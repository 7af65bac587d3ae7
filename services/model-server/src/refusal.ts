import { Code, type SwitchyardError } from "@switchyard/core";
import { fromGrpcError } from "@switchyard/mesh";

/**
 * A refusal before the model ran (full queue, queue timeout, draining): RESOURCE_EXHAUSTED or UNAVAILABLE marked
 * "not executed" — a caller may retry it elsewhere — with the standard `grpc-retry-pushback-ms` hint the mesh's
 * retry policy waits for (`retryAfterMs`).
 *
 * The mesh marks its own refusals with `newRefusal` (status.ts), which its index does not export; a refusal is made
 * here the way one arrives from the wire instead, through the exported `fromGrpcError`, so the server sends the very
 * trailers the mesh's policies send (`grpc-retry-pushback-ms`, `x-switchyard-not-executed`) and no new header.
 */
export function refusal(code: Code.ResourceExhausted | Code.Unavailable, message: string, retryAfterMs?: number): SwitchyardError {
  const trailers: Record<string, string[]> = { "x-switchyard-not-executed": ["1"] };
  if (retryAfterMs !== undefined) trailers["grpc-retry-pushback-ms"] = [String(Math.max(0, Math.round(retryAfterMs)))];
  const limit = Error.stackTraceLimit;
  // Refusals are frequent under overload and raised before any model code ran: no stack trace (as the mesh's own).
  Error.stackTraceLimit = 0;
  try {
    return fromGrpcError(Object.assign(new Error(message), { code, details: message, metadata: { get: (key: string) => trailers[key] ?? [] } }) as unknown as Parameters<typeof fromGrpcError>[0]);
  } finally {
    Error.stackTraceLimit = limit;
  }
}
