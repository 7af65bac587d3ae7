/**
 * Durations as people write them (`45s`, `90m`, `12h`, `1.5h`, `30d`, `2w`) and the `since` of a query (a duration
 * back from now, or an RFC 3339 time): one grammar for queues.yaml limits, usage and audit queries.
 */
import { Code, SwitchyardError } from "./errors.js";

const UNIT_MS: Readonly<Record<string, number>> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** `30d`, `12h`, `1.5h`, `45s`, `2w` → milliseconds; undefined when `x` is not a duration. */
export function parseDurationMs(x: unknown): number | undefined {
  const m = typeof x === "string" ? /^(\d+(?:\.\d+)?)\s*(s|m|h|d|w)$/.exec(x.trim()) : null;
  if (m === null) return undefined;
  const ms = Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** The time `since` means: a duration back from `nowMs` (`7d`) or an RFC 3339 time; INVALID_ARGUMENT naming `since` otherwise. */
export function parseSinceMs(since: string, nowMs: number): number {
  const d = parseDurationMs(since);
  if (d !== undefined) return nowMs - d;
  const t = /^\d{4}-\d{2}-\d{2}/.test(since) ? Date.parse(since) : NaN;
  if (Number.isFinite(t)) return t;
  throw new SwitchyardError(Code.InvalidArgument, `since: "${since.slice(0, 60)}" is neither a duration nor a time`, {
    details: [{ field: "since", message: "is not a duration or an RFC 3339 time", expected: "30m, 12h, 7d, 2w, or e.g. 2026-11-30T12:00:00Z", got: JSON.stringify(since.slice(0, 60)), hint: "e.g. --since 7d" }],
  });
}
