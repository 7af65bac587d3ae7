/**
 * Submission: a manifest already read (manifest-parser.ts) becomes a stored Queued job. Idempotent by request id
 * (checked before and after the insert, so two concurrent submissions of one id store one job); the name is unique in
 * its team (the store's unique constraint decides, races included: no read before the insert, and none after it —
 * the insert returns the stored row); with queues in force the job must belong to one; secret
 * refs are checked and inline secret values sealed before anything is stored.
 */
import { Code, SwitchyardError, nameSuffix, newUid, type Clock } from "@switchyard/core";
import type { QueuesConfig } from "@switchyard/scheduler";
import type { ParsedJobManifest } from "@switchyard/specs";
import type { JobRow } from "./job-rows.js";
import { checkSecretRefs, sealJobSecrets } from "./job-secrets.js";
import type { JobStore } from "./job-store.js";
import type { SecretBox } from "./secret-box.js";
import type { SecretStore } from "./secret-store.js";

export interface SubmitInput {
  /** The manifest as read (ManifestParser: parsed once, in bounded time). */
  parsed: ParsedJobManifest;
  /** The manifest text to store: inline secret values already replaced by "(secret)". */
  manifest: string;
  requestId?: string;
  generateName?: boolean;
  /** The verified user who submits (accounting); empty for internal callers. */
  user?: string;
}

export interface SubmitResult {
  job: JobRow;
  warnings: string[];
  /** The request id was seen before: `job` is that submission's. */
  replayed: boolean;
}

export interface SubmissionDeps {
  store: JobStore;
  secrets: SecretStore;
  secretBox: SecretBox;
  clock: Clock;
  queues: () => QueuesConfig | undefined;
  /** Asks for a scheduling cycle (a job was queued). */
  schedule: () => void;
}

export async function submitJob(d: SubmissionDeps, input: SubmitInput): Promise<SubmitResult> {
  const { store } = d;
  if (input.requestId) {
    const seen = await store.byRequestId(input.requestId);
    if (seen) return { job: seen, warnings: [], replayed: true };
  }
  const parsed = input.parsed;
  const spec = parsed.spec;
  let name = spec.name;
  if (input.generateName || !name) {
    const prefix = spec.generateName ?? (name ? `${name}-` : "job-");
    name = `${prefix}${nameSuffix()}`;
  }
  // With queues in force, a job must belong to one (its queue by name, or its team's): said now, not by a job that
  // waits forever.
  const queues = d.queues()?.queues ?? [];
  if (queues.length > 0 && !queues.some((q) => q.name === spec.queue || q.team === spec.team)) {
    throw new SwitchyardError(Code.InvalidArgument, `spec.queue: no queue "${spec.queue}" for team "${spec.team}": the queues are ${queues.map((q) => `${q.name} (team ${q.team})`).join(", ")}`, {
      details: [{ field: "spec.queue", message: "is not a queue", expected: queues.map((q) => q.name).join(" | "), got: spec.queue, hint: "set spec.queue to one of the queues (or ask an admin to add one with `switchyard apply -f queues.yaml`)" }],
    });
  }
  const uid = newUid();
  // Secret variables: refs must name existing secrets of the job's team; inline values are sealed (bound to this job)
  // before anything is stored, and the stored manifest keeps "(secret)" in their place.
  await checkSecretRefs(spec, spec.team, d.secrets);
  const stored = await sealJobSecrets(spec, uid, d.secretBox);
  let job: JobRow;
  try {
    job = await store.insertJob({
      uid,
      name,
      team: spec.team,
      queue: spec.queue,
      priority: spec.priority,
      reason: spec.suspend ? "Suspended" : "Submitted",
      message: spec.suspend ? "spec.suspend is true: the job waits until it is resumed" : "",
      spec: stored,
      manifest: input.manifest,
      source: parsed.source,
      requestId: input.requestId || null,
      user: input.user ?? "",
      at: d.clock.now(),
      event: { type: "Queued", message: `submitted to queue ${spec.queue} (team ${spec.team}, priority ${spec.priority})`, attempt: 0 },
    });
  } catch (err) {
    // The unique constraints decided (the store says ALREADY_EXISTS): a request id stored meanwhile (two concurrent
    // submissions of one id) is a replay; otherwise the name is taken.
    if (!(err instanceof SwitchyardError) || err.code !== Code.AlreadyExists) throw err;
    if (input.requestId) {
      const seen = await store.byRequestId(input.requestId);
      if (seen) return { job: seen, warnings: [], replayed: true };
    }
    throw new SwitchyardError(
      Code.AlreadyExists,
      `job "${name}" already exists in team "${spec.team}": choose another metadata.name, delete or rename the old one, or submit with --generate-name to add a random suffix`,
      { cause: err },
    );
  }
  if (!spec.suspend) d.schedule();
  return { job, warnings: parsed.warnings, replayed: false };
}
