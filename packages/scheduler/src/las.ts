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

/** Level of a waiting job after the starvation guard lifts it. */
export function pendingLevel(p: LasPolicy, job: PendingJob, nowMs: number): number {
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

/** When a running job reaches its next level, or undefined (last level, or no GPUs). */
export function nextLevelMs(p: LasPolicy, job: RunningJob, nowMs: number): number | undefined {
  const gpus = jobGpus(job.replicas);
  if (gpus <= 0) return undefined;
  const attained = runningAttainedMs(job, nowMs);
  const level = serviceLevel(p, attained);
  if (level >= p.thresholdsGpuMs.length) return undefined;
  return nowMs + Math.max(1, Math.ceil((p.thresholdsGpuMs[level]! - attained) / gpus));
}
