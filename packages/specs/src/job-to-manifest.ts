/**
 * A JobSpec back to the native manifest, with every default written out: what `switchyard validate` prints, and
 * what `parseJobManifest` reads back to the same JobSpec.
 */
import type { NativeJobManifest } from "./job-native.js";
import type { JobResources, JobSpec, SecretEnvSource } from "./job-spec.js";
import { REDACTED } from "./secret-env.js";

type NativeResources = NonNullable<NativeJobManifest["spec"]["resources"]>;
type NativeEnvMap = Exclude<NonNullable<NativeJobManifest["spec"]["env"]>, readonly unknown[]>;

export { REDACTED };

/**
 * Plain variables as they are; secret ones as refs (`{secretKeyRef: {name, key}}`) or, when inline, as
 * `{value: "(secret)", secret: true}`: a printed spec never holds a secret value.
 */
function envToManifest(env: Record<string, string>, secretEnv: Record<string, SecretEnvSource> | undefined): NativeEnvMap {
  const out: NativeEnvMap = { ...env };
  for (const [name, s] of Object.entries(secretEnv ?? {})) {
    out[name] = s.kind === "ref" ? { secretKeyRef: { name: s.secret, key: s.key, ...(s.optional === true ? { optional: true } : {}) } } : { value: REDACTED, secret: true };
  }
  return out;
}

function cpuText(milli: number): string | number {
  return milli % 1000 === 0 ? milli / 1000 : `${milli}m`;
}

function memoryText(mb: number): string {
  return mb % 1024 === 0 ? `${mb / 1024}Gi` : `${mb}Mi`;
}

/** cpu or memory 0 (none declared: BestEffort) is left out, which reads back as 0. */
function resourcesToManifest(r: JobResources): NativeResources {
  const out: NativeResources = { gpus: r.gpuMilli > 0 && r.gpus === 0 ? r.gpuMilli / 1000 : r.gpus };
  if (r.cpuMilli > 0) out.cpu = cpuText(r.cpuMilli);
  if (r.memoryMb > 0) out.memory = memoryText(r.memoryMb);
  if (r.gpuType !== undefined) out.gpuType = r.gpuType;
  return out;
}

/** The native (`switchyard/v1` Job) manifest of a spec, ready for `YAML.stringify`; secret values shown as `(secret)`. */
export function jobSpecToManifest(spec: JobSpec): NativeJobManifest {
  const metadata: NativeJobManifest["metadata"] = {};
  if (spec.name !== undefined) metadata.name = spec.name;
  else if (spec.generateName !== undefined) metadata.generateName = spec.generateName;
  metadata.team = spec.team;
  metadata.labels = { ...spec.labels };
  const out: NativeJobManifest["spec"] = { queue: spec.queue, priority: spec.priority, replicas: spec.replicas };
  // With roles, the per-replica fields live only in the roles: the job-level ones are read back from the first role.
  if (spec.roles === undefined) {
    out.resources = resourcesToManifest(spec.resources);
    out.command = [...spec.command];
    out.args = [...spec.args];
    if (spec.workingDir !== undefined) out.workingDir = spec.workingDir;
    out.env = envToManifest(spec.env, spec.secretEnv);
  }
  out.restartPolicy = spec.restartPolicy;
  out.backoffLimit = spec.backoffLimit;
  if (spec.activeDeadlineSeconds !== undefined) out.activeDeadlineSeconds = spec.activeDeadlineSeconds;
  if (spec.ttlSecondsAfterFinished !== undefined) out.ttlSecondsAfterFinished = spec.ttlSecondsAfterFinished;
  out.suspend = spec.suspend;
  if (spec.distributed !== undefined) out.distributed = { framework: spec.distributed.framework, nprocPerNode: spec.distributed.nprocPerNode };
  if (spec.image !== undefined) out.image = spec.image;
  if (spec.roles !== undefined) {
    out.roles = spec.roles.map((r) => {
      const role: NonNullable<NativeJobManifest["spec"]["roles"]>[number] = {
        name: r.name,
        replicas: r.replicas,
        command: [...r.command],
        args: [...r.args],
        env: envToManifest(r.env, r.secretEnv),
        resources: resourcesToManifest(r.resources),
      };
      if (r.workingDir !== undefined) role.workingDir = r.workingDir;
      return role;
    });
  }
  return { apiVersion: "switchyard/v1", kind: "Job", metadata, spec: out };
}
