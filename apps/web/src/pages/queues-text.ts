// How queue figures read to a person: resource amounts in their units, and why a pending job waits in plain words.
import type { QueuedJob } from "@switchyard/api";

/** The resources of queues.yaml, by the name ResourceStatus carries, as a person names them. */
export function resourceLabel(name: string): string {
  if (name === "gpus") return "GPUs";
  if (name.startsWith("gpus/")) return `GPUs (${name.slice(5)})`;
  if (name === "gpuMilli") return "GPU shares";
  if (name === "cpuMilli") return "CPU";
  if (name === "memoryMb") return "Memory";
  return name;
}

/** An amount of a resource: "3 GPUs", "2.5 cores", "4 GiB". Infinity reads "no limit". */
export function amountText(name: string, value: number): string {
  if (!Number.isFinite(value)) return "no limit";
  if (name === "cpuMilli") return `${num(value / 1000)} ${value === 1000 ? "core" : "cores"}`;
  if (name === "memoryMb") return value >= 1024 ? `${num(value / 1024)} GiB` : `${num(value)} MiB`;
  if (name === "gpuMilli") return `${num(value / 1000)} GPU`;
  if (name === "gpus" || name.startsWith("gpus/")) return `${num(value)} ${value === 1 ? "GPU" : "GPUs"}`;
  return num(value);
}

export function num(v: number, digits = 2): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(digits).replace(/\.?0+$/, "");
}

const REASONS: Readonly<Record<string, string>> = {
  Waiting: "Waiting for resources",
  Submitted: "Not looked at by the scheduler yet",
  Preempted: "Preempted to make room for a more important job; back in line",
  Suspended: "Suspended: not in line until it is resumed",
  Retrying: "Waiting to start its next attempt",
};

/** Why a queued job waits: the reason as a sentence, then the scheduler's specific message. */
export function waitText(j: QueuedJob): string {
  const sentence = REASONS[j.reason] ?? (j.reason || "Waiting");
  // The scheduler's message ends with "(position N in the queue)": the table has a column for that.
  const message = j.message.replace(/\s*\(position \d+ in the queue\)\s*$/, "").trim();
  return message ? `${sentence}: ${message}.` : `${sentence}.`;
}

/** "4 min", "2 h 5 min", "3 d 2 h": how long ago a time was. */
export function agoText(ms: number | undefined, nowMs = Date.now()): string {
  if (ms === undefined) return "";
  const s = Math.max(0, Math.round((nowMs - ms) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

/** Hours to the precision a table wants: "0.25 h", "12.4 h", "1,204 h". */
export function hoursText(h: number): string {
  if (h === 0) return "0";
  if (h < 0.01) return "< 0.01";
  return h < 100 ? num(h, h < 10 ? 2 : 1) : Math.round(h).toLocaleString();
}
