import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from "@grpc/grpc-js";
import { Code, SwitchyardError, type FieldViolation } from "@switchyard/core";

const DETAILS_KEY = "x-switchyard-error-details";

/** A SwitchyardError as grpc-js sends it: code, message, and the field violations as JSON in trailing metadata. */
export function toGrpcError(err: unknown): Partial<StatusObject> {
  const e = SwitchyardError.from(err);
  const metadata = new Metadata();
  if (e.details.length > 0) metadata.set(DETAILS_KEY, encodeURIComponent(JSON.stringify(e.details)));
  if (e.retryable) metadata.set("x-switchyard-retryable", "1");
  return { code: e.code as number as GrpcStatus, details: e.message, metadata };
}

/** The SwitchyardError a grpc-js client error stands for, with the details the server sent. */
export function fromGrpcError(err: ServiceError | Error): SwitchyardError {
  const se = err as Partial<ServiceError>;
  if (typeof se.code !== "number") return SwitchyardError.from(err);
  let details: FieldViolation[] = [];
  const raw = se.metadata?.get(DETAILS_KEY)[0];
  if (typeof raw === "string") {
    try {
      details = JSON.parse(decodeURIComponent(raw)) as FieldViolation[];
    } catch {
      details = [];
    }
  }
  const retryable = se.metadata?.get("x-switchyard-retryable")[0] === "1" ? true : undefined;
  const message = se.details && se.details.length > 0 ? se.details : (se.message ?? "unknown error");
  return new SwitchyardError(se.code as number as Code, message, { details, cause: err, ...(retryable ? { retryable } : {}) });
}
