/**
 * KServe's `serving.kserve.io/v1beta1` InferenceService. Every field of its predictor parses (the whole PodSpec and
 * Container included, so a misspelt key is an error); an onnx `model` or one custom container is served, the rest of
 * what has a meaning here is honoured, what has none is listed in one warning, and what would change the service
 * (transformers, explainers, other model formats, multi-node workers) is refused with why.
 */
import * as z from "zod";
import { closestMatch } from "./did-you-mean.js";
import {
  INT32_MAX, checkBatchSizes, checkEnvNames, checkExecStrings, checkReplicas, deploymentResources, numberAt, parseBatchSizes,
  priorityClassOf, refuseCustomOnly, refuseResourceMetric, requireCommand, requireStorageUri, storageUriSchema,
} from "./deployment-common.js";
import type { DeploymentNormalizeContext, DeploymentView } from "./deployment-common.js";
import type { DeploymentBatching, DeploymentManifestSource, DeploymentModel, DeploymentSpec } from "./deployment-spec.js";
import { DEPLOYMENT_DEFAULTS, MAX_BATCH_SIZE, MAX_DEPLOYMENT_REPLICAS } from "./deployment-spec.js";
import { reportIgnored } from "./ignored-fields.js";
import type { Honoured } from "./ignored-fields.js";
import type { ManifestFormat } from "./job-format.js";
import { isRecord, isSet, rawAt } from "./job-format.js";
import { objectMetaShape } from "./k8s-meta-schema.js";
import { containerSchema, podSpecSchema } from "./k8s-pod-schema.js";
import { KUEUE_PRIORITY_LABEL, KUEUE_QUEUE_LABEL, PRIORITY_CLASSES, resourcesFromK8s, warnAt } from "./normalize-common.js";
import { dnsLabel, int, labelMap, obj, opaque, opt, str } from "./schema-kit.js";
import { describeValue } from "./violations.js";
import type { HintTable, PathSegment, Violations } from "./violations.js";

/** Batching fields KServe's batcher does not have (Triton's), as annotations. */
export const PREFERRED_BATCH_SIZES_ANNOTATION = "serving.switchyard.io/preferred-batch-sizes";
export const MAX_QUEUE_SIZE_ANNOTATION = "serving.switchyard.io/max-queue-size";
const OWN_PREFIX = "serving.switchyard.io/";
const OWN_ANNOTATIONS = [PREFERRED_BATCH_SIZES_ANNOTATION, MAX_QUEUE_SIZE_ANNOTATION];

/** KServe's older per-framework predictor fields (`predictor.sklearn: {storageUri}`). */
const LEGACY_FORMATS = ["sklearn", "xgboost", "tensorflow", "pytorch", "triton", "onnx", "huggingface", "pmml", "lightgbm", "paddle"] as const;

const modelSpecSchema = obj({
  ...containerSchema.shape,
  name: opt(str()),
  modelFormat: obj({ name: str(), version: opt(str()) }),
  runtime: opt(str()),
  storageUri: opt(storageUriSchema()),
  runtimeVersion: opt(str()),
  protocolVersion: opt(z.enum(["v1", "v2", "grpc-v1", "grpc-v2"])),
  storage: opt(opaque()),
});

const predictorSchema = obj({
  ...podSpecSchema.shape,
  containers: opt(z.array(containerSchema)),
  name: opt(str()),
  sklearn: opt(opaque()), xgboost: opt(opaque()), tensorflow: opt(opaque()), pytorch: opt(opaque()), triton: opt(opaque()),
  onnx: opt(opaque()), huggingface: opt(opaque()), pmml: opt(opaque()), lightgbm: opt(opaque()), paddle: opt(opaque()),
  model: opt(modelSpecSchema),
  storageUris: opt(z.array(opaque())),
  storageContainerName: opt(str()),
  workerSpec: opt(opaque()),
  // ComponentExtensionSpec
  minReplicas: opt(int().min(0).max(MAX_DEPLOYMENT_REPLICAS)),
  maxReplicas: opt(int().min(0).max(MAX_DEPLOYMENT_REPLICAS)),
  scaleTarget: opt(int().min(1).max(INT32_MAX)),
  scaleMetric: opt(z.enum(["concurrency", "rps", "cpu", "memory"])),
  scaleMetricType: opt(z.enum(["Utilization", "AverageValue"])),
  autoScaling: opt(opaque()),
  containerConcurrency: opt(int().min(0).max(1000)),
  timeout: opt(int().min(1).max(INT32_MAX)),
  canaryTrafficPercent: opt(int().min(0).max(100)),
  logger: opt(opaque()),
  batcher: opt(obj({ maxBatchSize: opt(int().min(1).max(MAX_BATCH_SIZE)), maxLatency: opt(int().min(1).max(INT32_MAX)), timeout: opt(int().min(1).max(INT32_MAX)) })),
  labels: opt(opaque()),
  annotations: opt(opaque()),
  deploymentStrategy: opt(opaque()),
});

export const inferenceServiceSchema = obj({
  apiVersion: z.literal("serving.kserve.io/v1beta1"),
  kind: z.literal("InferenceService"),
  metadata: obj({ ...objectMetaShape, name: dnsLabel("deployment name"), namespace: opt(dnsLabel("namespace")), labels: opt(labelMap()) }),
  spec: obj({ predictor: predictorSchema, transformer: opt(opaque()), explainer: opt(opaque()), canary: opt(z.array(opaque())) }),
  status: opt(opaque()),
});
type InferenceService = z.output<typeof inferenceServiceSchema>;

const P: PathSegment[] = ["spec", "predictor"];
const OIP = "serves the Open Inference Protocol over HTTP on $PORT";

const hints: HintTable = {
  "metadata.name": "add `name: my-model`: a deployment is addressed by its name",
  spec: "add `spec:` with `predictor:`",
  "spec.predictor": "add `predictor:` with `model: {modelFormat: {name: onnx}, storageUri: models://NAME@VERSION}`",
  "spec.predictor.model.modelFormat": "add `modelFormat: {name: onnx}`",
  "spec.predictor.replicas": "KServe autoscales between `minReplicas` and `maxReplicas`; give both the same value for a fixed count",
};

const notYet: Record<"transformer" | "explainer" | "canary", string> = {
  transformer: "only the predictor is served; do pre- and post-processing in a custom predictor container",
  explainer: "only the predictor is served",
  canary: "roll out a new version by updating this InferenceService; `spec.predictor.canaryTrafficPercent` sends a share of requests to it",
};

function refuse(out: Violations, path: PathSegment[], message: string, hint: string, expected?: string): void {
  out.add(path, { message, hint, at: "key", ...(expected !== undefined ? { expected } : {}) });
}

const QUEUE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

function checkMetadata(raw: Record<string, unknown>, batching: boolean, view: DeploymentView, out: Violations): void {
  if (isSet(rawAt(raw, "metadata", "generateName"))) {
    refuse(out, ["metadata", "generateName"], "is not supported for a deployment", "a deployment is addressed by its name: write `name: my-model` instead", "metadata.name");
  }
  const annotations = rawAt(raw, "metadata", "annotations");
  if (!isRecord(annotations)) return;
  for (const [key, value] of Object.entries(annotations)) {
    const path: PathSegment[] = ["metadata", "annotations", key];
    if (key.startsWith(OWN_PREFIX) && !OWN_ANNOTATIONS.includes(key)) {
      const near = closestMatch(key, OWN_ANNOTATIONS);
      out.add(path, { message: "is not a known annotation", expected: OWN_ANNOTATIONS.join(" or "), got: JSON.stringify(key), hint: near !== undefined ? `did you mean \`${near}\`?` : `the ${OWN_PREFIX} annotations are ${OWN_ANNOTATIONS.join(", ")}`, at: "key" });
      continue;
    }
    if (!OWN_ANNOTATIONS.includes(key) || !isSet(value) || typeof value === "object") continue;
    if (!batching) {
      refuse(out, path, "needs `spec.predictor.batcher`: it only applies to batching", "add `batcher: {maxBatchSize: 32}` under `spec.predictor`, or remove the annotation");
      continue;
    }
    const text = String(value);
    if (key === PREFERRED_BATCH_SIZES_ANNOTATION) {
      const r = parseBatchSizes(text);
      if (!r.ok) out.add(path, { message: `annotation ${key} is not a list of batch sizes: ${r.got} is not a whole number ≥ 1`, expected: 'sizes separated by commas, e.g. "8,16,32"', got: JSON.stringify(text), hint: `e.g. \`${key}: "8,16,32"\`` });
      else checkBatchSizes({ ...view, preferredBatchSizes: { value: r.sizes, path } }, out);
    } else if (!/^[1-9]\d{0,9}$/.test(text) || Number(text) > INT32_MAX) {
      out.add(path, { message: `annotation ${key} is not a whole number ≥ 1`, expected: "the most requests waiting for a batch, e.g. \"256\"", got: JSON.stringify(text), hint: `e.g. \`${key}: "256"\`` });
    }
  }
  const label = rawAt(raw, "metadata", "labels", KUEUE_QUEUE_LABEL);
  const annotation = annotations[KUEUE_QUEUE_LABEL];
  if (isSet(annotation) && isSet(label) && String(annotation) !== String(label)) {
    out.add(["metadata", "annotations", KUEUE_QUEUE_LABEL], { message: `names another queue than the label (${String(label)})`, expected: JSON.stringify(String(label)), got: describeValue(annotation), hint: "keep one of the two: the label, as Kueue reads it" });
  } else if (isSet(annotation) && !isSet(label) && !QUEUE.test(String(annotation))) {
    out.add(["metadata", "annotations", KUEUE_QUEUE_LABEL], { message: "is not a valid queue name", expected: "lowercase letters, digits, '-' and '.'", got: describeValue(annotation), hint: `e.g. \`${KUEUE_QUEUE_LABEL}: default\`` });
  }
  if (typeof label === "string" && !QUEUE.test(label)) {
    out.add(["metadata", "labels", KUEUE_QUEUE_LABEL], { message: "is not a valid queue name", expected: "lowercase letters, digits, '-' and '.'", got: JSON.stringify(label), hint: `e.g. \`${KUEUE_QUEUE_LABEL}: default\`` });
  }
}

function checkModel(model: Record<string, unknown>, out: Violations): void {
  const path = [...P, "model"];
  const format = rawAt(model, "modelFormat", "name");
  if (typeof format === "string" && format !== "onnx") {
    const near = closestMatch(format, ["onnx"]);
    out.add([...path, "modelFormat", "name"], {
      message: `${format} models are not served here: the platform serves onnx models`, expected: "onnx", got: JSON.stringify(format),
      hint: near !== undefined ? "did you mean `onnx`?" : `export the model to ONNX, or serve it yourself: one container under \`predictor.containers\` whose \`command\` ${OIP}`,
    });
  }
  const protocol = model["protocolVersion"];
  if (protocol === "v1") {
    out.add([...path, "protocolVersion"], { message: "v1 (KServe's TensorFlow-style `:predict` API) is not served: the platform speaks the Open Inference Protocol, KServe's v2", expected: "v2", got: '"v1"', hint: "write `protocolVersion: v2` or leave it out; clients call `/v2/models/NAME/infer`" });
  } else if (protocol === "grpc-v1" || protocol === "grpc-v2") {
    out.add([...path, "protocolVersion"], { message: "gRPC is not served: the platform speaks the Open Inference Protocol over HTTP (v2)", expected: "v2", got: JSON.stringify(protocol), hint: "write `protocolVersion: v2` or leave it out" });
  }
  if (format !== "onnx") return;
  if (!isSet(model["storageUri"])) requireStorageUri(out, [...path, "storageUri"]);
  for (const k of ["command", "args", "env", "workingDir"]) if (isSet(model[k])) refuseCustomOnly(out, [...path, k], k);
}

function checkContainer(c: unknown, out: Violations): void {
  if (!isRecord(c)) return;
  const path = [...P, "containers", 0];
  const command = c["command"];
  if (!isSet(command) || (Array.isArray(command) && command.length === 0)) requireCommand(out, [...path, "command"], isSet(c["image"]));
  const env = c["env"];
  if (Array.isArray(env)) {
    env.forEach((e, i) => {
      if (isRecord(e) && isSet(e["valueFrom"])) refuse(out, [...path, "env", i, "valueFrom"], "is not supported for a deployment: its variables take plain values for now", "write the `value`");
    });
  }
  checkEnvNames(env, [...path, "env"], out);
}

function check(raw: Record<string, unknown>, out: Violations): void {
  const spec = raw["spec"];
  const p = isRecord(spec) ? spec["predictor"] : undefined;
  const view: DeploymentView = {
    minReplicas: numberAt(raw, [...P, "minReplicas"]),
    maxReplicas: numberAt(raw, [...P, "maxReplicas"]),
    maxZeroIsUnset: true,
    maxBatchSize: numberAt(raw, [...P, "batcher", "maxBatchSize"]),
    defaultMaxBatchSize: DEPLOYMENT_DEFAULTS.batching.maxBatchSize,
  };
  checkMetadata(raw, isRecord(p) && isSet(p["batcher"]), view, out);
  if (!isRecord(spec)) return;
  for (const k of ["transformer", "explainer", "canary"] as const) if (isSet(spec[k])) refuse(out, ["spec", k], "is not supported yet", notYet[k]);
  if (!isRecord(p)) return;
  const legacy = LEGACY_FORMATS.filter((k) => isSet(p[k]));
  for (const k of legacy) {
    refuse(out, [...P, k], k === "onnx" ? "is KServe's older form of an onnx predictor" : `is KServe's older per-framework form, and ${k} models are not served here`,
      k === "onnx" ? "write `model: {modelFormat: {name: onnx}, storageUri: ...}` instead" : `export the model to ONNX and write \`model: {modelFormat: {name: onnx}, storageUri: ...}\`, or serve it yourself: one container under \`predictor.containers\` whose \`command\` ${OIP}`);
  }
  if (isSet(p["workerSpec"])) refuse(out, [...P, "workerSpec"], "is not supported: a replica runs on one machine", "remove `workerSpec`; ask for the GPUs one replica needs in its resources");
  if (isSet(p["storageUris"])) refuse(out, [...P, "storageUris"], "is not supported: a model is read from one location", "give it as `model.storageUri`");
  if (isSet(p["autoScaling"])) refuse(out, [...P, "autoScaling"], "is not supported: this autoscaler works on requests", "use `scaleMetric: concurrency` or `rps`, with `scaleTarget`");
  const metric = p["scaleMetric"];
  if (metric === "cpu" || metric === "memory") refuseResourceMetric(out, [...P, "scaleMetric"], metric);
  const model = p["model"];
  const containers = Array.isArray(p["containers"]) ? p["containers"] : [];
  if (isRecord(model)) checkModel(model, out);
  if (isRecord(model) && containers.length > 0) {
    refuse(out, [...P, "containers"], "cannot be given with `model`", "give `model` for an onnx model the platform serves, or one container running your own server: containers beside a model are not supported");
  } else if (!isRecord(model) && containers.length === 0 && legacy.length === 0) {
    refuse(out, P, "needs a `model` or one container", `add \`model: {modelFormat: {name: onnx}, storageUri: models://NAME@VERSION}\`, or one container whose \`command\` ${OIP}`, "model or containers");
  } else if (!isRecord(model)) {
    if (containers.length > 1) refuse(out, [...P, "containers", 1], "is a second container: a predictor here is one process", "keep the container that serves the model; run anything else as its own deployment or job");
    checkContainer(containers[0], out);
  }
  checkReplicas(view, out);
}

const k8sResources: Honoured = { limits: true, requests: true };
const containerHonoured: Honoured = { name: true, command: true, args: true, env: true, workingDir: true, resources: k8sResources, ports: true };
const honoured: Honoured = {
  apiVersion: true,
  kind: true,
  metadata: { name: true, namespace: true, labels: true, annotations: { [PREFERRED_BATCH_SIZES_ANNOTATION]: true, [MAX_QUEUE_SIZE_ANNOTATION]: true, [KUEUE_QUEUE_LABEL]: true } },
  spec: {
    predictor: {
      model: { name: true, modelFormat: { name: true }, storageUri: true, protocolVersion: true, resources: k8sResources },
      containers: { "[]": containerHonoured },
      minReplicas: true, maxReplicas: true, scaleTarget: true, scaleMetric: true, containerConcurrency: true, timeout: true, canaryTrafficPercent: true,
      batcher: true, priorityClassName: true,
    },
  },
  status: true,
};

type K8sResources = Parameters<typeof resourcesFromK8s>[0];

function resourcesOf(res: K8sResources, path: PathSegment[], ctx: DeploymentNormalizeContext): DeploymentSpec["resources"] {
  resourcesFromK8s(res, path, ctx); // checks each amount and request ≤ limit, warns resources other than these three
  const limits = res?.limits ?? {};
  const requests = res?.requests ?? {};
  return deploymentResources(limits["nvidia.com/gpu"] ?? requests["nvidia.com/gpu"], requests["cpu"] ?? limits["cpu"], requests["memory"] ?? limits["memory"]);
}

function batchingOf(doc: InferenceService): DeploymentBatching | undefined {
  const b = doc.spec.predictor.batcher;
  if (b === undefined || b === null) return undefined;
  const d = DEPLOYMENT_DEFAULTS.batching;
  const annotations = doc.metadata.annotations ?? {};
  const sizes = annotations[PREFERRED_BATCH_SIZES_ANNOTATION];
  const queue = annotations[MAX_QUEUE_SIZE_ANNOTATION];
  const parsed = sizes === undefined ? undefined : parseBatchSizes(String(sizes));
  return {
    maxBatchSize: b.maxBatchSize ?? d.maxBatchSize,
    maxQueueDelayMicroseconds: isSet(b.maxLatency) ? (b.maxLatency as number) * 1000 : d.maxQueueDelayMicroseconds,
    preferredBatchSizes: parsed?.ok === true ? parsed.sizes : [],
    maxQueueSize: queue === undefined ? d.maxQueueSize : Number(queue),
    queueTimeoutMicroseconds: isSet(b.timeout) ? (b.timeout as number) * 1_000_000 : d.queueTimeoutMicroseconds,
  };
}

function priorityOf(doc: InferenceService, labels: Record<string, string>, ctx: DeploymentNormalizeContext): string | undefined {
  const own = doc.spec.predictor.priorityClassName;
  const [name, path]: [string | undefined, PathSegment[]] = isSet(own) ? [own as string, [...P, "priorityClassName"]] : [labels[KUEUE_PRIORITY_LABEL], ["metadata", "labels", KUEUE_PRIORITY_LABEL]];
  if (name === undefined) return undefined;
  const known = priorityClassOf(name);
  if (known === undefined) warnAt(ctx, path, `priority class ${JSON.stringify(name)} is not known here: the deployment gets none (known: ${Object.keys(PRIORITY_CLASSES).join(", ")}, or an integer)`);
  return known;
}

function normalize(doc: InferenceService, ctx: DeploymentNormalizeContext): DeploymentSpec {
  const p = doc.spec.predictor;
  const labels = Object.fromEntries(Object.entries(doc.metadata.labels ?? {}).map(([k, v]) => [k, String(v)]));
  let model: DeploymentModel;
  let resources: DeploymentSpec["resources"];
  const containerPath: PathSegment[] = [...P, "containers", 0];
  const c = p.containers?.[0];
  if (isSet(p.model) || c === undefined) {
    const m = p.model;
    model = { format: "onnx", storageUri: m?.storageUri ?? "" };
    resources = resourcesOf(m?.resources, [...P, "model", "resources"], ctx);
  } else {
    model = { format: "custom", command: [...(c.command ?? [])] };
    if (isSet(c.args)) model.args = [...(c.args ?? [])];
    if (isSet(c.env)) model.env = (c.env ?? []).map((e) => ({ name: e.name, value: e.value ?? "" }));
    if (isSet(c.workingDir)) model.workingDir = c.workingDir as string;
    resources = resourcesOf(c.resources, [...containerPath, "resources"], ctx);
    if (isSet(c.ports) && (c.ports ?? []).length > 0) warnAt(ctx, [...containerPath, "ports"], "is ignored: the platform chooses the port and passes it in $PORT; serve on that port");
    checkExecStrings(model, { command: [...containerPath, "command"], args: [...containerPath, "args"], env: (i) => [...containerPath, "env", i] }, ctx.violations);
  }
  const minReplicas = p.minReplicas ?? DEPLOYMENT_DEFAULTS.minReplicas;
  const scaleMetric = (p.scaleMetric ?? DEPLOYMENT_DEFAULTS.scaleMetric) as DeploymentSpec["scaleMetric"];
  const spec: DeploymentSpec = {
    name: doc.metadata.name,
    team: doc.metadata.namespace ?? ctx.defaultTeam,
    model,
    resources,
    minReplicas,
    // KServe's maxReplicas 0 (its zero value) is "not set".
    maxReplicas: isSet(p.maxReplicas) && p.maxReplicas !== 0 ? (p.maxReplicas as number) : Math.max(minReplicas, 1),
    scaleMetric,
    scaleTarget: p.scaleTarget ?? DEPLOYMENT_DEFAULTS.scaleTarget[scaleMetric],
    containerConcurrency: p.containerConcurrency ?? DEPLOYMENT_DEFAULTS.containerConcurrency,
    timeoutSeconds: p.timeout ?? DEPLOYMENT_DEFAULTS.timeoutSeconds,
  };
  if (Object.keys(labels).length > 0) spec.labels = labels;
  if (isSet(p.canaryTrafficPercent)) spec.canaryTrafficPercent = p.canaryTrafficPercent as number;
  const batching = batchingOf(doc);
  if (batching !== undefined) spec.batching = batching;
  const priorityClassName = priorityOf(doc, labels, ctx);
  if (priorityClassName !== undefined) spec.priorityClassName = priorityClassName;
  const queue = labels[KUEUE_QUEUE_LABEL] ?? doc.metadata.annotations?.[KUEUE_QUEUE_LABEL];
  if (queue !== undefined) spec.queue = String(queue);
  reportIgnored(ctx, honoured);
  return spec;
}

export const inferenceServiceFormat: ManifestFormat<InferenceService, DeploymentSpec, DeploymentManifestSource, DeploymentNormalizeContext> = {
  source: "serving.kserve.io/v1beta1/InferenceService",
  apiVersion: "serving.kserve.io/v1beta1",
  kind: "InferenceService",
  schema: inferenceServiceSchema,
  hints,
  check,
  normalize,
};
