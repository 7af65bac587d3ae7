// Live jobs from the WatchJobs server stream: its first message is the snapshot, each later one the jobs that changed
// and the uids that left the filter. No polling: when the stream drops (gateway restart, network) it is opened again
// after a growing, jittered pause, and the fresh snapshot replaces whatever was missed meanwhile.
import { Code, ConnectError } from "@connectrpc/connect";
import type { Job, ListJobsRequest, WatchJobsResponse } from "@switchyard/api";
import { useEffect, useRef, useState } from "react";
import { usePageVisible } from "../use-page-visible.js";
import { errorText, isAborted, type Api } from "../api.js";

export type WatchFilter = Pick<ListJobsRequest, "state" | "team" | "queue" | "user"> & { name?: string };

export interface WatchHandlers {
  onMessage(msg: WatchJobsResponse): void;
  /** The stream failed; `retryInMs` is when it is tried again (undefined: it is not, the error is final). */
  onError(message: string, retryInMs: number | undefined): void;
}

/** Codes no reconnect can cure: the filter or the caller is wrong. */
const FINAL_CODES = new Set([Code.InvalidArgument, Code.PermissionDenied, Code.Unauthenticated, Code.NotFound, Code.Unimplemented]);

const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 30_000;

/** The waiting between reconnects, replaceable in tests. */
export interface WatchTiming {
  pause(ms: number, signal: AbortSignal): Promise<void>;
  /** In [0, 1): spreads the reconnects of many pages over time. */
  random(): number;
}

const realTiming: WatchTiming = { pause, random: Math.random };

/** Runs until `signal` aborts, reopening the stream after each drop. */
export async function watchJobs(api: Pick<Api, "jobs">, filter: WatchFilter, handlers: WatchHandlers, signal: AbortSignal, timing: WatchTiming = realTiming): Promise<void> {
  let failures = 0;
  while (!signal.aborted) {
    try {
      for await (const msg of api.jobs.watchJobs({ ...filter, limit: 0 }, { signal })) {
        failures = 0;
        handlers.onMessage(msg);
      }
      // The server ended the stream cleanly (it is shutting down): open it again, after a pause like any drop.
    } catch (err) {
      if (signal.aborted || isAborted(err)) return;
      if (FINAL_CODES.has(ConnectError.from(err).code)) {
        handlers.onError(errorText(err), undefined);
        return;
      }
      const waitMs = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** failures) * (0.5 + timing.random() / 2);
      failures++;
      handlers.onError(errorText(err), waitMs);
      await timing.pause(waitMs, signal);
      continue;
    }
    await timing.pause(BACKOFF_BASE_MS, signal);
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
  });
}

export interface LiveJobs {
  /** Newest first; undefined until the first snapshot. */
  jobs: Job[] | undefined;
  /** Set while the stream is down: what failed, and whether it is being retried. */
  problem: string | undefined;
  /** The latest phase changes, as a sentence for the page's live region. */
  announcement: string;
}

/** The jobs matching `filter`, kept live; a new filter closes the stream and opens one for it. */
export function useLiveJobs(api: Api, filter: WatchFilter): LiveJobs {
  const [state, setState] = useState<LiveJobs>({ jobs: undefined, problem: undefined, announcement: "" });
  const { state: phase, team, queue, user } = filter;
  // A tab in the background closes its stream (usePageVisible); back in front, the snapshot brings it up to date.
  const visible = usePageVisible();
  const shownFilter = useRef("");
  useEffect(() => {
    if (!visible) return;
    const ac = new AbortController();
    const byUid = new Map<string, Job>();
    // A new filter starts from nothing; the same filter reopened (after the tab was hidden) keeps its rows meanwhile.
    const key = [phase, team, queue, user].join("\u0000");
    if (shownFilter.current !== key) setState({ jobs: undefined, problem: undefined, announcement: "" });
    shownFilter.current = key;
    void watchJobs(
      api,
      { state: phase, team, queue, user },
      {
        onMessage(msg) {
          const changes: string[] = [];
          if (msg.snapshot) byUid.clear();
          for (const job of msg.jobs) {
            const uid = job.metadata?.uid ?? "";
            const before = byUid.get(uid)?.status?.phase;
            const now = job.status?.phase ?? "";
            if (!msg.snapshot && before !== now) changes.push(`${job.metadata?.name ?? uid} is ${now}`);
            byUid.set(uid, job);
          }
          for (const uid of msg.removed) byUid.delete(uid);
          const jobs = [...byUid.values()].sort(newestFirst);
          // A few changes are read out one by one; a busy cluster's many, as a count (not a stream of chatter).
          const said = changes.length > 3 ? `${changes.length} jobs changed state.` : changes.length > 0 ? `${changes.join("; ")}.` : undefined;
          setState((s) => ({ jobs, problem: undefined, announcement: said ?? s.announcement }));
        },
        onError(message, retryInMs) {
          const problem = retryInMs === undefined ? message : `Live updates interrupted (${message}); reconnecting in ${Math.ceil(retryInMs / 1000)} s.`;
          setState((s) => ({ ...s, problem }));
        },
      },
      ac.signal,
    );
    return () => ac.abort();
  }, [api, phase, team, queue, user, visible]);
  return state;
}

function newestFirst(a: Job, b: Job): number {
  const at = a.metadata?.creationTimestamp;
  const bt = b.metadata?.creationTimestamp;
  const d = Number(bt?.seconds ?? 0n) - Number(at?.seconds ?? 0n) || (bt?.nanos ?? 0) - (at?.nanos ?? 0);
  return d || (a.metadata?.name ?? "").localeCompare(b.metadata?.name ?? "");
}
