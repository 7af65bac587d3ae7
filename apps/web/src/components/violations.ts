// The field violations an error carries. The gateway sends them as Connect error metadata
// `x-switchyard-error-details` (URI-encoded JSON, services/gateway http-errors.ts), each with the line and column of
// the manifest it points at; when they were cut for size, the positions are read back from the message, which lists
// each problem as `[file:]line:column: field: message` (core formatViolations).
import { ConnectError } from "@connectrpc/connect";
import { ERROR_DETAILS_KEY, parseErrorDetails, type FieldViolation } from "@switchyard/core/errors";

export type Violation = FieldViolation;

const POSITIONED = /^(?:[^\s:]+:)?(\d+):(\d+): ([^:]+): (.*)$/;

/** The error's violations: from its metadata, else parsed from its message; [] when it has none. */
export function violationsOf(err: unknown): Violation[] {
  const e = ConnectError.from(err);
  const sent = parseErrorDetails(e.metadata.get(ERROR_DETAILS_KEY));
  if (sent.length > 0) return sent;
  const out: Violation[] = [];
  for (const line of e.rawMessage.split("\n")) {
    const m = POSITIONED.exec(line.trim());
    if (m) out.push({ line: Number(m[1]), column: Number(m[2]), field: m[3]!, message: m[4]! });
  }
  return out;
}

/** The first line of an error's message (the rest repeats the violations, which are shown on their own). */
export function headline(err: unknown): string {
  const e = ConnectError.from(err);
  return (e.rawMessage || e.message).split("\n")[0] ?? "";
}

/** "has the wrong type (expected a number, got "two")". */
export function violationText(v: Violation): string {
  const exp = v.expected !== undefined ? ` (expected ${v.expected}${v.got !== undefined ? `, got ${v.got}` : ""})` : "";
  return `${v.field}: ${v.message}${exp}`;
}
