import type { MessageInitShape } from "@bufbuild/protobuf";
import type { Job, WatchJobsResponseSchema } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { inScope, serviceReaches, type Caller } from "./authz.js";
import type { JobRow } from "./job-rows.js";
import type { JobFilter, JobStore } from "./job-store.js";

/** Open watches: in all, and by caller (a user, or a platform service). */
export interface Watchers {
  open: number;
  readonly byCaller: Map<string, number>;
}

export interface WatchJobsDeps {
  store: JobStore;
  /** Rows as the caller reads them (jobToProto with their current replicas). */
  toProtos(rows: readonly JobRow[]): Promise<Job[]>;
  watchers: Watchers;
  /** At most this many streams at once (each holds a listener on the store and a set of uids). */
  maxWatchers: number;
  /** At most this many of them for one caller: one user's tabs cannot take every slot. */
  maxPerCaller: number;
  /**
   * How long one stream lives before it ends (cleanly: the client opens another). The caller's scope is read when the
   * stream opens; this bounds how long a user removed from a team (or a revoked token) keeps seeing its changes.
   */
  lifetimeMs: number;
  /**
   * Waits while changes gather after the first one (a burst of transitions becomes one message); resolves early on
   * abort. Default: coalesceMs on a timer. Tests pass their own gate.
   */
  gather(signal: AbortSignal): Promise<void>;
}

export interface WatchRequest extends JobFilter {
  /** Teams the caller may read in ("all" for admins and services). */
  scope: "all" | readonly string[];
  caller: Caller;
  limit: number;
}

/** The default `gather`: a timer, cleared if the stream ends first. */
export function gatherFor(ms: number): (signal: AbortSignal) => Promise<void> {
  return (signal) =>
    new Promise((resolve) => {
      if (ms <= 0 || signal.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, ms);
      signal.addEventListener("abort", done, { once: true });
    });
}

const callerKey = (c: Caller) => (c.kind === "service" ? `service:${c.service}` : `user:${c.user}`);

/**
 * WatchJobs: what ListJobs answers, then each change the store commits to a job the filter matches or matched. The
 * store's listener only adds uids to a set (never blocks the writer); the stream reads those jobs when its reader is
 * ready, so a slow reader costs one uid per job, not a backlog of messages, and gets each job's latest state once.
 * Subscribed before the snapshot is read: a change in between is sent again, never lost. The slot, the listener and
 * the set are given back when the stream ends, when it is aborted (even while parked at a write nobody reads), or when
 * its lifetime is up.
 */
export async function* watchJobs(d: WatchJobsDeps, req: WatchRequest, signal: AbortSignal): AsyncIterable<MessageInitShape<typeof WatchJobsResponseSchema>> {
  const key = callerKey(req.caller);
  const mine = d.watchers.byCaller.get(key) ?? 0;
  if (d.watchers.open >= d.maxWatchers) {
    throw new SwitchyardError(Code.ResourceExhausted, `${d.watchers.open} job watches are open, the most this service serves: close one (a dashboard tab) or use ListJobs`, { retryable: true });
  }
  if (mine >= d.maxPerCaller) {
    throw new SwitchyardError(Code.ResourceExhausted, `you have ${mine} job watches open, the most one caller may: close a dashboard tab or another watch`, { retryable: true });
  }
  d.watchers.open++;
  d.watchers.byCaller.set(key, mine + 1);
  let pending = new Set<string>();
  let wake: (() => void) | undefined;
  const unsubscribe = d.store.onChange((uids) => {
    for (const u of uids) pending.add(u);
    wake?.();
  });
  const ended = AbortSignal.any([signal, AbortSignal.timeout(d.lifetimeMs)]);
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    unsubscribe();
    pending = new Set();
    d.watchers.open--;
    const left = (d.watchers.byCaller.get(key) ?? 1) - 1;
    if (left > 0) d.watchers.byCaller.set(key, left);
    else d.watchers.byCaller.delete(key);
    wake?.();
  };
  ended.addEventListener("abort", release, { once: true });
  try {
    const matches = (r: JobRow) =>
      inScope(req.scope, r.team) &&
      (!req.team || r.team === req.team) &&
      (!req.phase || r.phase === req.phase) &&
      (!req.queue || r.queue === req.queue) &&
      (!req.user || r.user === req.user) &&
      (!req.name || r.name === req.name || r.uid === req.name) &&
      serviceReaches(req.caller, r.spec.labels);
    const rows = await listVisible(d.store, req);
    const sent = new Set(rows.map((r) => r.uid));
    yield { snapshot: true, jobs: await d.toProtos(rows) };
    while (!released) {
      if (pending.size === 0) {
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        if (released) break;
        await d.gather(ended);
        if (released) break;
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
    ended.removeEventListener("abort", release);
    release();
  }
}

/**
 * What ListJobs answers, and what a watch starts from: the jobs of each team in scope that the filter matches (in SQL),
 * those a service caller's label reaches, in submission order, at most `limit` (0: the store's own cap).
 */
export async function listVisible(store: JobStore, req: WatchRequest): Promise<JobRow[]> {
  const { scope, caller, limit, ...filter } = req;
  const teams = scope === "all" ? [filter.team ?? ""] : scope;
  const rows = (await Promise.all(teams.map((team) => store.list({ ...filter, team, limit })))).flat().filter((r) => serviceReaches(caller, r.spec.labels)).sort((a, b) => a.seq - b.seq);
  if (teams.length > 1 && limit > 0) rows.length = Math.min(rows.length, limit);
  return rows;
}
