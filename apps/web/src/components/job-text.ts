// How a job reads to a person: its phase and reason in plain words, its GPUs, its times. Shared by the jobs list and
// the job page so the two never word the same state differently.
import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { Job } from "@switchyard/api";

/** Every phase a job can be in (services/jobs phases.ts), in the order a job moves through them. */
export const PHASES = ["Queued", "Starting", "Running", "Retrying", "Preempting", "Succeeded", "Failed", "Cancelled"] as const;

const FINAL = new Set(["Succeeded", "Failed", "Cancelled"]);

/** Nothing more will happen to it: it can be deleted, not cancelled. */
export function isFinished(job: Job): boolean {
  return FINAL.has(job.status?.phase ?? "");
}

/** A cancel was asked for and the replicas are being stopped. */
export function isCancelling(job: Job): boolean {
  return job.status?.reason === "Cancelling";
}

/**
 * The status reason codes (services/jobs job-state.ts, job-submission.ts) as sentences. The message that comes with
 * a code is the specific part (which resource, which replica, which exit code); it is shown after the sentence.
 */
const REASONS: Readonly<Record<string, string>> = {
  Submitted: "Submitted; the scheduler has not looked at it yet.",
  Suspended: "Suspended (spec.suspend): it will not start until it is resumed.",
  Waiting: "Waiting for resources",
  Placed: "Placed on its GPUs; its processes are starting.",
  Started: "Running.",
  Preempted: "Preempted to make room for a more important job; it goes back to its queue and resumes from its checkpoint.",
  Cancelling: "Cancel requested: stopping every replica.",
  DeadlineExceeded: "Its time limit (activeDeadlineSeconds) passed.",
  Retrying: "An attempt failed; waiting to start the next one.",
  ReplicaFailed: "A replica failed.",
  ReplicaLost: "A replica was lost (its process or node went away).",
  Cancelled: "Cancelled on request.",
  Completed: "Finished successfully.",
  Recovered: "Picked up again after the platform restarted.",
};

/** Why the job is where it is: the reason code as a sentence, then the platform's message when it adds something. */
export function reasonText(job: Job): string {
  const s = job.status;
  if (!s) return "";
  const sentence = REASONS[s.reason] ?? (s.reason ? `${s.reason}.` : "");
  const message = s.message.trim();
  if (!message || message === "cancelled by request") return sentence;
  if (s.reason === "Waiting") return `${sentence}: ${message}.`;
  return sentence ? `${sentence} ${capitalize(message)}.` : `${capitalize(message)}.`;
}

const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1).replace(/\.$/, "");

/** GPUs asked for, in whole GPUs (a fractional share reads 0.5). */
export function gpusRequested(job: Job): number {
  const spec = job.spec;
  if (!spec) return 0;
  const per = (r: { gpus: number; gpuMilli: number } | undefined) => (r ? r.gpus || r.gpuMilli / 1000 : 0);
  if (spec.roles.length > 0) return spec.roles.reduce((n, r) => n + r.replicas * per(r.resources), 0);
  return Math.max(1, spec.replicas) * per(spec.resources);
}

/** The GPU indices its live replicas hold now. */
export function gpusHeld(job: Job): number[] {
  return (job.status?.replicas ?? []).filter((r) => r.state === "Pending" || r.state === "Running").flatMap((r) => r.gpus);
}

/** "2 GPUs (on 0, 1)", "none", "0.5 GPU". */
export function gpuText(job: Job): string {
  const n = gpusRequested(job);
  if (n === 0) return "none";
  const held = gpusHeld(job);
  const count = `${n} GPU${n === 1 ? "" : "s"}`;
  return held.length > 0 ? `${count} (on ${held.join(", ")})` : count;
}

export function timestampMs(t: Timestamp | undefined): number | undefined {
  return t ? Number(t.seconds) * 1000 + Math.floor(t.nanos / 1e6) : undefined;
}

/** A time as a short local string: the time of day for today, the date too otherwise. */
export function shortTime(ms: number | undefined): string {
  if (ms === undefined) return "";
  const d = new Date(ms);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString() : d.toLocaleString();
}

/** "3 min 4 s": how long between two times (now when the second is missing). */
export function durationText(fromMs: number | undefined, toMs: number | undefined): string {
  if (fromMs === undefined) return "";
  let s = Math.max(0, Math.round(((toMs ?? Date.now()) - fromMs) / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  s %= 60;
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s} s` : `${s} s`;
}

/** Where a job's page is. */
export function jobHref(job: Job): string {
  return jobPath(job.metadata?.team ?? "", job.metadata?.name ?? "");
}

/** The job page of a job known by its team and name (a queue's pending job, a GPU's holder, a trial, a replica). */
export function jobPath(team: string, name: string): string {
  return `/jobs/${encodeURIComponent(team)}/${encodeURIComponent(name)}`;
}
