/**
 * Why a queued job waits, as data: what the scheduler said (its typed cause and its text) and where the job stands in
 * the queue. Stored as is with the job (`jobs.waiting`); turned into a sentence only at the edge (`renderWaiting`,
 * called by to-proto.ts for Get/List/Describe and REST), so no code reads meaning back out of a message.
 */
import type { WaitingCause } from "@switchyard/scheduler";

export type WaitingKind = WaitingCause["kind"];

export interface WaitingReason {
  kind: WaitingKind;
  /** The job's place among the waiting jobs of this cycle (1 = next). */
  position: number;
  /** The scheduler's own words for it (which resource, which quota, what is free where). */
  text: string;
  /** `quota`, `noQueue`: the queue concerned. */
  queue?: string;
  /** `quota`: the resource at its limit (`gpus`, `gpus/A100`, `cpuMilli`, …). */
  resource?: string;
  /** `behind`: the job that holds this one up, and its own position when the text names it. */
  blockedBy?: string;
  blockerPosition?: number;
}

/** The typed reason of one of the scheduler's waiting entries. */
export function waitingReason(w: { reason: string; position: number; cause: WaitingCause }): WaitingReason {
  const c = w.cause;
  const out: WaitingReason = { kind: c.kind, position: w.position, text: w.reason };
  if (c.kind === "quota") Object.assign(out, { queue: c.queue, resource: c.resource });
  else if (c.kind === "noQueue") out.queue = c.queue;
  else if (c.kind === "behind") Object.assign(out, { blockedBy: c.blockedBy }, c.blockerPosition !== undefined ? { blockerPosition: c.blockerPosition } : {});
  return out;
}

/** The sentence people read: the scheduler's text and the job's queue position (unless the text names a position). */
export function renderWaiting(w: WaitingReason): string {
  if (w.kind === "behind" && w.blockerPosition !== undefined) return w.text;
  return `${w.text} (position ${w.position} in the queue)`;
}

/** Whether two reasons say the same (the cycle writes a job's reason only when it changed). */
export function sameWaiting(a: WaitingReason | undefined, b: WaitingReason): boolean {
  return (
    a !== undefined &&
    a.kind === b.kind &&
    a.position === b.position &&
    a.text === b.text &&
    a.queue === b.queue &&
    a.resource === b.resource &&
    a.blockedBy === b.blockedBy &&
    a.blockerPosition === b.blockerPosition
  );
}
