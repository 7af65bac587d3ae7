/**
 * What the experiments service needs from the rest of the platform, as narrow interfaces: the jobs service (trials
 * are its jobs) and the config center (the grants its owners give it). start.ts binds them to mesh clients; the
 * controller's unit tests bind them to fakes, the end-to-end tests to the real services.
 */
import type { EndUser, GrantRecorder } from "@switchyard/mesh";

export interface TrialJob {
  uid: string;
  name: string;
  /** Queued, Starting, Running, Succeeded, Failed, Cancelled, … */
  phase: string;
  message: string;
}

/** One metric series of a job: its points (step ascending) and the summary the jobs service keeps. */
export interface JobSeries {
  name: string;
  points: readonly { step: number; value: number }[];
  latest: number;
  min: number;
  max: number;
}

export interface JobsPort {
  /** Submits a trial's job as the experiment's owner (under the owner's grant); idempotent by `requestId`. */
  submit(manifest: string, requestId: string, owner: EndUser, baseDir: string): Promise<TrialJob>;
  /** undefined when the job is gone. */
  get(uid: string, team: string): Promise<TrialJob | undefined>;
  /** Cancels (SIGTERM, then SIGKILL after the jobs service's grace); a finished or missing job is fine. */
  cancel(uid: string, team: string): Promise<void>;
  /** Deletes a finished job with its files; a missing one is fine. */
  remove(uid: string, team: string): Promise<void>;
  /** The job's metric series (the `name=value` lines of its output, parsed by the jobs service). */
  metrics(uid: string, team: string, names: readonly string[]): Promise<JobSeries[]>;
  /** The job's output (its first replica's, latest attempt), at most `maxBytes` of its end. */
  logs(uid: string, team: string, maxBytes: number): Promise<string>;
  /** A file of the job's output directory, at most `maxBytes`; undefined when it does not exist. */
  artifact(uid: string, team: string, path: string, maxBytes: number): Promise<string | undefined>;
}

/** The owners' grants to this service (mesh grantRecorder). */
export type GrantsPort = GrantRecorder;
