/**
 * Submission: a manifest already read (manifest-parser.ts) becomes a stored Queued job. Idempotent by request id
 * (checked before and after the insert, so two concurrent submissions of one id store one job); the name is unique in
 * its team (the store's unique constraint decides, races included: no read before the insert, and none after it —
 * the insert returns the stored row). Before anything is stored it is admitted (job-admission.ts: a queue of its
 * team, a size this node can ever hold), its secret refs are checked and its inline secret values sealed. With
 * `replace`, a finished job of the same name is deleted in the transaction that stores the new one (job-deletion.ts).
 */
import { Code, SwitchyardError, nameSuffix, newUid, type Clock } from "@switchyard/core";
import type { NodeInfo, QueuesConfig } from "@switchyard/scheduler";
import type { ParsedJobManifest } from "@switchyard/specs";
import { admitQueue, checkFits } from "./job-admission.js";
import type { EngineUnits } from "./scheduling-loop.js";
import { requireDeletable } from "./job-deletion.js";
import type { JobRow, WorkloadClass } from "./job-rows.js";
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
  /** Accept a job that can never fit on this node's inventory (it waits until the inventory grows). */
  allowUnschedulable?: boolean;
  /**
   * A finished job of the same name is deleted first, in the same transaction (`replace`: SubmitJob's flag; `rerun`:
   * RerunJob under the same name — the words of a refusal differ). An unfinished one is FAILED_PRECONDITION.
   */
  replace?: "replace" | "rerun";
  /** "serving" for a model-server replica (the service checked that the serving service asks); default "training". */
  workloadClass?: WorkloadClass;
  /** With `rerun`: the uid of the job being run again; another job found under its name (it was replaced meanwhile) is refused. */
  replaceUid?: string;
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
  /** Every node whole: a job that can never fit on them is refused (job-admission.ts). */
  nodes: () => NodeInfo[];
  /** The executor's units: requests are checked rounded up to them. */
  units?: EngineUnits;
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
  // Admission, said now rather than by a job that waits forever: the queue of its team it goes to (stored, so that
  // get, queues and the scheduler agree on it), and a size this node can ever hold.
  const queue = admitQueue(d.queues(), spec.team, spec.queue, parsed.source);
  checkFits(d.nodes(), spec, input.allowUnschedulable === true, d.units);
  const uid = newUid();
  // Secret variables: refs must name existing secrets of the job's team; inline values are sealed (bound to this job)
  // before anything is stored, and the stored manifest keeps "(secret)" in their place.
  await checkSecretRefs(spec, spec.team, d.secrets);
  const stored = { ...(await sealJobSecrets(spec, uid, d.secretBox)), queue };
  let job: JobRow;
  const replace = input.replace;
  try {
    job = await store.insertJob({
      uid,
      name,
      team: spec.team,
      queue,
      priority: spec.priority,
      reason: spec.suspend ? "Suspended" : "Submitted",
      message: spec.suspend ? "spec.suspend is true: the job waits until it is resumed" : "",
      spec: stored,
      manifest: input.manifest,
      source: parsed.source,
      requestId: input.requestId || null,
      user: input.user ?? "",
      ...(input.workloadClass ? { workloadClass: input.workloadClass } : {}),
      at: d.clock.now(),
      event: { type: "Queued", message: `submitted to queue ${queue} (team ${spec.team}, priority ${spec.priority})`, attempt: 0 },
    }, replace === undefined ? undefined : (old, live) => {
      if (input.replaceUid !== undefined && old.uid !== input.replaceUid) {
        throw new SwitchyardError(Code.FailedPrecondition, `job "${old.name}" is another job now (uid ${old.uid}): the one asked for was replaced meanwhile; rerun the new one, or use --generate-name`, { retryable: false });
      }
      requireDeletable(old, live, replace);
      return { type: "Replaced", message: `replaces the job of the same name that had finished (${old.phase}, uid ${old.uid}), now deleted`, attempt: 0 };
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
      `job "${name}" already exists in team "${spec.team}": choose another metadata.name, delete the old one (switchyard delete ${name}) or replace it (submit --replace) once it has finished, or submit with --generate-name to add a random suffix`,
      { cause: err },
    );
  }
  if (!spec.suspend) d.schedule();
  return { job, warnings: parsed.warnings, replayed: false };
}
