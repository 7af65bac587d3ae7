/**
 * The native manifest, `apiVersion: switchyard/v1`, `kind: Job`: its schema, its cross-field rules, and its
 * normalization into a JobSpec. Defaults are in JOB_DEFAULTS (job-spec.ts) and listed in README.md.
 */
import * as z from "zod";
import type { JobFormat } from "./job-format.js";
import { checkNamePresent, commandHint, isRecord, isSet, rawAt } from "./job-format.js";
import type { JobResources, JobRole, JobSpec } from "./job-spec.js";
import { JOB_DEFAULTS, defaultBackoffLimit } from "./job-spec.js";
import { resolveNproc, resolveWorkingDir, warnAt } from "./normalize-common.js";
import type { NormalizeContext } from "./normalize-common.js";
import { checkCpu, checkGpus, checkMemory } from "./quantity.js";
import { nativeEnvSchema, splitNativeEnv, withSecretEnv } from "./secret-env.js";
import {
  cpuQuantity, dnsLabel, generateNamePrefix, gpuQuantity, int, labelMap, memoryQuantity, nprocPerNode, obj, queueName,
} from "./schema-kit.js";
import type { HintTable, Violations } from "./violations.js";

const command = () => z.array(z.string()).min(1);
const env = nativeEnvSchema;

export const nativeResourcesSchema = obj({
  gpus: gpuQuantity().optional(),
  cpu: cpuQuantity().optional(),
  memory: memoryQuantity().optional(),
  gpuType: z.string().min(1).optional(),
});

const roleSchema = obj({
  name: z.enum(["Master", "Worker"]),
  replicas: int().min(1),
  command: command().optional(),
  args: z.array(z.string()).optional(),
  env: env().optional(),
  workingDir: z.string().min(1).optional(),
  resources: nativeResourcesSchema.optional(),
});

const rolesSchema = z.array(roleSchema).superRefine((roles, ctx) => {
  const ok = roles.length === 2 && roles[0]?.name === "Master" && roles[0].replicas === 1 && roles[1]?.name === "Worker";
  if (!ok) {
    ctx.addIssue({
      code: "custom", message: "must be a Master role with 1 replica followed by a Worker role", input: roles,
      params: { expected: "[{name: Master, replicas: 1, …}, {name: Worker, replicas: N, …}]", hint: "leave `roles` out when every replica runs the same thing" },
    });
  }
});

/** The native format's schema (structure and per-field rules; cross-field rules are in `parseJobManifest`). */
export const nativeJobManifestSchema = obj({
  apiVersion: z.literal("switchyard/v1"),
  kind: z.literal("Job"),
  metadata: obj({
    name: dnsLabel("job name").optional(),
    generateName: generateNamePrefix().optional(),
    team: dnsLabel("team name").optional(),
    labels: labelMap().optional(),
    // What `switchyard get -o yaml` prints besides the manifest: accepted back and ignored (the platform sets them).
    uid: z.string().optional(),
    creationTimestamp: z.string().optional(),
  }),
  status: z.unknown().optional(),
  spec: obj({
    queue: queueName().optional(),
    priority: int().min(-(2 ** 31)).max(2 ** 31 - 1).optional(),
    replicas: int().min(1).optional(),
    resources: nativeResourcesSchema.optional(),
    command: command().optional(),
    args: z.array(z.string()).optional(),
    workingDir: z.string().min(1).optional(),
    env: env().optional(),
    restartPolicy: z.enum(["Never", "OnFailure", "ExitCode"]).optional(),
    backoffLimit: int().min(0).optional(),
    activeDeadlineSeconds: int().min(1).optional(),
    ttlSecondsAfterFinished: int().min(0).optional(),
    suspend: z.boolean().optional(),
    distributed: obj({ framework: z.literal("pytorch").optional(), nprocPerNode: nprocPerNode().optional() }).optional(),
    image: z.string().min(1).optional(),
    roles: rolesSchema.optional(),
  }),
});

export type NativeJobManifest = z.input<typeof nativeJobManifestSchema>;
type Native = z.output<typeof nativeJobManifestSchema>;
type NativeResources = z.output<typeof nativeResourcesSchema>;

const underResources = "put it under `spec.resources`, e.g. `resources: {gpus: 1, cpu: 4, memory: 16Gi}`";
const onlySecrets = "this format reads only team secrets: `valueFrom: {secretKeyRef: {name: ..., key: ...}}`, or write the `value`";
const hints: HintTable = {
  metadata: "add `metadata:` with `name: my-job`",
  spec: 'add `spec:` with at least `command: ["python", "train.py"]`',
  "metadata.namespace": "the owning team is `metadata.team` in this format",
  "metadata.annotations": "annotations are not kept by this format; use `labels`",
  "spec.name": "the name goes in `metadata.name`",
  "spec.team": "the team goes in `metadata.team`",
  "spec.labels": "labels go in `metadata.labels`",
  "spec.gpus": underResources,
  "spec.cpu": underResources,
  "spec.memory": underResources,
  "spec.gpuType": underResources,
  "spec.nprocPerNode": "put it under `spec.distributed`, e.g. `distributed: {nprocPerNode: 2}`",
  "spec.resources.limits": "write the amounts directly: `resources: {gpus: 1, cpu: 4, memory: 16Gi}`",
  "spec.resources.requests": "write the amounts directly: `resources: {gpus: 1, cpu: 4, memory: 16Gi}`",
  'spec.resources["nvidia.com/gpu"]': "write `gpus: 1`",
  "spec.env[].valueFrom.configMapKeyRef": onlySecrets,
  "spec.env[].valueFrom.fieldRef": onlySecrets,
  "spec.env[].valueFrom.resourceFieldRef": onlySecrets,
  "spec.roles[].env[].valueFrom.configMapKeyRef": onlySecrets,
  "spec.roles[].env[].valueFrom.fieldRef": onlySecrets,
  "spec.roles[].env[].valueFrom.resourceFieldRef": onlySecrets,
};

function check(raw: Record<string, unknown>, out: Violations): void {
  checkNamePresent(raw, out);
  const spec = raw["spec"];
  if (!isRecord(spec)) return;
  const roles = spec["roles"];
  const rolesHaveCommand = Array.isArray(roles) && roles.length > 0 && roles.every((r) => isRecord(r) && isSet(r["command"]));
  if (spec["command"] === undefined && !rolesHaveCommand) {
    out.add(["spec", "command"], {
      message: "is required", expected: "a list of strings: the program and its arguments",
      hint: commandHint(isSet(rawAt(spec, "image")), "the job's `spec`"),
    });
  }
  const replicas = spec["replicas"];
  if (Array.isArray(roles) && typeof replicas === "number") {
    const sum = roles.reduce<number>((n, r) => n + (isRecord(r) && typeof r["replicas"] === "number" ? r["replicas"] : 0), 0);
    if (sum !== replicas) {
      out.add(["spec", "replicas"], {
        message: "does not match the roles", expected: `the sum of the roles' replicas (${sum})`, got: String(replicas),
        hint: "leave `replicas` out when `roles` is given: it is their sum",
      });
    }
  }
}

/**
 * A native `resources` block: each amount is a request (what the replica is scheduled by; this format has no limits).
 * An amount left out is none of it: cpu and memory 0 (Kubernetes' BestEffort), gpus 0.
 */
export function nativeResources(r: NativeResources | undefined): JobResources {
  const out: JobResources = { gpus: JOB_DEFAULTS.gpus, gpuMilli: 0, cpuMilli: JOB_DEFAULTS.cpuMilli, memoryMb: JOB_DEFAULTS.memoryMb };
  if (r === undefined) return out;
  const gpu = r.gpus === undefined ? undefined : checkGpus(r.gpus);
  if (gpu?.ok === true) Object.assign(out, { gpus: gpu.gpus, gpuMilli: gpu.gpuMilli });
  const cpu = r.cpu === undefined ? undefined : checkCpu(r.cpu);
  if (cpu?.ok === true) out.cpuMilli = cpu.value;
  const mem = r.memory === undefined ? undefined : checkMemory(r.memory);
  if (mem?.ok === true) out.memoryMb = mem.value;
  if (r.gpuType !== undefined) out.gpuType = r.gpuType;
  return out;
}

function normalize(doc: Native, ctx: NormalizeContext): JobSpec {
  const s = doc.spec;
  const baseEnv = splitNativeEnv(s.env, ["spec", "env"], ctx);
  const base = {
    command: s.command ?? [],
    args: s.args ?? [],
    env: baseEnv.env,
    secretEnv: baseEnv.secretEnv,
    workingDir: resolveWorkingDir(s.workingDir, ctx.baseDir),
    resources: nativeResources(s.resources),
  };
  const roles: JobRole[] | undefined = s.roles?.map((r, i) => {
    const env = r.env !== undefined ? splitNativeEnv(r.env, ["spec", "roles", i, "env"], ctx) : baseEnv;
    const role = withSecretEnv<JobRole>({
      name: r.name,
      replicas: r.replicas,
      command: r.command ?? base.command,
      args: r.args ?? base.args,
      env: env.env,
      resources: r.resources !== undefined ? nativeResources(r.resources) : base.resources,
    }, env.secretEnv);
    const wd = r.workingDir !== undefined ? resolveWorkingDir(r.workingDir, ctx.baseDir) : base.workingDir;
    if (wd !== undefined) role.workingDir = wd;
    return role;
  });
  const first = roles?.[0] ?? base;
  const restartPolicy = s.restartPolicy ?? JOB_DEFAULTS.nativeRestartPolicy;
  const spec = withSecretEnv<JobSpec>({
    team: doc.metadata.team ?? JOB_DEFAULTS.team,
    labels: Object.fromEntries(Object.entries(doc.metadata.labels ?? {}).map(([k, v]) => [k, String(v)])),
    queue: s.queue ?? JOB_DEFAULTS.queue,
    priority: s.priority ?? JOB_DEFAULTS.priority,
    replicas: s.replicas ?? roles?.reduce((n, r) => n + r.replicas, 0) ?? JOB_DEFAULTS.replicas,
    resources: { ...first.resources },
    command: [...first.command],
    args: [...first.args],
    env: { ...first.env },
    restartPolicy,
    backoffLimit: s.backoffLimit ?? defaultBackoffLimit(restartPolicy),
    suspend: s.suspend ?? false,
  }, first.secretEnv);
  if (doc.metadata.name !== undefined) spec.name = doc.metadata.name;
  else if (doc.metadata.generateName !== undefined) spec.generateName = doc.metadata.generateName;
  if (doc.metadata.name !== undefined && doc.metadata.generateName !== undefined) {
    warnAt(ctx, ["metadata", "generateName"], "ignored because `name` is set");
  }
  if (first.workingDir !== undefined) spec.workingDir = first.workingDir;
  if (s.activeDeadlineSeconds !== undefined) spec.activeDeadlineSeconds = s.activeDeadlineSeconds;
  if (s.ttlSecondsAfterFinished !== undefined) spec.ttlSecondsAfterFinished = s.ttlSecondsAfterFinished;
  if (s.distributed !== undefined) spec.distributed = { framework: "pytorch", nprocPerNode: resolveNproc(s.distributed.nprocPerNode ?? "auto", first.resources) };
  if (s.image !== undefined) spec.image = s.image;
  if (roles !== undefined) spec.roles = roles;
  return spec;
}

export const nativeJobFormat: JobFormat<Native> = {
  source: "switchyard/v1",
  apiVersion: "switchyard/v1",
  kind: "Job",
  schema: nativeJobManifestSchema,
  hints,
  check,
  normalize,
};
