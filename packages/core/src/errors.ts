/**
 * The one error type of Switchyard. `code` is a gRPC status code; the edge maps it to HTTP.
 * `message` is written for the person who reads it: what was wrong, where, and how to fix it.
 */
export enum Code {
  OK = 0,
  Canceled = 1,
  Unknown = 2,
  InvalidArgument = 3,
  DeadlineExceeded = 4,
  NotFound = 5,
  AlreadyExists = 6,
  PermissionDenied = 7,
  ResourceExhausted = 8,
  FailedPrecondition = 9,
  Aborted = 10,
  OutOfRange = 11,
  Unimplemented = 12,
  Internal = 13,
  Unavailable = 14,
  DataLoss = 15,
  Unauthenticated = 16,
}

/** One problem in an input: where it is, what was expected, what was found, how to fix it. */
export interface FieldViolation {
  /** Dotted path into the document, e.g. `spec.replicas[0].resources.gpus`. */
  field: string;
  message: string;
  expected?: string;
  got?: string;
  hint?: string;
  /** Source position for specs read from files (1-based). */
  file?: string;
  line?: number;
  column?: number;
}

/**
 * The metadata key (a gRPC trailer, a Connect header) that carries an error's field violations across the wire, as
 * URI-encoded JSON. Written by the mesh (status.ts) and the gateway (http-errors.ts); read back with parseErrorDetails.
 */
export const ERROR_DETAILS_KEY = "x-switchyard-error-details";

/**
 * The field violations in an ERROR_DETAILS_KEY value; [] for none, for a value that is not URI-encoded JSON, and
 * without entries that are not violations (a field and a message). Pure: the dashboard imports it too
 * (`@switchyard/core/errors`).
 */
export function parseErrorDetails(raw: string | null | undefined): FieldViolation[] {
  if (!raw) return [];
  try {
    const parsed: unknown = JSON.parse(decodeURIComponent(raw));
    return Array.isArray(parsed) ? parsed.filter(isFieldViolation) : [];
  } catch {
    return [];
  }
}

function isFieldViolation(v: unknown): v is FieldViolation {
  return typeof v === "object" && v !== null && typeof (v as FieldViolation).field === "string" && typeof (v as FieldViolation).message === "string";
}

export interface SwitchyardErrorOptions {
  details?: FieldViolation[];
  cause?: unknown;
  /** Whether repeating the same call may succeed. Defaults from the code. */
  retryable?: boolean;
}

const RETRYABLE_BY_DEFAULT = new Set<Code>([Code.Unavailable, Code.ResourceExhausted, Code.Aborted, Code.DeadlineExceeded]);

export class SwitchyardError extends Error {
  override readonly name = "SwitchyardError";
  readonly code: Code;
  readonly details: readonly FieldViolation[];
  readonly retryable: boolean;

  constructor(code: Code, message: string, options: SwitchyardErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details ?? [];
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
  }

  /** Wraps anything thrown into a SwitchyardError, keeping the code of errors that carry one (grpc-js, connect). */
  static from(err: unknown): SwitchyardError {
    if (err instanceof SwitchyardError) return err;
    if (err instanceof Error) {
      const code = (err as { code?: unknown }).code;
      if (typeof code === "number" && code >= 0 && code <= 16) {
        const raw = (err as { details?: unknown }).details;
        const message = typeof raw === "string" && raw.length > 0 ? raw : err.message;
        return new SwitchyardError(code as Code, message, { cause: err });
      }
      return new SwitchyardError(Code.Internal, err.message, { cause: err });
    }
    return new SwitchyardError(Code.Unknown, String(err));
  }
}

export function invalidArgument(message: string, details: FieldViolation[] = []): SwitchyardError {
  return new SwitchyardError(Code.InvalidArgument, message, { details });
}

export function notFound(message: string): SwitchyardError {
  return new SwitchyardError(Code.NotFound, message);
}

/** Formats violations one per line: `file:line:col: field: message (expected X, got Y) — hint`. */
export function formatViolations(details: readonly FieldViolation[]): string {
  return details
    .map((d) => {
      const where = d.file !== undefined ? `${d.file}:${d.line ?? 0}:${d.column ?? 0}: ` : d.line !== undefined ? `${d.line}:${d.column ?? 0}: ` : "";
      const exp = d.expected !== undefined ? ` (expected ${d.expected}${d.got !== undefined ? `, got ${d.got}` : ""})` : "";
      const hint = d.hint !== undefined ? `\n    hint: ${d.hint}` : "";
      return `${where}${d.field}: ${d.message}${exp}${hint}`;
    })
    .join("\n");
}

/**
 * The text a person reads for an error: its message, followed by its violations one per line unless the message
 * already lists them (parsers put `formatViolations` into the message themselves).
 */
export function errorText(message: string, details: readonly FieldViolation[]): string {
  if (details.length === 0 || message.includes("\n") || message.includes(details[0]!.message)) return message;
  return `${message}\n${formatViolations(details)}`;
}
