/**
 * Katib's `kubeflow.org/v1beta1` Experiment, as written for Katib. Every field of its schema parses (a misspelt key is
 * an error); objective, algorithm, early stopping, parameters, trial template, trial counts, resume policy and the
 * StdOut, File and None metrics collectors are honoured; what has no meaning here is listed in one warning; and what
 * cannot work here (neural architecture search, ConfigMap templates, the other collectors) is refused with why.
 */
import * as z from "zod";
import type { At, ExperimentContext, ExperimentDraft, ExperimentFormat, ParameterDraft, TrialParameterDraft } from "./experiment-common.js";
import { buildAlgorithm, buildObjective, mapping, parsed } from "./experiment-common.js";
import { algorithmName, listValue, metricName, metricsFilter, numberLike, parameterName, settingName, settingValue } from "./experiment-fields.js";
import { buildParameter, parametersSetByAlgorithm } from "./experiment-parameters.js";
import type { MetricsCollector } from "./experiment-spec.js";
import {
  EXPERIMENT_DEFAULTS, MAX_ALGORITHM_SETTINGS, MAX_EXPERIMENT_NAME_LENGTH, MAX_EXPERIMENT_PARAMETERS, MAX_METRIC_NAMES, MAX_METRICS_FILTERS, MAX_PARALLEL_TRIALS,
  MAX_PARAMETER_LIST_LENGTH, MAX_TRIAL_COUNT,
} from "./experiment-spec.js";
import { collectorOf, refuseCollector } from "./experiment-collector.js";
import { ignoredFieldPaths } from "./ignored-fields.js";
import type { Honoured } from "./ignored-fields.js";
import { httpGetActionSchema, objectMetaShape } from "./k8s-meta-schema.js";
import { containerSchema } from "./k8s-pod-schema.js";
import { KUEUE_QUEUE_LABEL } from "./normalize-common.js";
import { bool, dnsLabel, int, labelMap, obj, opaque, opt, queueName, str } from "./schema-kit.js";
import type { HintTable, PathSegment } from "./violations.js";

const settingsSchema = z.array(obj({ name: settingName(), value: opt(settingValue()) })).max(MAX_ALGORITHM_SETTINGS);
const algorithmSchema = obj({ algorithmName: algorithmName(), algorithmSettings: opt(settingsSchema) });

const objectiveSchema = obj({
  type: z.enum(["minimize", "maximize"]),
  goal: opt(z.number()),
  objectiveMetricName: metricName(),
  additionalMetricNames: opt(z.array(metricName()).max(MAX_METRIC_NAMES)),
  metricStrategies: opt(z.array(obj({ name: metricName(), value: z.enum(["min", "max", "latest"]) })).max(MAX_METRIC_NAMES + 1)),
});

const parameterSchema = obj({
  name: parameterName("parameter"),
  parameterType: z.enum(["double", "int", "discrete", "categorical"]),
  feasibleSpace: opt(obj({
    min: opt(numberLike()),
    max: opt(numberLike()),
    step: opt(numberLike()),
    list: opt(z.array(listValue()).max(MAX_PARAMETER_LIST_LENGTH)),
    distribution: opt(z.enum(["uniform", "logUniform", "normal", "logNormal"])),
  })),
});

/** Shared with the native format, which may list trial parameters Katib's way. */
export const trialParameterSchema = obj({ name: parameterName("trial parameter"), description: opt(str()), reference: z.string().min(1).max(253) });
export const MAX_TRIAL_PARAMETERS = 2 * MAX_EXPERIMENT_PARAMETERS;

const COLLECTOR_KINDS = ["StdOut", "File", "TensorFlowEvent", "PrometheusMetric", "Custom", "None", "Push"] as const;

const metricsCollectorSpecSchema = obj({
  source: opt(obj({
    httpGet: opt(httpGetActionSchema),
    fileSystemPath: opt(obj({ path: opt(str()), kind: opt(z.enum(["File", "Directory"])), format: opt(z.enum(["TEXT", "JSON"])) })),
    filter: opt(obj({ metricsFormat: opt(z.array(metricsFilter()).max(MAX_METRICS_FILTERS)) })),
  })),
  collector: opt(obj({ kind: z.enum(COLLECTOR_KINDS), customCollector: opt(containerSchema) })),
});

export const katibExperimentSchema = obj({
  apiVersion: z.literal("kubeflow.org/v1beta1"),
  kind: z.literal("Experiment"),
  metadata: obj({ ...objectMetaShape, name: dnsLabel("experiment name", MAX_EXPERIMENT_NAME_LENGTH), namespace: opt(dnsLabel("namespace")), labels: opt(labelMap()) }),
  spec: obj({
    parameters: opt(z.array(parameterSchema).max(MAX_EXPERIMENT_PARAMETERS)),
    objective: objectiveSchema,
    algorithm: algorithmSchema,
    earlyStopping: opt(algorithmSchema),
    trialTemplate: obj({
      retain: opt(bool()),
      trialSpec: opt(opaque()),
      configMap: opt(obj({ configMapName: opt(str()), configMapNamespace: opt(str()), templatePath: opt(str()) })),
      trialParameters: opt(z.array(trialParameterSchema).max(MAX_TRIAL_PARAMETERS)),
      primaryPodLabels: opt(z.record(z.string(), z.string())),
      primaryContainerName: opt(z.string().min(1)),
      successCondition: opt(str()),
      failureCondition: opt(str()),
    }),
    parallelTrialCount: opt(int().min(1).max(MAX_PARALLEL_TRIALS)),
    maxTrialCount: opt(int().min(1).max(MAX_TRIAL_COUNT)),
    maxFailedTrialCount: opt(int().min(0).max(MAX_TRIAL_COUNT)),
    metricsCollectorSpec: opt(metricsCollectorSpecSchema),
    nasConfig: opt(opaque()),
    resumePolicy: opt(z.enum(["Never", "LongRunning", "FromVolume"])),
  }),
  status: opt(opaque()),
});
type KatibExperiment = z.output<typeof katibExperimentSchema>;

const hints: HintTable = {
  "metadata.name": "add `name: my-experiment`: an experiment is addressed by its name, and names its trials after it",
  spec: "add `spec:` with objective, algorithm, parameters and trialTemplate",
  "spec.objective": "add `objective: {type: minimize, objectiveMetricName: loss}`",
  "spec.objective.goal": "write the goal as a number without quotes, e.g. `goal: 0.99`",
  "spec.objective.metricName": "Katib calls it `objectiveMetricName`",
  "spec.algorithm": "add `algorithm: {algorithmName: random}`",
  "spec.algorithm.name": "Katib calls it `algorithmName`",
  "spec.earlyStopping.name": "Katib calls it `algorithmName`",
  "spec.parameters[].type": "Katib calls it `parameterType`",
  "spec.parameters[].min": "put it under `feasibleSpace`",
  "spec.parameters[].max": "put it under `feasibleSpace`",
  "spec.parameters[].list": "put it under `feasibleSpace`",
  "spec.trialTemplate": "add `trialTemplate:` with `trialParameters` and the `trialSpec` each trial runs",
  "spec.trialTemplate.trialParameters[].reference": "name the parameter it takes its value from, e.g. `reference: lr`",
};

const METRICS: PathSegment[] = ["spec", "metricsCollectorSpec"];

function collectorHonoured(mc: unknown): Honoured {
  const kind = mapping(mapping(mc)?.["collector"])?.["kind"] ?? "StdOut";
  if (kind === "StdOut") return { collector: { kind: true }, source: { filter: true } };
  if (kind === "File") return { collector: { kind: true }, source: { fileSystemPath: true, filter: true } };
  if (kind === "None") return { collector: { kind: true } };
  return true; // refused with why, not ignored
}

const honoured: Honoured = {
  apiVersion: true,
  kind: true,
  // generateName is refused (an experiment is addressed by its name); Kueue's queue label is the experiment's queue.
  metadata: { name: true, generateName: true, namespace: true, labels: { [KUEUE_QUEUE_LABEL]: true } },
  spec: {
    parameters: true, objective: true, algorithm: true, earlyStopping: true, parallelTrialCount: true, maxTrialCount: true, maxFailedTrialCount: true,
    resumePolicy: true, nasConfig: true, metricsCollectorSpec: collectorHonoured,
    // The trialSpec's own fields are the job parser's to list; successCondition, failureCondition, retain and primaryPodLabels mean nothing here.
    trialTemplate: { primaryContainerName: true, trialParameters: true, trialSpec: true, configMap: true },
  },
  status: true,
};

const at = <T>(value: T, path: PathSegment[]): At<T> => ({ value, path });

function parametersOf(spec: Record<string, unknown>, setByAlgorithm: Set<string>, ctx: ExperimentContext): { parameters: ParameterDraft[]; complete: boolean } {
  const raw = spec["parameters"];
  const out = ctx.violations;
  if (!Array.isArray(raw) || raw.length === 0) {
    if (spec["nasConfig"] === undefined || spec["nasConfig"] === null) {
      out.add(["spec", "parameters"], { message: "needs at least one parameter: an experiment searches over its parameters", expected: "a list of parameters", hint: "e.g. `parameters: [{name: lr, parameterType: double, feasibleSpace: {min: \"0.001\", max: \"0.1\"}}]`", at: "key" });
    }
    return { parameters: [], complete: false };
  }
  let complete = true;
  const parameters = raw.flatMap((e, i): ParameterDraft[] => {
    const path: PathSegment[] = ["spec", "parameters", i];
    const name = parsed(parameterName("parameter"), mapping(e)?.["name"]);
    const p = parsed(parameterSchema, e);
    if (name === undefined || p === undefined) {
      complete = false;
      return name === undefined ? [] : [{ name, path: [...path, "name"] }];
    }
    const space: PathSegment[] = [...path, "feasibleSpace"];
    const fs = p.feasibleSpace ?? {};
    const d = fs.distribution;
    if (d === "normal" || d === "logNormal") {
      out.add([...space, "distribution"], {
        message: `${d} is not a distribution the search algorithms here sample from`, expected: "uniform or logUniform", got: JSON.stringify(d),
        hint: "use `uniform`, or `logUniform` for a parameter that spans orders of magnitude (learning rates)",
      });
    }
    const value = buildParameter({
      name, type: p.parameterType, space, min: fs.min, max: fs.max, step: fs.step, list: fs.list ?? undefined,
      ...(d === "uniform" || d === "logUniform" ? { log: d === "logUniform" } : {}), logPath: [...space, "distribution"], setByAlgorithm: setByAlgorithm.has(name),
    }, out);
    if (value === undefined || d === "normal" || d === "logNormal") complete = false;
    return [{ name, path: [...path, "name"], ...(value !== undefined ? { value } : {}) }];
  });
  return { parameters, complete };
}

function metricsCollectorOf(spec: Record<string, unknown>, ctx: ExperimentContext): At<MetricsCollector> | undefined {
  const raw = spec["metricsCollectorSpec"];
  const paths = { at: METRICS, path: [...METRICS, "source", "fileSystemPath", "path"], filters: [...METRICS, "source", "filter", "metricsFormat"] };
  if (raw === undefined || raw === null) return collectorOf({ kind: EXPERIMENT_DEFAULTS.metricsCollector }, paths, ctx.violations);
  // A collector that cannot work here is refused whatever else is wrong with the spec.
  const rawKind = mapping(mapping(raw)?.["collector"])?.["kind"];
  if (typeof rawKind === "string" && (COLLECTOR_KINDS as readonly string[]).includes(rawKind) && !["StdOut", "File", "None"].includes(rawKind)) {
    return refuseCollector(rawKind, [...METRICS, "collector", "kind"], ctx.violations);
  }
  const mc = parsed(metricsCollectorSpecSchema, raw);
  if (mc === undefined) return undefined;
  const kind = mc.collector?.kind ?? EXPERIMENT_DEFAULTS.metricsCollector;
  const fsp = mc.source?.fileSystemPath;
  if (kind !== "StdOut" && kind !== "File" && kind !== "None") return undefined;
  if (kind === "File" && fsp?.kind === "Directory") {
    ctx.violations.add([...METRICS, "source", "fileSystemPath", "kind"], { message: "is a directory: the File collector reads one file", expected: "File", got: '"Directory"', hint: "write `kind: File` and the file's path" });
    return undefined;
  }
  return collectorOf({ kind, path: fsp?.path ?? undefined, format: fsp?.format ?? undefined, filters: mc.source?.filter?.metricsFormat ?? undefined }, paths, ctx.violations);
}

function draft(root: Record<string, unknown>, ctx: ExperimentContext): ExperimentDraft {
  const out = ctx.violations;
  const meta = mapping(root["metadata"]);
  const spec = mapping(root["spec"]) ?? {};
  if (meta?.["generateName"] !== undefined && meta["generateName"] !== null) {
    out.add(["metadata", "generateName"], { message: "is not supported for an experiment", expected: "metadata.name", hint: "an experiment is addressed by its name, and names its trials after it: write `name: my-experiment`", at: "key" });
  }
  const labels = mapping(meta?.["labels"]);
  const queueLabel = labels?.[KUEUE_QUEUE_LABEL];
  const queue = parsed(queueName(), queueLabel);
  if (queueLabel !== undefined && queue === undefined) {
    out.add(["metadata", "labels", KUEUE_QUEUE_LABEL], { message: "is not a valid queue name", expected: "lowercase letters, digits, '-' and '.'", got: JSON.stringify(queueLabel), hint: `e.g. \`${KUEUE_QUEUE_LABEL}: default\`` });
  }
  const o = parsed(objectiveSchema, spec["objective"]);
  const O: PathSegment[] = ["spec", "objective"];
  const objective = o === undefined ? undefined : buildObjective({
    type: o.type, ...(o.goal !== undefined && o.goal !== null ? { goal: o.goal } : {}), metric: o.objectiveMetricName,
    additional: (o.additionalMetricNames ?? []).map((m, i) => at(m, [...O, "additionalMetricNames", i])),
    strategies: (o.metricStrategies ?? []).map((s, i) => ({ name: s.name, value: s.value, path: [...O, "metricStrategies", i, "name"] })),
  }, out);
  const algorithmAt = (key: "algorithm" | "earlyStopping") => {
    const a = parsed(algorithmSchema, spec[key]);
    if (a === undefined) return undefined;
    const settings = (a.algorithmSettings ?? []).map((s, i) => ({ name: s.name, value: s.value ?? "", path: ["spec", key, "algorithmSettings", i, "value"], namePath: ["spec", key, "algorithmSettings", i, "name"] }));
    return buildAlgorithm(a.algorithmName, settings, ["spec", key, "algorithmName"], out);
  };
  const algorithm = algorithmAt("algorithm");
  const earlyStopping = algorithmAt("earlyStopping");
  const { parameters, complete } = parametersOf(spec, parametersSetByAlgorithm(algorithm?.settings ?? {}), ctx);
  if (spec["nasConfig"] !== undefined && spec["nasConfig"] !== null) {
    out.add(["spec", "nasConfig"], { message: "is not supported: this platform tunes hyperparameters, not network architectures", hint: "search the architecture's choices as parameters (e.g. a categorical `num-layers`), and remove `nasConfig`", at: "key" });
  }
  const d: ExperimentDraft = {
    team: parsed(dnsLabel("namespace"), meta?.["namespace"]) ?? ctx.options.defaultTeam ?? EXPERIMENT_DEFAULTS.team,
    objectivePath: O,
    parameters,
    parametersComplete: complete,
    trialParametersImplied: false,
    trialParametersComplete: true,
    resumePolicy: parsed(z.enum(["Never", "LongRunning", "FromVolume"]), spec["resumePolicy"]) ?? EXPERIMENT_DEFAULTS.resumePolicy,
    ignored: ignoredFieldPaths(root, honoured),
  };
  const name = parsed(dnsLabel("experiment name", MAX_EXPERIMENT_NAME_LENGTH), meta?.["name"]);
  if (name !== undefined) d.name = name;
  if (queue !== undefined) d.queue = queue;
  if (objective !== undefined) d.objective = objective;
  if (algorithm !== undefined) d.algorithm = algorithm;
  if (earlyStopping !== undefined) d.earlyStopping = earlyStopping;
  for (const [k, min, max] of [["parallelTrialCount", 1, MAX_PARALLEL_TRIALS], ["maxTrialCount", 1, MAX_TRIAL_COUNT], ["maxFailedTrialCount", 0, MAX_TRIAL_COUNT]] as const) {
    const n = parsed(int().min(min).max(max), spec[k]);
    if (n !== undefined) d[k] = at(n, ["spec", k]);
  }
  const mc = metricsCollectorOf(spec, ctx);
  if (mc !== undefined) d.metricsCollector = mc;
  trialTemplateOf(spec, d, ctx);
  return d;
}

function trialTemplateOf(spec: Record<string, unknown>, d: ExperimentDraft, ctx: ExperimentContext): void {
  const T: PathSegment[] = ["spec", "trialTemplate"];
  const tt = mapping(spec["trialTemplate"]);
  if (tt === undefined) return;
  const out = ctx.violations;
  if (tt["configMap"] !== undefined && tt["configMap"] !== null) {
    out.add([...T, "configMap"], {
      message: "is not supported: a ConfigMap lives in a Kubernetes cluster, which this platform does not read", expected: "trialSpec", at: "key",
      hint: "paste the template itself under `trialTemplate.trialSpec`",
    });
  }
  const tps = tt["trialParameters"];
  d.trialParameters = Array.isArray(tps)
    ? tps.flatMap((e, i): TrialParameterDraft[] => {
        const p = parsed(trialParameterSchema, e);
        if (p === undefined) d.trialParametersComplete = false;
        if (p === undefined) return [];
        return [{ name: p.name, reference: p.reference, ...(typeof p.description === "string" ? { description: p.description } : {}), path: [...T, "trialParameters", i] }];
      })
    : [];
  const trialSpec = mapping(tt["trialSpec"]);
  if (trialSpec === undefined) {
    if (tt["trialSpec"] === undefined || tt["trialSpec"] === null) {
      out.add([...T, "trialSpec"], { message: "is required: it is the job each trial runs", expected: "a PyTorchJob, a batch/v1 Job or a switchyard/v1 Job", hint: "add `trialSpec:` with e.g. `apiVersion: batch/v1`, `kind: Job` and its pod template", at: "key" });
    }
    return;
  }
  const primary = tt["primaryContainerName"];
  d.trial = {
    template: trialSpec,
    toSource: (p) => [...T, "trialSpec", ...p],
    path: [...T, "trialSpec"],
    shortForm: false,
    ...(typeof primary === "string" && primary !== "" ? { primaryContainerName: at(primary, [...T, "primaryContainerName"]) } : {}),
  };
}

export const katibExperimentFormat: ExperimentFormat<KatibExperiment> = {
  source: "katib",
  apiVersion: "kubeflow.org/v1beta1",
  kind: "Experiment",
  what: "the Experiment",
  schema: katibExperimentSchema,
  hints,
  draft,
};
