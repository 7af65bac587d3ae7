/**
 * The one definition of a job's phases and a replica's states (the store, the state machine, the services and
 * retention all use these; no other file spells the lists).
 */

/** A job's phase; `job-state.ts` says which transitions between them are allowed. */
export type JobPhase = "Queued" | "Starting" | "Running" | "Retrying" | "Preempting" | "Succeeded" | "Failed" | "Cancelled";

export const JOB_PHASES: readonly JobPhase[] = ["Queued", "Starting", "Running", "Retrying", "Preempting", "Succeeded", "Failed", "Cancelled"];

/** Job phases in which nothing more will happen. */
export const FINAL_PHASES: readonly JobPhase[] = ["Succeeded", "Failed", "Cancelled"];

/** A replica's state: placed (`Pending`), `Running`, or one of the ended states. */
export type ReplicaStateName = "Pending" | "Running" | "Succeeded" | "Failed" | "Terminated" | "Lost";

export const REPLICA_STATES: readonly ReplicaStateName[] = ["Pending", "Running", "Succeeded", "Failed", "Terminated", "Lost"];

/** Replica states that mean its processes are gone. */
export const ENDED_STATES: readonly ReplicaStateName[] = ["Succeeded", "Failed", "Terminated", "Lost"];

/** Replica states that hold resources: placed and not yet ended. */
export const LIVE_STATES: readonly ReplicaStateName[] = ["Pending", "Running"];

const final = new Set<string>(FINAL_PHASES);
const ended = new Set<string>(ENDED_STATES);

export function isFinal(phase: string): boolean {
  return final.has(phase);
}

export function isEnded(state: string): boolean {
  return ended.has(state);
}

