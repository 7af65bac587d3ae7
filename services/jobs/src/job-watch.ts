import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Job, WatchJobsResponseSchema } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { inScope, serviceReaches, type Caller } from "./authz.js";
import type { JobRow } from "./job-rows.js";
import type { JobFilter, JobStore } from "./job-store.js";

export interface WatchJobsDeps {
  store: JobStore;
  /** Rows as the caller reads them (jobToProto with their current replicas). */
  toProtos(rows: readonly JobRow[]): Promise<Job[]>;
  /** Streams open now, for the cap. */
  watchers: { open: number };
  /** At most this many streams at once (each holds a listener on the store and a set of uids). */
  maxWatchers: number;
  /** How long changes gather before they are read and sent together (a burst of transitions is one message). */
  coalesceMs: number;
}

export interface WatchRequest extends JobFilter {
  /** Teams the caller may read in ("all" for admins and services). */
  scope: "all" | readonly string[];
  caller: Caller;
  limit: number;
}

/**
 * WatchJobs: what ListJobs answers, then each change the store commits to a job the filter matches or matched. The
 * store's listener only adds uids to a set (never blocks the writer); the stream reads those jobs when its reader is
 * ready, so a slow reader costs one uid per job, not a backlog of messages, and gets each job's latest state once.
 * Subscribed before the snapshot is read: a change in between is sent again, never lost.
 */
export async function* watchJobs(d: WatchJobsDeps, req: WatchRequest, signal: AbortSignal): AsyncIterable<MessageInitShape<typeof WatchJobsResponseSchema>> {
  if (d.watchers.open >= d.maxWatchers) {
    throw new SwitchyardError(Code.ResourceExhausted, `${d.watchers.open} job watches are open, the most this service serves: close one (a dashboard tab) or use ListJobs`, { retryable: true });
  }
  d.watchers.open++;
  let pending = new Set<string>();
  let wake: (() => void) | undefined;
  const unsubscribe = d.store.onChange((uids) => {
    for (const u of uids) pending.add(u);
    wake?.();
  });
  const aborted = new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
  try {
    const matches = (r: JobRow) =>
      inScope(req.scope, r.team) && (!req.team || r.team === req.team) && (!req.phase || r.phase === req.phase) && (!req.queue || r.queue === req.queue) && (req.user === undefined || req.user === "" || r.user === req.user) && serviceReaches(req.caller, r.spec.labels);
    const teams = req.scope === "all" ? [req.team ?? ""] : req.scope;
    const rows = (await Promise.all(teams.map((team) => d.store.list({ ...filterOf(req), team, limit: req.limit })))).flat().filter(matches).sort((a, b) => a.seq - b.seq);
    if (teams.length > 1 && req.limit > 0) rows.length = Math.min(rows.length, req.limit);
    const sent = new Set(rows.map((r) => r.uid));
    yield { snapshot: true, jobs: await d.toProtos(rows) };
    while (!signal.aborted) {
      if (pending.size === 0) {
        await Promise.race([new Promise<void>((resolve) => (wake = resolve)), aborted]);
        wake = undefined;
        if (signal.aborted) break;
        if (d.coalesceMs > 0) await Promise.race([new Promise((r) => setTimeout(r, d.coalesceMs)), aborted]);
      }
      const uids = [...pending];
      pending = new Set();
      const found = new Map((await d.store.byUids(uids)).map((r) => [r.uid, r]));
      const changed: JobRow[] = [];
      const removed: string[] = [];
      for (const uid of uids) {
        const row = found.get(uid);
        if (row !== undefined && matches(row)) {
          changed.push(row);
          sent.add(uid);
        } else if (sent.delete(uid)) removed.push(uid);
      }
      if (changed.length === 0 && removed.length === 0) continue;
      changed.sort((a, b) => a.seq - b.seq);
      yield { snapshot: false, jobs: await d.toProtos(changed), removed };
    }
  } finally {
    unsubscribe();
    d.watchers.open--;
  }
}

function filterOf(f: JobFilter): JobFilter {
  return { ...(f.phase ? { phase: f.phase } : {}), ...(f.queue ? { queue: f.queue } : {}), ...(f.user ? { user: f.user } : {}) };
}
