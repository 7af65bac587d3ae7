import { Code as ConnectCode, ConnectError } from "@connectrpc/connect";
import { Code, SwitchyardError, type FieldViolation } from "@switchyard/core";

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

/** The JSON body of a REST error: `{code, message, details}`, details being the field violations. */
export interface ErrorBody {
  code: string;
  message: string;
  details: FieldViolation[];
}

const DETAILS_KEY = "x-switchyard-error-details";

/** Whatever was thrown, as a SwitchyardError (a ConnectError keeps its code and the details it carries in metadata). */
export function toSwitchyardError(err: unknown): SwitchyardError {
  if (err instanceof ConnectError) {
    let details: FieldViolation[] = [];
    const raw = err.metadata.get(DETAILS_KEY);
    if (raw) {
      try {
        details = JSON.parse(decodeURIComponent(raw)) as FieldViolation[];
      } catch {
        details = [];
      }
    }
    return new SwitchyardError(err.code as number as Code, err.rawMessage, { details, cause: err });
  }
  return SwitchyardError.from(err);
}

export function errorBody(err: SwitchyardError): ErrorBody {
  return { code: CODE_NAMES[err.code] ?? "unknown", message: err.message, details: [...err.details] };
}

/** A SwitchyardError as Connect sends it: same code (Connect's codes are gRPC's), field violations in metadata. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = SwitchyardError.from(err);
  const metadata = new Headers();
  if (e.details.length > 0) metadata.set(DETAILS_KEY, encodeURIComponent(JSON.stringify(e.details)));
  return new ConnectError(e.message, e.code as number as ConnectCode, metadata, undefined, err);
}
