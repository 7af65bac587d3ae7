/** A job's history as the accounting sees it (the jobs service keeps one per job). */
export interface JobRecord {
  uid: string;
  team: string;
  user?: string;
  submittedAtMs: number;
  /** Each attempt: when it started, when it ended (absent while it runs), and the GPUs it held (shares by fraction). */
  runs: { startedAtMs: number; endedAtMs?: number; gpus: number }[];
  /** When the job ended for good (succeeded, failed, cancelled); absent while queued or running. */
  finishedAtMs?: number;
}

export interface UsageRow {
  /** The team or user. */
  key: string;
  jobs: number;
  gpuHours: number;
  /** Time jobs waited in the queue: before the first start and between a preemption and the next start. */
  queueingHours: number;
  /** Mean waiting per job, seconds. */
  avgQueueingS: number;
}

export interface UsageReport {
  byTeam: UsageRow[];
  byUser: UsageRow[];
  total: UsageRow;
}

export interface UsageWindow {
  fromMs?: number;
  toMs?: number;
}

function overlap(a: number, b: number, w: UsageWindow): number {
  const lo = Math.max(a, w.fromMs ?? -Infinity);
  const hi = Math.min(b, w.toMs ?? Infinity);
  return Math.max(0, hi - lo);
}

/** GPU-milliseconds used and milliseconds waited by one job up to `nowMs`, within the window. */
export function jobUsage(r: JobRecord, nowMs: number, w: UsageWindow = {}): { gpuMs: number; waitMs: number } {
  const runs = [...r.runs].sort((a, b) => a.startedAtMs - b.startedAtMs);
  let gpuMs = 0;
  let waitMs = 0;
  let queuedSince: number | undefined = r.submittedAtMs;
  for (const run of runs) {
    if (queuedSince !== undefined) waitMs += overlap(queuedSince, run.startedAtMs, w);
    const end = run.endedAtMs ?? nowMs;
    gpuMs += run.gpus * overlap(run.startedAtMs, end, w);
    queuedSince = run.endedAtMs;
  }
  if (queuedSince !== undefined && (runs.length === 0 || r.finishedAtMs === undefined)) {
    waitMs += overlap(queuedSince, r.finishedAtMs ?? nowMs, w);
  }
  return { gpuMs, waitMs };
}

/** GPU-hours and queueing time per team and per user from job records (optionally within a time window). */
export function accountUsage(records: readonly JobRecord[], nowMs: number, window: UsageWindow = {}): UsageReport {
  const teams = new Map<string, UsageRow>();
  const users = new Map<string, UsageRow>();
  const total: UsageRow = { key: "total", jobs: 0, gpuHours: 0, queueingHours: 0, avgQueueingS: 0 };
  const add = (m: Map<string, UsageRow> | undefined, key: string, gpuMs: number, waitMs: number): void => {
    let row = m === undefined ? total : m.get(key);
    if (row === undefined) m!.set(key, (row = { key, jobs: 0, gpuHours: 0, queueingHours: 0, avgQueueingS: 0 }));
    row.jobs++;
    row.gpuHours += gpuMs / 3_600_000;
    row.queueingHours += waitMs / 3_600_000;
  };
  for (const r of records) {
    const u = jobUsage(r, nowMs, window);
    add(teams, r.team, u.gpuMs, u.waitMs);
    add(users, r.user ?? "(unknown)", u.gpuMs, u.waitMs);
    add(undefined, "total", u.gpuMs, u.waitMs);
  }
  const finish = (rows: Iterable<UsageRow>): UsageRow[] =>
    [...rows].map((x) => ({ ...x, avgQueueingS: x.jobs > 0 ? (x.queueingHours * 3600) / x.jobs : 0 })).sort((a, b) => b.gpuHours - a.gpuHours || (a.key < b.key ? -1 : 1));
  return { byTeam: finish(teams.values()), byUser: finish(users.values()), total: finish([total])[0]! };
}
