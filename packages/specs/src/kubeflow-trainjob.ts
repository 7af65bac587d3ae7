/**
 * Kubeflow Trainer v2's `trainer.kubeflow.org/v1alpha1` TrainJob. The trainer section is honoured (numNodes →
 * replicas, numProcPerNode → distributed.nprocPerNode); runtimes, initializers and pod overrides are accepted
 * and listed in one warning, since this engine neither resolves runtimes nor builds pods.
 */
import * as z from "zod";
import { reportIgnored } from "./ignored-fields.js";
import type { Honoured } from "./ignored-fields.js";
import type { JobFormat } from "./job-format.js";
import { checkNamePresent, commandHint, isRecord, isSet, rawAt } from "./job-format.js";
import {
  affinitySchema, envVarSchema, jobObjectMetaSchema, localObjectReferenceSchema, resourceRequirementsSchema, tolerationSchema,
} from "./k8s-meta-schema.js";
import { volumeSchema } from "./k8s-volume-schema.js";
import type { JobSpec } from "./job-spec.js";
import { JOB_DEFAULTS, defaultBackoffLimit } from "./job-spec.js";
import { honouredTop, kubeflowIdentity, kubeflowPriority, kubeflowQueue } from "./kubeflow-common.js";
import { resolveNproc, resolveWorkingDir, resourcesFromK8s } from "./normalize-common.js";
import { splitK8sEnv, withSecretEnv } from "./secret-env.js";
import type { NormalizeContext } from "./normalize-common.js";
import { bool, int, labelMap, nprocPerNode, obj, opaque, opt, str, strList, strMap } from "./schema-kit.js";
import type { HintTable, Violations } from "./violations.js";

const storageConfig = obj({ storageUri: opt(str()), env: opt(z.array(envVarSchema)), secretRef: opt(localObjectReferenceSchema) });
const containerOverride = obj({ name: str(), env: opt(z.array(envVarSchema)), volumeMounts: opt(z.array(opaque())) });

export const trainJobSchema = obj({
  apiVersion: z.literal("trainer.kubeflow.org/v1alpha1"),
  kind: z.literal("TrainJob"),
  metadata: jobObjectMetaSchema,
  spec: obj({
    runtimeRef: opt(obj({ name: str(), apiGroup: opt(str()), kind: opt(z.enum(["TrainingRuntime", "ClusterTrainingRuntime"])) })),
    initializer: opt(obj({ dataset: opt(storageConfig), model: opt(storageConfig) })),
    modelConfig: opt(obj({ input: opt(storageConfig), output: opt(storageConfig) })),
    datasetConfig: opt(storageConfig),
    trainer: opt(obj({
      image: opt(str()),
      command: opt(strList().min(1)),
      args: opt(strList()),
      env: opt(z.array(envVarSchema)),
      numNodes: opt(int().min(1)),
      resourcesPerNode: opt(resourceRequirementsSchema),
      numProcPerNode: opt(nprocPerNode(["auto", "cpu", "gpu"])),
    })),
    labels: opt(labelMap()),
    annotations: opt(z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]))),
    podSpecOverrides: opt(z.array(obj({
      targetJobs: z.array(obj({ name: str() })),
      serviceAccountName: opt(str()),
      nodeSelector: opt(strMap()),
      affinity: opt(affinitySchema),
      tolerations: opt(z.array(tolerationSchema)),
      volumes: opt(z.array(volumeSchema)),
      initContainers: opt(z.array(containerOverride)),
      containers: opt(z.array(containerOverride)),
      schedulingGates: opt(z.array(obj({ name: str() }))),
      imagePullSecrets: opt(z.array(localObjectReferenceSchema)),
    }))),
    suspend: opt(bool()),
    managedBy: opt(str()),
  }),
  status: opt(opaque()),
});
type TrainJob = z.output<typeof trainJobSchema>;

const hints: HintTable = {
  spec: "add `spec:` with `trainer: {command: [...], numNodes: N}`",
  "spec.trainer.numReplicas": "TrainJob calls it `numNodes`",
  "spec.trainer.resources": "TrainJob calls it `resourcesPerNode`",
  "spec.trainer.nprocPerNode": "TrainJob calls it `numProcPerNode`",
};

function check(raw: Record<string, unknown>, out: Violations): void {
  checkNamePresent(raw, out);
  const spec = raw["spec"];
  if (!isRecord(spec)) return;
  const trainer = spec["trainer"];
  if (isSet(trainer) && !isRecord(trainer)) return;
  if (!isSet(rawAt(trainer, "command"))) {
    const hasImage = isSet(rawAt(trainer, "image"));
    out.add(["spec", "trainer", "command"], {
      message: hasImage ? "this engine runs processes, not images: add `command` (the image's entrypoint) to spec.trainer" : "is required",
      expected: "a list of strings: the program and its arguments",
      hint: hasImage ? 'e.g. `command: ["torchrun", "train.py"]`; `args` are appended to it' : commandHint(false, "`spec.trainer`"),
    });
  }
}

const honoured: Honoured = {
  ...honouredTop,
  spec: {
    // `image` is kept (spec.image, for an engine that runs images) but this one runs processes: listed as ignored.
    trainer: { command: true, args: true, env: true, numNodes: true, resourcesPerNode: true, numProcPerNode: true },
    suspend: true,
  },
};

function normalize(doc: TrainJob, ctx: NormalizeContext): JobSpec {
  const identity = kubeflowIdentity(doc.metadata, ctx);
  const t = doc.spec.trainer ?? {};
  const resources = resourcesFromK8s(t.resourcesPerNode, ["spec", "trainer", "resourcesPerNode"], ctx);
  const restartPolicy = JOB_DEFAULTS.trainJobRestartPolicy;
  const env = splitK8sEnv(t.env, ["spec", "trainer", "env"], ctx);
  const spec = withSecretEnv<JobSpec>({
    ...identity,
    queue: kubeflowQueue(undefined, identity.labels, ctx),
    priority: kubeflowPriority(undefined, identity.labels, ctx),
    replicas: t.numNodes ?? JOB_DEFAULTS.replicas,
    resources,
    command: t.command ?? [],
    args: t.args ?? [],
    env: env.env,
    restartPolicy,
    backoffLimit: defaultBackoffLimit(restartPolicy),
    suspend: doc.spec.suspend ?? false,
    distributed: { framework: "pytorch", nprocPerNode: resolveNproc(t.numProcPerNode ?? "auto", resources) },
  }, env.secretEnv);
  // A TrainJob has no working directory (its script lives in the image): submitted from a file, it runs in the
  // manifest's directory, so that `command: [python3, train.py]` beside the manifest works as shipped.
  const workingDir = resolveWorkingDir(".", ctx.baseDir);
  if (ctx.baseDir !== undefined && workingDir !== undefined) spec.workingDir = workingDir;
  if (isSet(t.image)) spec.image = t.image as string;
  reportIgnored(ctx, honoured);
  return spec;
}

export const trainJobFormat: JobFormat<TrainJob> = {
  source: "trainer.kubeflow.org/v1alpha1/TrainJob",
  apiVersion: "trainer.kubeflow.org/v1alpha1",
  kind: "TrainJob",
  schema: trainJobSchema,
  hints,
  check,
  normalize,
};
