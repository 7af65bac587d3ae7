// The field violations an error carries. The gateway sends them as Connect error metadata
// `x-switchyard-error-details` (URI-encoded JSON, services/gateway http-errors.ts), each with the line and column of
// the manifest it points at; when they were cut for size, the positions are read back from the message, which lists
// each problem as `[file:]line:column: field: message` (core formatViolations).
import { ConnectError } from "@connectrpc/connect";

/** As FieldViolation in packages/core errors.ts. */
export interface Violation {
  field: string;
  message: string;
  expected?: string;
  got?: string;
  hint?: string;
  file?: string;
  line?: number;
  column?: number;
}

const DETAILS_KEY = "x-switchyard-error-details";
const POSITIONED = /^(?:[^\s:]+:)?(\d+):(\d+): ([^:]+): (.*)$/;

/** The error's violations: from its metadata, else parsed from its message; [] when it has none. */
export function violationsOf(err: unknown): Violation[] {
  const e = ConnectError.from(err);
  const raw = e.metadata.get(DETAILS_KEY);
  if (raw) {
    try {
      const parsed: unknown = JSON.parse(decodeURIComponent(raw));
      if (Array.isArray(parsed)) return parsed.filter(isViolation);
    } catch {
      // fall through to the message
    }
  }
  const out: Violation[] = [];
  for (const line of e.rawMessage.split("\n")) {
    const m = POSITIONED.exec(line.trim());
    if (m) out.push({ line: Number(m[1]), column: Number(m[2]), field: m[3]!, message: m[4]! });
  }
  return out;
}

function isViolation(v: unknown): v is Violation {
  return typeof v === "object" && v !== null && typeof (v as Violation).field === "string" && typeof (v as Violation).message === "string";
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
