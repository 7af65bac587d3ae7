/**
 * A replica's log as a stream (`Jobs.GetLogs`): everything kept so far from the start, then — when following — new
 * output as it is written, until the replica has ended and its last bytes are sent. A follower of a job still queued
 * waits for its first placement. The executor keeps the log (bounded, across restarts); this reads it by offset.
 */
import { Code, SwitchyardError, sleep } from "@switchyard/core";
import type { Executor } from "@switchyard/executors";
import type { JobRow } from "./job-rows.js";
import type { JobStore } from "./job-store.js";
import { isEnded } from "./phases.js";

export interface LogRequest {
  /** 0: the current attempt. */
  attempt: number;
  replica: number;
  follow: boolean;
}

export interface LogPiece {
  data: Buffer;
  replica: number;
  attempt: number;
}

/** How long a follower waits between looks at a job not yet placed, and at a replica that wrote nothing new. */
const PLACEMENT_POLL_MS = 200;
const OUTPUT_POLL_MS = 100;
const READ_BYTES = 256 * 1024;

export async function* streamLogs(d: { store: JobStore; executor: Executor }, job: JobRow, req: LogRequest, signal: AbortSignal): AsyncIterable<LogPiece> {
  let row = job;
  while (req.follow && row.attempt === 0 && row.phase === "Queued" && !signal.aborted) {
    await sleep(PLACEMENT_POLL_MS, signal).catch(() => undefined);
    row = (await d.store.byUid(row.uid))!;
  }
  const attempt = req.attempt > 0 ? req.attempt : row.attempt;
  if (attempt === 0) return;
  const replica = (await d.store.replicas(row.uid, attempt)).find((r) => r.idx === req.replica);
  if (!replica) throw new SwitchyardError(Code.NotFound, `job "${row.name}" has no replica ${req.replica} in attempt ${attempt}`);
  let offset = 0;
  for (;;) {
    const chunk = await d.executor.readLog(replica.run_id, { offset, maxBytes: READ_BYTES }).catch(() => ({ data: Buffer.alloc(0), nextOffset: offset }));
    if (chunk.data.length > 0) {
      offset = chunk.nextOffset;
      yield { data: chunk.data, replica: req.replica, attempt };
      continue;
    }
    if (!req.follow || signal.aborted) return;
    const now = await d.store.replica(replica.run_id);
    if (!now || isEnded(now.state)) {
      const last = await d.executor.readLog(replica.run_id, { offset }).catch(() => ({ data: Buffer.alloc(0), nextOffset: offset }));
      if (last.data.length > 0) yield { data: last.data, replica: req.replica, attempt };
      return;
    }
    await sleep(OUTPUT_POLL_MS, signal).catch(() => undefined);
  }
}
