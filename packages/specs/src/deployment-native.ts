/**
 * The native deployment manifest, `apiVersion: switchyard/v1`, `kind: Deployment`: its schema, its cross-field rules
 * and its normalization into a DeploymentSpec. `spec.model` is a model's location (an onnx model) or a mapping
 * (`format`, `storageUri`, and for a custom server `command`, `args`, `env`, `workingDir`).
 */
import * as z from "zod";
import {
  INT32_MAX, checkBatchSizes, checkEnvNames, checkExecStrings, checkReplicas, deploymentEnvSchema, deploymentResources, envList, numberAt,
  priorityClassOf, priorityClassSchema, refuseCustomOnly, refuseResourceMetric, requireCommand, requireStorageUri, storageUriSchema,
} from "./deployment-common.js";
import type { DeploymentNormalizeContext } from "./deployment-common.js";
import type { DeploymentManifestSource, DeploymentModel, DeploymentSpec } from "./deployment-spec.js";
import { DEPLOYMENT_DEFAULTS, MAX_BATCH_SIZE, MAX_DEPLOYMENT_REPLICAS } from "./deployment-spec.js";
import type { ManifestFormat } from "./job-format.js";
import { isRecord, isSet } from "./job-format.js";
import { nativeResourcesSchema } from "./job-native.js";
import { warnAt } from "./normalize-common.js";
import { dnsLabel, int, labelMap, obj, queueName } from "./schema-kit.js";
import type { HintTable, PathSegment, Violations } from "./violations.js";

const scaleMetricSchema = () => z.enum(["concurrency", "rps", "cpu", "memory"]);

const modelObjectSchema = obj({
  format: z.enum(["onnx", "custom"]).optional(),
  storageUri: storageUriSchema().optional(),
  command: z.array(z.string()).min(1).optional(),
  args: z.array(z.string()).optional(),
  env: deploymentEnvSchema().optional(),
  workingDir: z.string().min(1).optional(),
});

export const nativeDeploymentManifestSchema = obj({
  apiVersion: z.literal("switchyard/v1"),
  kind: z.literal("Deployment"),
  metadata: obj({
    name: dnsLabel("deployment name"),
    team: dnsLabel("team name").optional(),
    labels: labelMap().optional(),
    // What printing a deployment adds besides the manifest: accepted back and ignored (the platform sets them).
    uid: z.string().optional(),
    creationTimestamp: z.string().optional(),
  }),
  status: z.unknown().optional(),
  spec: obj({
    model: z.union([storageUriSchema(), modelObjectSchema]),
    replicas: int().min(1).max(MAX_DEPLOYMENT_REPLICAS).optional(),
    minReplicas: int().min(0).max(MAX_DEPLOYMENT_REPLICAS).optional(),
    maxReplicas: int().min(1).max(MAX_DEPLOYMENT_REPLICAS).optional(),
    resources: nativeResourcesSchema.optional(),
    autoscaling: obj({ metric: scaleMetricSchema().optional(), target: int().min(1).max(INT32_MAX).optional() }).optional(),
    containerConcurrency: int().min(0).max(1000).optional(),
    timeoutSeconds: int().min(1).max(INT32_MAX).optional(),
    canaryTrafficPercent: int().min(0).max(100).optional(),
    batching: obj({
      maxBatchSize: int().min(1).max(MAX_BATCH_SIZE),
      maxQueueDelayMicroseconds: int().min(0).optional(),
      preferredBatchSizes: z.array(int().min(1).max(MAX_BATCH_SIZE)).max(MAX_BATCH_SIZE).optional(),
      maxQueueSize: int().min(1).max(INT32_MAX).optional(),
      queueTimeoutMicroseconds: int().min(1).optional(),
    }).optional(),
    priorityClassName: priorityClassSchema().optional(),
    queue: queueName().optional(),
  }),
});

export type NativeDeploymentManifest = z.input<typeof nativeDeploymentManifestSchema>;
type Native = z.output<typeof nativeDeploymentManifestSchema>;

const inModel = "put it under `spec.model`, with `format: custom` and the server's `command`";
const hints: HintTable = {
  metadata: "add `metadata:` with `name: my-model`",
  "metadata.name": "add `name: my-model`: a deployment is addressed by its name",
  "metadata.namespace": "the owning team is `metadata.team` in this format",
  "metadata.annotations": "annotations are not kept by this format; use `labels`",
  spec: "add `spec:` with at least `model: models://NAME@VERSION`",
  "spec.model": "e.g. `model: models://resnet@3`, `model: job://resnet-train/model.onnx`, or `model: {format: custom, command: [python, serve.py]}`",
  "spec.storageUri": "put it under `spec.model`, or write the location as `model: models://NAME@VERSION`",
  "spec.command": inModel,
  "spec.args": inModel,
  "spec.env": inModel,
  "spec.workingDir": inModel,
  "spec.image": "this platform runs the model server as a process: give `spec.model.command` instead",
  "spec.scaleMetric": "put it under `spec.autoscaling`, e.g. `autoscaling: {metric: rps, target: 100}`",
  "spec.scaleTarget": "put it under `spec.autoscaling`, e.g. `autoscaling: {metric: concurrency, target: 4}`",
  "spec.batcher": "write `batching: {maxBatchSize: 32}`",
  "spec.priority": "write `priorityClassName`, e.g. `priorityClassName: high`",
  "spec.resources.limits": "write the amounts directly: `resources: {gpus: 1, cpu: 4, memory: 16Gi}`",
  "spec.resources.requests": "write the amounts directly: `resources: {gpus: 1, cpu: 4, memory: 16Gi}`",
  "spec.model.env[].valueFrom": "deployments take plain values for now: write `value`",
};

const CUSTOM_ONLY = ["command", "args", "env", "workingDir"] as const;

function check(raw: Record<string, unknown>, out: Violations): void {
  const spec = raw["spec"];
  if (!isRecord(spec)) return;
  const model = spec["model"];
  if (isRecord(model)) {
    const format = model["format"];
    const hasCommand = isSet(model["command"]);
    const custom = format === "custom" || (format === undefined && hasCommand);
    if (custom && !hasCommand) requireCommand(out, ["spec", "model", "command"], false);
    if (format === undefined && !hasCommand && !isSet(model["storageUri"])) {
      out.add(["spec", "model"], {
        message: "needs a `storageUri` (an onnx model the platform serves) or a `command` (your own server)", expected: "storageUri or command", at: "key",
        hint: "e.g. `model: {storageUri: models://resnet@3}`, or `model: {command: [python, serve.py]}` for a server of the Open Inference Protocol on $PORT",
      });
    } else if (!custom && (format === "onnx" || format === undefined)) {
      if (!isSet(model["storageUri"])) requireStorageUri(out, ["spec", "model", "storageUri"]);
      for (const k of CUSTOM_ONLY) if (isSet(model[k])) refuseCustomOnly(out, ["spec", "model", k], k);
    }
    checkEnvNames(model["env"], ["spec", "model", "env"], out);
  }
  const autoscaling = spec["autoscaling"];
  const metric = isRecord(autoscaling) ? autoscaling["metric"] : undefined;
  if (metric === "cpu" || metric === "memory") refuseResourceMetric(out, ["spec", "autoscaling", "metric"], metric);
  const view = {
    replicas: numberAt(raw, ["spec", "replicas"]),
    minReplicas: numberAt(raw, ["spec", "minReplicas"]),
    maxReplicas: numberAt(raw, ["spec", "maxReplicas"]),
    maxZeroIsUnset: false,
    maxBatchSize: numberAt(raw, ["spec", "batching", "maxBatchSize"]),
    defaultMaxBatchSize: DEPLOYMENT_DEFAULTS.batching.maxBatchSize,
  };
  checkReplicas(view, out);
  const sizes = isRecord(spec["batching"]) ? spec["batching"]["preferredBatchSizes"] : undefined;
  if (Array.isArray(sizes) && sizes.every((s) => typeof s === "number")) {
    checkBatchSizes({ ...view, preferredBatchSizes: { value: sizes as number[], path: ["spec", "batching", "preferredBatchSizes"] } }, out);
  }
}

function modelOf(m: Native["spec"]["model"]): DeploymentModel {
  if (typeof m === "string") return { format: "onnx", storageUri: m };
  const format = m.format ?? (m.command !== undefined ? "custom" : "onnx");
  const out: DeploymentModel = { format };
  if (m.storageUri !== undefined) out.storageUri = m.storageUri;
  if (m.command !== undefined) out.command = [...m.command];
  if (m.args !== undefined) out.args = [...m.args];
  if (m.env !== undefined) out.env = envList(m.env);
  if (m.workingDir !== undefined) out.workingDir = m.workingDir;
  return out;
}

function normalize(doc: Native, ctx: DeploymentNormalizeContext): DeploymentSpec {
  const s = doc.spec;
  const minReplicas = s.replicas ?? s.minReplicas ?? DEPLOYMENT_DEFAULTS.minReplicas;
  const scaleMetric = (s.autoscaling?.metric ?? DEPLOYMENT_DEFAULTS.scaleMetric) as DeploymentSpec["scaleMetric"];
  const model = modelOf(s.model);
  const spec: DeploymentSpec = {
    name: doc.metadata.name,
    team: doc.metadata.team ?? ctx.defaultTeam,
    model,
    resources: deploymentResources(s.resources?.gpus, s.resources?.cpu, s.resources?.memory),
    minReplicas,
    maxReplicas: s.replicas ?? s.maxReplicas ?? Math.max(minReplicas, 1),
    scaleMetric,
    scaleTarget: s.autoscaling?.target ?? DEPLOYMENT_DEFAULTS.scaleTarget[scaleMetric],
    containerConcurrency: s.containerConcurrency ?? DEPLOYMENT_DEFAULTS.containerConcurrency,
    timeoutSeconds: s.timeoutSeconds ?? DEPLOYMENT_DEFAULTS.timeoutSeconds,
  };
  const labels = Object.entries(doc.metadata.labels ?? {});
  if (labels.length > 0) spec.labels = Object.fromEntries(labels.map(([k, v]) => [k, String(v)]));
  if (s.canaryTrafficPercent !== undefined) spec.canaryTrafficPercent = s.canaryTrafficPercent;
  if (s.batching !== undefined) {
    const d = DEPLOYMENT_DEFAULTS.batching;
    spec.batching = {
      maxBatchSize: s.batching.maxBatchSize,
      maxQueueDelayMicroseconds: s.batching.maxQueueDelayMicroseconds ?? d.maxQueueDelayMicroseconds,
      preferredBatchSizes: [...(s.batching.preferredBatchSizes ?? [])],
      maxQueueSize: s.batching.maxQueueSize ?? d.maxQueueSize,
      queueTimeoutMicroseconds: s.batching.queueTimeoutMicroseconds ?? d.queueTimeoutMicroseconds,
    };
  }
  if (s.priorityClassName !== undefined) spec.priorityClassName = priorityClassOf(s.priorityClassName) ?? s.priorityClassName;
  if (s.queue !== undefined) spec.queue = s.queue;
  const listEnv = typeof s.model !== "string" && Array.isArray(s.model.env);
  const envPath = (i: number, name: string): PathSegment[] => ["spec", "model", "env", listEnv ? i : name];
  checkExecStrings(model, { command: ["spec", "model", "command"], args: ["spec", "model", "args"], env: envPath }, ctx.violations);
  if (s.resources?.gpuType !== undefined) warnAt(ctx, ["spec", "resources", "gpuType"], "is not used by deployments yet and is ignored: a replica may get any GPU");
  return spec;
}

export const nativeDeploymentFormat: ManifestFormat<Native, DeploymentSpec, DeploymentManifestSource, DeploymentNormalizeContext> = {
  source: "switchyard/v1/Deployment",
  apiVersion: "switchyard/v1",
  kind: "Deployment",
  schema: nativeDeploymentManifestSchema,
  hints,
  check,
  normalize,
};
