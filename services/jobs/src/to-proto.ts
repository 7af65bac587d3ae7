import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { JobSchema, JobSpecSchema, type Job, type JobEvent, type JobEventSchema } from "@switchyard/api";
import type { JobSpec } from "@switchyard/specs";
import type { JobRow, ReplicaRow } from "./job-rows.js";
import { renderWaiting } from "./waiting-reason.js";

type Resources = JobSpec["resources"];

/**
 * Secret variables as readers see them: a ref's secret and key, or an empty secret name for a value given inline
 * (stored sealed). Never a value: GetJob, ListJobs, DescribeJob, ValidateJob and REST all answer through here.
 */
export function secretEnvToProto(secretEnv: JobSpec["secretEnv"]): Record<string, { secret: string; key: string; optional: boolean }> {
  const out: Record<string, { secret: string; key: string; optional: boolean }> = {};
  for (const [name, s] of Object.entries(secretEnv ?? {})) out[name] = s.kind === "ref" ? { secret: s.secret, key: s.key, optional: s.optional === true } : { secret: "", key: "", optional: false };
  return out;
}

const resourcesToProto = (r: Resources) => ({ gpus: r.gpus, gpuMilli: r.gpuMilli, cpuMilli: BigInt(r.cpuMilli), memoryMb: BigInt(r.memoryMb), gpuType: r.gpuType ?? "" });

export function specToProto(s: JobSpec): MessageInitShape<typeof JobSpecSchema> {
  return {
    queue: s.queue,
    priority: s.priority,
    replicas: s.replicas,
    resources: resourcesToProto(s.resources),
    command: s.command,
    args: s.args,
    workingDir: s.workingDir ?? "",
    env: s.env,
    secretEnv: secretEnvToProto(s.secretEnv),
    restartPolicy: s.restartPolicy,
    backoffLimit: s.backoffLimit,
    activeDeadlineSeconds: BigInt(s.activeDeadlineSeconds ?? 0),
    ...(s.distributed ? { distributed: { framework: s.distributed.framework, nprocPerNode: s.distributed.nprocPerNode } } : {}),
    image: s.image ?? "",
    roles: (s.roles ?? []).map((r) => ({ name: r.name, replicas: r.replicas, command: r.command, args: r.args, env: r.env, secretEnv: secretEnvToProto(r.secretEnv), workingDir: r.workingDir ?? "", resources: resourcesToProto(r.resources) })),
    ttlSecondsAfterFinished: BigInt(s.ttlSecondsAfterFinished ?? 0),
    suspend: s.suspend,
  };
}

const ts = (ms: number | null) => (ms === null ? undefined : timestampFromMs(ms));

/** A job's status message: a waiting job's reason is rendered here, at the edge, from the data the cycle stored. */
export function statusMessage(row: Pick<JobRow, "reason" | "message" | "waiting">): string {
  return row.reason === "Waiting" && row.waiting !== null ? renderWaiting(row.waiting) : row.message;
}

/** `jobDir`: the job's directory, for platform services only (the serving service finds a replica's socket there). */
export function jobToProto(row: JobRow, replicas: readonly ReplicaRow[], jobDir = ""): Job {
  const spec = row.spec;
  return create(JobSchema, {
    apiVersion: "switchyard/v1",
    kind: "Job",
    metadata: { name: row.name, uid: row.uid, team: row.team, creationTimestamp: timestampFromMs(row.created_at), labels: spec.labels ?? {}, user: row.user },
    spec: create(JobSpecSchema, specToProto(spec)),
    status: {
      phase: row.phase,
      reason: row.reason,
      message: statusMessage(row),
      startTime: ts(row.start_time),
      completionTime: ts(row.completion_time),
      attempt: row.attempt,
      workloadClass: row.workload_class,
      jobDir,
      replicas: replicas.map((r) => ({
        index: r.idx,
        role: r.role,
        state: r.state,
        gpus: r.gpus,
        ...(r.exit_code !== null ? { exitCode: r.exit_code } : {}),
        pid: r.pid ?? 0,
        startTime: ts(r.start_time),
        endTime: ts(r.end_time),
        node: r.node,
      })),
    },
  });
}

export function eventToProto(e: { time: number; type: string; message: string; attempt: number; replica: number }): MessageInitShape<typeof JobEventSchema> & Partial<JobEvent> {
  return { time: timestampFromMs(e.time), type: e.type, message: e.message, attempt: e.attempt, replica: e.replica };
}
