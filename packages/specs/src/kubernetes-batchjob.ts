/**
 * Kubernetes' `batch/v1` Job (what Katib's examples run as trials): one replica from its pod template's one container.
 * Every field of the Job and PodSpec schema parses (a misspelt key is an error); what has a meaning for a local process
 * is honoured, what has none is listed in one warning, and what would change what runs (several completions at
 * once, a second container, `restartPolicy: Always`) is refused with why.
 */
import * as z from "zod";
import { reportIgnored } from "./ignored-fields.js";
import type { Honoured } from "./ignored-fields.js";
import type { JobFormat } from "./job-format.js";
import { checkNamePresent, commandHint, isRecord, isSet, rawAt } from "./job-format.js";
import { jobObjectMetaSchema, labelSelectorSchema } from "./k8s-meta-schema.js";
import { podTemplateSpecSchema } from "./k8s-pod-schema.js";
import type { JobSpec, RestartPolicy } from "./job-spec.js";
import { JOB_DEFAULTS } from "./job-spec.js";
import { honouredTop, kubeflowIdentity, kubeflowPriority, kubeflowQueue } from "./kubeflow-common.js";
import { resolveWorkingDir, resourcesFromK8s } from "./normalize-common.js";
import type { NormalizeContext } from "./normalize-common.js";
import { splitK8sEnv, withSecretEnv } from "./secret-env.js";
import { bool, int, obj, opaque, opt, str } from "./schema-kit.js";
import type { HintTable, PathSegment, Violations } from "./violations.js";

export const batchJobSchema = obj({
  apiVersion: z.literal("batch/v1"),
  kind: z.literal("Job"),
  metadata: jobObjectMetaSchema,
  spec: obj({
    parallelism: opt(int().min(0)),
    completions: opt(int().min(0)),
    activeDeadlineSeconds: opt(int().min(1)),
    podFailurePolicy: opt(opaque()),
    successPolicy: opt(opaque()),
    backoffLimit: opt(int().min(0).max(2 ** 31 - 1)),
    backoffLimitPerIndex: opt(int().min(0)),
    maxFailedIndexes: opt(int().min(0)),
    selector: opt(labelSelectorSchema),
    manualSelector: opt(bool()),
    template: podTemplateSpecSchema,
    ttlSecondsAfterFinished: opt(int().min(0)),
    completionMode: opt(z.enum(["NonIndexed", "Indexed"])),
    suspend: opt(bool()),
    podReplacementPolicy: opt(z.enum(["TerminatingOrFailed", "Failed"])),
    managedBy: opt(str()),
  }),
  status: opt(opaque()),
});
type BatchJob = z.output<typeof batchJobSchema>;

const POD = ["spec", "template", "spec"] as const;

const hints: HintTable = {
  spec: "add `spec:` with a pod `template:` whose `spec.containers` holds the container to run",
  "spec.template": "add the pod `template:` with `spec: {containers: [{name: train, command: [...]}], restartPolicy: Never}`",
  "spec.replicas": "a batch/v1 Job runs one pod here: leave `parallelism` and `completions` at 1, or submit a switchyard/v1 Job with `replicas`",
};

function check(raw: Record<string, unknown>, out: Violations): void {
  checkNamePresent(raw, out);
  for (const k of ["parallelism", "completions"] as const) {
    const n = rawAt(raw, "spec", k);
    if (typeof n === "number" && Number.isInteger(n) && n !== 1) {
      out.add(["spec", k], {
        message: n === 0 ? "is 0: the Job would run nothing" : `asks for ${n} pods: a batch/v1 Job runs here as one process`,
        expected: "1, or leave it out", got: String(n),
        hint: n === 0 ? "leave it out, and write `suspend: true` to hold the job back" : "submit one job per run, or a switchyard/v1 Job with `replicas` for a gang that starts together",
      });
    }
  }
  const policy = rawAt(raw, ...POD, "restartPolicy");
  if (policy === "Always") {
    out.add([...POD, "restartPolicy"], {
      message: "is not allowed for a Job (Kubernetes refuses it too): a job that succeeded would run again", expected: "Never or OnFailure", got: '"Always"',
      hint: "write `restartPolicy: Never` (a failed run counts against backoffLimit) or `OnFailure`",
    });
  }
  const containers = rawAt(raw, ...POD, "containers");
  if (!Array.isArray(containers)) return;
  if (containers.length === 0) {
    out.add([...POD, "containers"], { message: "has no container", expected: "one container with a `command`", hint: "add the container to run, e.g. `- {name: train, command: [python, train.py]}`" });
    return;
  }
  if (containers.length > 1) {
    const names = containers.map((c) => (isRecord(c) && typeof c["name"] === "string" ? c["name"] : "?"));
    out.add([...POD, "containers", 1], {
      message: "is a second container: a batch/v1 Job runs here as one process", expected: "one container", got: names.join(", "),
      hint: "keep the container that does the work; start anything else as its own job",
    });
  }
  const c: unknown = containers[0];
  if (isRecord(c)) {
    const command = c["command"];
    if (!isSet(command) || (Array.isArray(command) && command.length === 0)) {
      out.add([...POD, "containers", 0, "command"], {
        message: isSet(c["image"]) ? "is required: this engine runs processes, not images" : "is required", expected: "a list of strings: the program and its arguments",
        hint: commandHint(isSet(c["image"]), `container ${typeof c["name"] === "string" ? c["name"] : "0"}`),
      });
    }
  }
}

const honoured: Honoured = {
  ...honouredTop,
  spec: {
    // 1 (checked): the one pod this engine runs.
    parallelism: true,
    completions: true,
    backoffLimit: true,
    activeDeadlineSeconds: true,
    ttlSecondsAfterFinished: true,
    suspend: true,
    // `image` is kept (spec.image, for an engine that runs images) but this one runs processes: listed as ignored.
    template: { spec: { containers: { "[]": { name: true, command: true, args: true, env: true, workingDir: true, resources: true } }, restartPolicy: true, priorityClassName: true } },
  },
};

function normalize(doc: BatchJob, ctx: NormalizeContext): JobSpec | undefined {
  const identity = kubeflowIdentity(doc.metadata, ctx);
  const pod = doc.spec.template.spec;
  const c = pod.containers[0];
  if (c === undefined) return undefined;
  const path: PathSegment[] = [...POD, "containers", 0];
  const env = splitK8sEnv(c.env, [...path, "env"], ctx);
  const restartPolicy = (pod.restartPolicy ?? JOB_DEFAULTS.batchJobRestartPolicy) as RestartPolicy;
  const priorityClass = pod.priorityClassName;
  const spec = withSecretEnv<JobSpec>({
    ...identity,
    queue: kubeflowQueue(undefined, identity.labels, ctx),
    priority: kubeflowPriority(isSet(priorityClass) ? { name: priorityClass as string, path: [...POD, "priorityClassName"] } : undefined, identity.labels, ctx),
    replicas: 1,
    resources: resourcesFromK8s(c.resources, [...path, "resources"], ctx),
    command: c.command ?? [],
    args: c.args ?? [],
    env: env.env,
    restartPolicy,
    backoffLimit: doc.spec.backoffLimit ?? JOB_DEFAULTS.batchJobBackoffLimit,
    suspend: doc.spec.suspend ?? false,
  }, env.secretEnv);
  const wd = resolveWorkingDir(c.workingDir, ctx.baseDir);
  if (wd !== undefined) spec.workingDir = wd;
  if (isSet(doc.spec.activeDeadlineSeconds)) spec.activeDeadlineSeconds = doc.spec.activeDeadlineSeconds as number;
  if (isSet(doc.spec.ttlSecondsAfterFinished)) spec.ttlSecondsAfterFinished = doc.spec.ttlSecondsAfterFinished as number;
  if (isSet(c.image)) spec.image = c.image as string;
  reportIgnored(ctx, honoured);
  return spec;
}

export const batchJobFormat: JobFormat<BatchJob> = {
  source: "batch/v1/Job",
  apiVersion: "batch/v1",
  kind: "Job",
  schema: batchJobSchema,
  hints,
  check,
  normalize,
};
