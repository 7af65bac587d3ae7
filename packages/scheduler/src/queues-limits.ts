/**
 * What a queue's jobs may keep on disk and in the database — not the scheduler's business, but configured beside the
 * queues (queues.yaml) so an admin sets it per queue; the jobs service applies it. Built-in defaults, then the file's
 * `defaults.limits`, then each queue's `limits`:
 * ```yaml
 * defaults:
 *   limits: {retention: 30d, logHead: 8Mi, logTail: 56Mi, metricPoints: 2000}
 * teams:
 *   vision: {diskQuota: 50Gi}     # outputs, checkpoints and logs of the team's jobs not yet collected
 * queues:
 *   - name: vision
 *     limits: {retention: 7d}
 * ```
 */
import { parseDurationMs } from "@switchyard/core";
import { closest, isRecord, type Violations } from "./yaml-source.js";
import type { QueueLimits, QueuesConfig } from "./types.js";

/** The limits a queue gets when nothing says otherwise (documented in README.md, "Limits"). */
export const DEFAULT_QUEUE_LIMITS: Required<QueueLimits> = {
  retentionMs: 30 * 24 * 3600_000,
  logHeadBytes: 8 * 1024 * 1024,
  logTailBytes: 56 * 1024 * 1024,
  metricPoints: 2000,
};

const LIMIT_FIELDS = { retention: "retentionMs", logHead: "logHeadBytes", logTail: "logTailBytes", metricPoints: "metricPoints" } as const;
const UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };

/** `8Mi`, `50Gi`, `1.5G`, 1048576 → bytes; undefined when not a size. */
export function parseBytes(x: unknown): number | undefined {
  if (typeof x === "number") return Number.isSafeInteger(x) && x >= 0 ? x : undefined;
  const m = typeof x === "string" ? /^(\d+(?:\.\d+)?)\s*(k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(x.trim()) : null;
  if (m === null) return undefined;
  const v = Math.floor(Number(m[1]) * UNITS[m[2] ?? ""]!);
  return Number.isSafeInteger(v) ? v : undefined;
}


export function validateLimits(raw: unknown, at: string, v: Violations): QueueLimits | undefined {
  if (raw === undefined) return undefined;
  if (!isRecord(raw)) {
    v.add(at, "expected limits (a mapping)", { expected: "{retention: 30d, logHead: 8Mi, logTail: 56Mi, metricPoints: 2000}", got: raw });
    return undefined;
  }
  const out: QueueLimits = {};
  for (const [k, value] of Object.entries(raw)) {
    const field = LIMIT_FIELDS[k as keyof typeof LIMIT_FIELDS];
    if (field === undefined) {
      const near = closest(k, Object.keys(LIMIT_FIELDS));
      v.add(`${at}.${k}`, `unknown limit "${k}"`, { expected: Object.keys(LIMIT_FIELDS).join(", "), atKey: true, ...(near ? { hint: `did you mean ${near}?` } : {}) });
      continue;
    }
    const parsed = field === "retentionMs" ? parseDurationMs(value) : field === "metricPoints" ? (Number.isInteger(value) && (value as number) >= 10 && (value as number) <= 100_000 ? (value as number) : undefined) : parseBytes(value);
    if (parsed === undefined) {
      const expected = field === "retentionMs" ? "a duration such as 30d, 12h or 90m" : field === "metricPoints" ? "a whole number from 10 to 100000" : "a size such as 8Mi or 1Gi";
      v.add(`${at}.${k}`, `invalid ${k}`, { expected, got: value });
      continue;
    }
    out[field] = parsed;
  }
  return out;
}

/** `defaults:` and `teams:` of queues.yaml, into `config`. */
export function validateDefaultsAndTeams(doc: Record<string, unknown>, config: QueuesConfig, v: Violations): void {
  const d = doc["defaults"];
  if (d !== undefined) {
    if (!isRecord(d)) v.add("defaults", "expected a mapping", { expected: "defaults: {limits: {…}}", got: d });
    else {
      for (const k of Object.keys(d)) if (k !== "limits") v.add(`defaults.${k}`, `unknown field "${k}"`, { expected: "limits", atKey: true });
      const limits = validateLimits(d["limits"], "defaults.limits", v);
      if (limits) config.defaults = { limits };
    }
  }
  const t = doc["teams"];
  if (t === undefined) return;
  if (!isRecord(t)) {
    v.add("teams", "expected a mapping of team names", { expected: "teams: {vision: {diskQuota: 50Gi}}", got: t });
    return;
  }
  config.teams = {};
  for (const [team, spec] of Object.entries(t)) {
    if (!isRecord(spec)) {
      v.add(`teams.${team}`, "expected a mapping", { expected: "{diskQuota: 50Gi}", got: spec });
      continue;
    }
    for (const k of Object.keys(spec)) if (k !== "diskQuota") v.add(`teams.${team}.${k}`, `unknown field "${k}"`, { expected: "diskQuota", atKey: true });
    if (spec["diskQuota"] === undefined) continue;
    const bytes = parseBytes(spec["diskQuota"]);
    if (bytes === undefined) v.add(`teams.${team}.diskQuota`, "invalid diskQuota", { expected: "a size such as 50Gi", got: spec["diskQuota"] });
    else config.teams[team] = { diskQuotaBytes: bytes };
  }
}

/** The limits in force for a queue's jobs: built-in defaults, then the file's defaults, then the queue's own. */
export function limitsOf(config: QueuesConfig | undefined, queue: string): Required<QueueLimits> {
  const q = config?.queues.find((x) => x.name === queue);
  return { ...DEFAULT_QUEUE_LIMITS, ...(config?.defaults?.limits ?? {}), ...(q?.limits ?? {}) };
}
