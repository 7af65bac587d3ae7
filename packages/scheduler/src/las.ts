import { jobGpus } from "./order.js";
import type { PendingJob, RunningJob } from "./types.js";

/**
 * Least attained service with discretized levels (Tiresias' discretized 2D-LAS): a job's GPU time so far puts it at
 * a level, level 0 first. Levels act as priorities among jobs of equal user priority, so a long job can be paused
 * for short ones; a waiting job climbs one level back per `starvationMs` of waiting.
 */
export interface LasPolicy {
  /** Increasing GPU-millisecond thresholds: at or above thresholds[i] a job is at level i+1. */
  readonly thresholdsGpuMs: readonly number[];
  readonly starvationMs: number;
}

export function serviceLevel(p: LasPolicy, attainedGpuMs: number): number {
  const t = p.thresholdsGpuMs;
  let level = 0;
  while (level < t.length && attainedGpuMs >= t[level]!) level++;
  return level;
}

/** GPU time a running job has had: earlier runs plus this one so far. */
export function runningAttainedMs(job: RunningJob, nowMs: number): number {
  return (job.attainedGpuMs ?? 0) + jobGpus(job.replicas) * Math.max(0, nowMs - job.startedAtMs);
}

/**
 * Level of a running job from its service so far. A serving replica is always at level 0: it never finishes, so its
 * growing service says nothing about how long it has left, and demoting it would make it the first LAS victim.
 */
export function runningLevel(p: LasPolicy, job: RunningJob, attainedGpuMs: number): number {
  return job.serving === true ? 0 : serviceLevel(p, attainedGpuMs);
}

/** Level of a waiting job after the starvation guard lifts it (0 for a serving replica, as `runningLevel`). */
export function pendingLevel(p: LasPolicy, job: PendingJob, nowMs: number): number {
  if (job.serving === true) return 0;
  const natural = serviceLevel(p, job.attainedGpuMs ?? 0);
  if (natural === 0 || !(p.starvationMs > 0) || !Number.isFinite(p.starvationMs)) return natural;
  const waited = nowMs - (job.queuedAtMs ?? job.submittedAtMs);
  return Math.max(0, natural - Math.floor(Math.max(0, waited) / p.starvationMs));
}

/** When a waiting job next climbs a level, or undefined. */
export function nextClimbMs(p: LasPolicy, job: PendingJob, nowMs: number): number | undefined {
  if (pendingLevel(p, job, nowMs) === 0 || !Number.isFinite(p.starvationMs)) return undefined;
  const since = job.queuedAtMs ?? job.submittedAtMs;
  const k = Math.floor(Math.max(0, nowMs - since) / p.starvationMs) + 1;
  return since + k * p.starvationMs;
}

/** When a running job reaches its next level, or undefined (last level, no GPUs, or a serving replica). */
export function nextLevelMs(p: LasPolicy, job: RunningJob, nowMs: number): number | undefined {
  const gpus = jobGpus(job.replicas);
  if (gpus <= 0 || job.serving === true) return undefined;
  const attained = runningAttainedMs(job, nowMs);
  const level = serviceLevel(p, attained);
  if (level >= p.thresholdsGpuMs.length) return undefined;
  return nowMs + Math.max(1, Math.ceil((p.thresholdsGpuMs[level]! - attained) / gpus));
}
