/**
 * Kubeflow Training Operator's `kubeflow.org/v1` PyTorchJob. Every field of its schema parses; the ones with a
 * meaning for local processes are honoured, the rest are listed in one warning.
 */
import * as z from "zod";
import { reportIgnored } from "./ignored-fields.js";
import type { Honoured } from "./ignored-fields.js";
import type { JobFormat } from "./job-format.js";
import { checkNamePresent, isRecord, isSet, rawAt } from "./job-format.js";
import { jobObjectMetaSchema, resourceListSchema } from "./k8s-meta-schema.js";
import { podTemplateSpecSchema } from "./k8s-pod-schema.js";
import type { JobRole, JobSpec, RestartPolicy } from "./job-spec.js";
import { JOB_DEFAULTS, defaultBackoffLimit } from "./job-spec.js";
import { honouredTop, kubeflowIdentity, kubeflowPriority, kubeflowQueue } from "./kubeflow-common.js";
import { resolveNproc, resolveWorkingDir, resourcesFromK8s, warnAt } from "./normalize-common.js";
import { splitK8sEnv, withSecretEnv } from "./secret-env.js";
import type { NormalizeContext } from "./normalize-common.js";
import { bool, int, nprocPerNode, obj, opaque, opt, queueName, str } from "./schema-kit.js";
import type { HintTable, PathSegment, Violations } from "./violations.js";

const ROLES = ["Master", "Worker"] as const;
type RoleName = (typeof ROLES)[number];

const masterReplicas = int().superRefine((v, ctx) => {
  if (v !== 1) {
    ctx.addIssue({ code: "custom", message: "a PyTorchJob has exactly one Master", input: v, params: { expected: "1", hint: "set `replicas: 1` and put the other replicas under `Worker`" } });
  }
});

const replicaSpec = (role: RoleName) =>
  obj({
    replicas: opt(role === "Master" ? masterReplicas : int().min(0)),
    restartPolicy: opt(z.enum(["Always", "OnFailure", "Never", "ExitCode"])),
    template: podTemplateSpecSchema,
  });

const runPolicySchema = obj({
  cleanPodPolicy: opt(z.enum(["None", "All", "Running"])),
  ttlSecondsAfterFinished: opt(int().min(0)),
  activeDeadlineSeconds: opt(int().min(1)),
  backoffLimit: opt(int().min(0)),
  suspend: opt(bool()),
  managedBy: opt(str()),
  schedulingPolicy: opt(obj({
    minAvailable: opt(int()),
    queue: opt(queueName()),
    minResources: opt(resourceListSchema),
    priorityClass: opt(str()),
    scheduleTimeoutSeconds: opt(int()),
  })),
});

const elasticPolicySchema = obj({
  minReplicas: opt(int()),
  maxReplicas: opt(int()),
  rdzvBackend: opt(str()),
  rdzvHost: opt(str()),
  rdzvPort: opt(int()),
  rdzvId: opt(str()),
  rdzvConf: opt(z.array(obj({ key: opt(str()), value: opt(str()) }))),
  standalone: opt(bool()),
  nProcPerNode: opt(int().min(1)),
  maxRestarts: opt(int()),
  metrics: opt(z.array(opaque())),
});

export const pytorchJobSchema = obj({
  apiVersion: z.literal("kubeflow.org/v1"),
  kind: z.literal("PyTorchJob"),
  metadata: jobObjectMetaSchema,
  spec: obj({
    runPolicy: opt(runPolicySchema),
    elasticPolicy: opt(elasticPolicySchema),
    nprocPerNode: opt(nprocPerNode(["auto", "cpu", "gpu"])),
    pytorchReplicaSpecs: obj({ Master: opt(replicaSpec("Master")), Worker: opt(replicaSpec("Worker")) }).superRefine((specs, ctx) => {
      if (!isSet(specs.Master) && !isSet(specs.Worker)) {
        ctx.addIssue({ code: "custom", message: "needs a Master or a Worker", input: specs, params: { expected: "Master and/or Worker", hint: "add `Master:` with `replicas: 1` and a pod template" } });
      }
    }),
  }),
  status: opt(opaque()),
});
type PyTorchJob = z.output<typeof pytorchJobSchema>;

const hints: HintTable = {
  spec: "add `spec:` with `pytorchReplicaSpecs`",
  "spec.pytorchReplicaSpecs": "add `pytorchReplicaSpecs:` with a `Master` (and optionally `Worker`) replica spec",
  "spec.pytorchReplicaSpecs.Master.template": "add the pod `template:` with `spec.containers` holding a container named `pytorch`",
  "spec.pytorchReplicaSpecs.Worker.template": "add the pod `template:` with `spec.containers` holding a container named `pytorch`",
};

const containersPath = (role: RoleName): PathSegment[] => ["spec", "pytorchReplicaSpecs", role, "template", "spec", "containers"];

function check(raw: Record<string, unknown>, out: Violations): void {
  checkNamePresent(raw, out);
  for (const role of ROLES) {
    const containers = rawAt(raw, "spec", "pytorchReplicaSpecs", role, "template", "spec", "containers");
    if (!Array.isArray(containers)) continue;
    const i = containers.findIndex((c) => isRecord(c) && c["name"] === "pytorch");
    const c: unknown = containers[i];
    if (i < 0) {
      const names = containers.map((x) => (isRecord(x) && typeof x["name"] === "string" ? x["name"] : undefined)).filter((n) => n !== undefined);
      out.add(containersPath(role), {
        message: "has no container named `pytorch`", expected: "a container with `name: pytorch`", got: names.length > 0 ? names.join(", ") : "no named container",
        hint: names.length === 1 ? `rename container \`${names[0]}\` to \`pytorch\`: Kubeflow and this engine run the container named pytorch` : "name the training container `pytorch`",
      });
    } else if (isRecord(c) && (!isSet(c["command"]) || (Array.isArray(c["command"]) && c["command"].length === 0))) {
      out.add([...containersPath(role), i, "command"], {
        message: "this engine runs processes, not images: add `command` (the image's entrypoint) to container pytorch",
        expected: "a list of strings: the program and its arguments",
        hint: 'e.g. `command: ["python", "/workspace/train.py"]`; `args` are appended to it',
      });
    }
  }
}

function restartPolicyOf(role: RoleName, policy: string | null | undefined, ctx: NormalizeContext): RestartPolicy {
  if (policy === "Always") {
    warnAt(ctx, ["spec", "pytorchReplicaSpecs", role, "restartPolicy"], "Always is treated as OnFailure: a job that succeeded is not restarted");
    return "OnFailure";
  }
  return (policy ?? JOB_DEFAULTS.pytorchJobRestartPolicy) as RestartPolicy;
}

function containerHonoured(c: unknown): Honoured {
  if (!isRecord(c) || c["name"] !== "pytorch") return false;
  // `image` is kept (spec.image, for an engine that runs images) but this one runs processes: listed as ignored.
  return { name: true, command: true, args: true, env: true, workingDir: true, resources: true };
}

const replicaHonoured: Honoured = { replicas: true, restartPolicy: true, template: { spec: { containers: { "[]": containerHonoured } } } };
const honoured: Honoured = {
  ...honouredTop,
  spec: {
    runPolicy: { backoffLimit: true, activeDeadlineSeconds: true, ttlSecondsAfterFinished: true, suspend: true, schedulingPolicy: { queue: true, priorityClass: true } },
    elasticPolicy: { nProcPerNode: true },
    nprocPerNode: true,
    pytorchReplicaSpecs: { Master: replicaHonoured, Worker: replicaHonoured },
  },
};

function normalize(doc: PyTorchJob, ctx: NormalizeContext): JobSpec | undefined {
  const identity = kubeflowIdentity(doc.metadata, ctx);
  const run = doc.spec.runPolicy ?? {};
  const roles: JobRole[] = [];
  const policies: RestartPolicy[] = [];
  let image: string | undefined;
  for (const role of ROLES) {
    const rs = doc.spec.pytorchReplicaSpecs[role];
    if (rs === undefined || rs === null) continue;
    const replicas = rs.replicas ?? 1;
    const i = rs.template.spec.containers.findIndex((c) => c.name === "pytorch");
    const c = rs.template.spec.containers[i];
    if (replicas === 0 || c === undefined) continue;
    const path = [...containersPath(role), i];
    const env = splitK8sEnv(c.env, [...path, "env"], ctx);
    const r = withSecretEnv<JobRole>({
      name: role,
      replicas,
      command: c.command ?? [],
      args: c.args ?? [],
      env: env.env,
      resources: resourcesFromK8s(c.resources, [...path, "resources"], ctx),
    }, env.secretEnv);
    const wd = resolveWorkingDir(c.workingDir, ctx.baseDir);
    if (wd !== undefined) r.workingDir = wd;
    roles.push(r);
    policies.push(restartPolicyOf(role, rs.restartPolicy, ctx));
    image ??= c.image ?? undefined;
  }
  const first = roles[0];
  if (first === undefined) {
    ctx.violations.add(["spec", "pytorchReplicaSpecs", "Worker", "replicas"], { message: "leaves the job with no replicas", expected: "at least 1 replica", got: "0", hint: "set `replicas: 1` or more, or add a Master" });
    return undefined;
  }
  const restartPolicy = policies[0] ?? "OnFailure";
  if (policies.some((p) => p !== restartPolicy)) {
    warnAt(ctx, ["spec", "pytorchReplicaSpecs"], `Master and Worker restart policies differ: ${restartPolicy} (the Master's) applies to every replica`);
  }
  const nproc = doc.spec.nprocPerNode ?? doc.spec.elasticPolicy?.nProcPerNode ?? "auto";
  if (isSet(doc.spec.nprocPerNode) && isSet(doc.spec.elasticPolicy?.nProcPerNode) && String(doc.spec.nprocPerNode) !== String(doc.spec.elasticPolicy?.nProcPerNode)) {
    warnAt(ctx, ["spec", "elasticPolicy", "nProcPerNode"], "ignored because `spec.nprocPerNode` is set (elasticPolicy.nProcPerNode is deprecated)");
  }
  const priorityClass = run.schedulingPolicy?.priorityClass;
  const spec = withSecretEnv<JobSpec>({
    ...identity,
    queue: kubeflowQueue(run.schedulingPolicy?.queue, identity.labels, ctx),
    priority: kubeflowPriority(isSet(priorityClass) ? { name: priorityClass as string, path: ["spec", "runPolicy", "schedulingPolicy", "priorityClass"] } : undefined, identity.labels, ctx),
    replicas: roles.reduce((n, r) => n + r.replicas, 0),
    resources: { ...first.resources },
    command: [...first.command],
    args: [...first.args],
    env: { ...first.env },
    restartPolicy,
    backoffLimit: run.backoffLimit ?? defaultBackoffLimit(restartPolicy),
    suspend: run.suspend ?? false,
    distributed: { framework: "pytorch", nprocPerNode: resolveNproc(nproc, first.resources) },
  }, first.secretEnv);
  if (first.workingDir !== undefined) spec.workingDir = first.workingDir;
  if (isSet(run.activeDeadlineSeconds)) spec.activeDeadlineSeconds = run.activeDeadlineSeconds as number;
  if (isSet(run.ttlSecondsAfterFinished)) spec.ttlSecondsAfterFinished = run.ttlSecondsAfterFinished as number;
  if (image !== undefined) spec.image = image;
  if (roles.length > 1) spec.roles = roles;
  reportIgnored(ctx, honoured);
  return spec;
}

export const pytorchJobFormat: JobFormat<PyTorchJob> = {
  source: "kubeflow.org/v1/PyTorchJob",
  apiVersion: "kubeflow.org/v1",
  kind: "PyTorchJob",
  schema: pytorchJobSchema,
  hints,
  check,
  normalize,
};
