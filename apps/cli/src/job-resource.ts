/**
 * A job as `get -o yaml|json` prints it, kubectl's way: the native manifest it runs as (every default written out,
 * inline secret values as "(secret)") under `spec`, the platform's fields under `metadata` (uid, creationTimestamp)
 * and `status`. Submitted back, the parser takes the manifest and ignores what the platform sets.
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { JobStatusSchema, type Job, type Resources, type SecretEnvRef } from "@switchyard/api";
import { REDACTED, jobSpecToManifest, type JobResources, type JobRole, type JobSpec, type RestartPolicy, type SecretEnvSource } from "@switchyard/specs";

function resources(r: Resources | undefined): JobResources {
  const out: JobResources = { gpus: r?.gpus ?? 0, gpuMilli: r?.gpuMilli ?? 0, cpuMilli: Number(r?.cpuMilli ?? 0n), memoryMb: Number(r?.memoryMb ?? 0n) };
  if (r?.gpuType) out.gpuType = r.gpuType;
  return out;
}

function secretEnv(m: Record<string, SecretEnvRef>): Record<string, SecretEnvSource> | undefined {
  const entries = Object.entries(m);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(entries.map(([name, s]) => [name, s.secret === "" ? { kind: "inline", value: REDACTED } : { kind: "ref", secret: s.secret, key: s.key, ...(s.optional ? { optional: true } : {}) }]));
}

/** The JobSpec a Job message describes (what the platform stored when it parsed the manifest). */
export function jobSpecOf(job: Job): JobSpec {
  const s = job.spec!;
  const m = job.metadata!;
  const spec: JobSpec = {
    name: m.name,
    team: m.team,
    labels: { ...m.labels },
    queue: s.queue,
    priority: s.priority,
    replicas: s.replicas,
    resources: resources(s.resources),
    command: [...s.command],
    args: [...s.args],
    env: { ...s.env },
    restartPolicy: s.restartPolicy as RestartPolicy,
    backoffLimit: s.backoffLimit,
    suspend: s.suspend,
  };
  const secrets = secretEnv(s.secretEnv);
  if (secrets !== undefined) spec.secretEnv = secrets;
  if (s.workingDir) spec.workingDir = s.workingDir;
  if (s.activeDeadlineSeconds > 0n) spec.activeDeadlineSeconds = Number(s.activeDeadlineSeconds);
  if (s.ttlSecondsAfterFinished > 0n) spec.ttlSecondsAfterFinished = Number(s.ttlSecondsAfterFinished);
  if (s.distributed?.framework) spec.distributed = { framework: "pytorch", nprocPerNode: s.distributed.nprocPerNode };
  if (s.image) spec.image = s.image;
  if (s.roles.length > 0) {
    spec.roles = s.roles.map((r) => {
      const role: JobRole = { name: r.name as JobRole["name"], replicas: r.replicas, command: [...r.command], args: [...r.args], env: { ...r.env }, resources: resources(r.resources) };
      const rs = secretEnv(r.secretEnv);
      if (rs !== undefined) role.secretEnv = rs;
      if (r.workingDir) role.workingDir = r.workingDir;
      return role;
    });
  }
  return spec;
}

/** The printable resource: manifest, platform metadata, status. */
export function jobResource(job: Job): Record<string, unknown> {
  const manifest = jobSpecToManifest(jobSpecOf(job));
  const m = job.metadata!;
  return {
    ...manifest,
    metadata: { ...manifest.metadata, uid: m.uid, ...(m.creationTimestamp ? { creationTimestamp: timestampDate(m.creationTimestamp).toISOString() } : {}) },
    status: job.status ? toJson(JobStatusSchema, job.status) : {},
  };
}
