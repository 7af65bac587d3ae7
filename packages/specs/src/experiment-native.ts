/**
 * The native experiment, `apiVersion: switchyard/v1`, `kind: Experiment`: Katib's meaning in a shorter form.
 * Parameters are a map (a bare list is a categorical or discrete parameter), algorithms a name or `{name, settings}`,
 * trial counts one `trials:` mapping, and `trial:` the `spec` of a switchyard/v1 Job (or any whole trial manifest) in
 * which `${NAME}` is a parameter's value. It is what `experimentSpecToManifest` prints.
 */
import * as z from "zod";
import type { At, ExperimentContext, ExperimentDraft, ExperimentFormat, ParameterDraft, TrialDraft } from "./experiment-common.js";
import { buildAlgorithm, buildObjective, mapping, parsed } from "./experiment-common.js";
import { algorithmName, listValue, metricName, metricsFilter, numberLike, parameterName, settingName, settingValue } from "./experiment-fields.js";
import { collectorOf, refuseCollector } from "./experiment-collector.js";
import { trialParameterSchema, MAX_TRIAL_PARAMETERS } from "./experiment-katib.js";
import { buildParameter, parametersSetByAlgorithm } from "./experiment-parameters.js";
import type { MetricsCollector, ParameterType } from "./experiment-spec.js";
import {
  EXPERIMENT_DEFAULTS, MAX_ALGORITHM_SETTINGS, MAX_EXPERIMENT_NAME_LENGTH, MAX_EXPERIMENT_PARAMETERS, MAX_METRIC_NAMES, MAX_METRICS_FILTERS, MAX_PARALLEL_TRIALS,
  MAX_PARAMETER_LIST_LENGTH, MAX_TRIAL_COUNT,
} from "./experiment-spec.js";
import { dnsLabel, int, obj, opaque, queueName } from "./schema-kit.js";
import type { HintTable, PathSegment } from "./violations.js";

const maxKeys = (n: number, what: string) => (v: Record<string, unknown>, ctx: z.core.$RefinementCtx) => {
  if (Object.keys(v).length > n) ctx.addIssue({ code: "custom", message: `has ${Object.keys(v).length} ${what}, more than ${n}`, input: v, params: { expected: `at most ${n} ${what}`, hint: `keep at most ${n}` } });
};

const algorithmForm = () =>
  z.union([algorithmName(), obj({ name: algorithmName(), settings: z.record(settingName(), settingValue()).superRefine(maxKeys(MAX_ALGORITHM_SETTINGS, "settings")).optional() })]);

const parameterForm = z.union([
  z.array(listValue()).max(MAX_PARAMETER_LIST_LENGTH),
  obj({
    type: z.enum(["double", "int", "discrete", "categorical"]).optional(),
    min: numberLike().optional(),
    max: numberLike().optional(),
    step: numberLike().optional(),
    list: z.array(listValue()).max(MAX_PARAMETER_LIST_LENGTH).optional(),
    log: z.boolean().optional(),
  }),
]);

const objectiveSchema = obj({
  metric: metricName(),
  type: z.enum(["minimize", "maximize"]),
  goal: z.number().optional(),
  additionalMetrics: z.array(metricName()).max(MAX_METRIC_NAMES).optional(),
  strategies: z.record(metricName(), z.enum(["min", "max", "latest"])).optional(),
});

const COLLECTOR_KINDS = ["StdOut", "File", "None", "TensorFlowEvent", "PrometheusMetric", "Custom", "Push"] as const;
const collectorSchema = z.union([
  z.enum(COLLECTOR_KINDS),
  obj({ kind: z.enum(COLLECTOR_KINDS), path: z.string().optional(), format: z.enum(["TEXT", "JSON"]).optional(), filters: z.array(metricsFilter()).max(MAX_METRICS_FILTERS).optional() }),
]);

export const nativeExperimentManifestSchema = obj({
  apiVersion: z.literal("switchyard/v1"),
  kind: z.literal("Experiment"),
  metadata: obj({
    name: dnsLabel("experiment name", MAX_EXPERIMENT_NAME_LENGTH),
    team: dnsLabel("team name").optional(),
    // What printing an experiment adds besides the manifest: accepted back and ignored (the platform sets them).
    uid: z.string().optional(),
    creationTimestamp: z.string().optional(),
  }),
  status: z.unknown().optional(),
  spec: obj({
    queue: queueName().optional(),
    objective: objectiveSchema,
    algorithm: algorithmForm(),
    earlyStopping: algorithmForm().optional(),
    parameters: z.record(parameterName("parameter"), parameterForm).superRefine(maxKeys(MAX_EXPERIMENT_PARAMETERS, "parameters")),
    trialParameters: z.array(trialParameterSchema).max(MAX_TRIAL_PARAMETERS).optional(),
    trial: opaque(),
    primaryContainerName: z.string().min(1).optional(),
    trials: obj({ parallel: int().min(1).max(MAX_PARALLEL_TRIALS).optional(), max: int().min(1).max(MAX_TRIAL_COUNT).optional(), maxFailed: int().min(0).max(MAX_TRIAL_COUNT).optional() }).optional(),
    resumePolicy: z.enum(["Never", "LongRunning", "FromVolume"]).optional(),
    metricsCollector: collectorSchema.optional(),
  }),
});

export type NativeExperimentManifest = z.input<typeof nativeExperimentManifestSchema>;
type Native = z.output<typeof nativeExperimentManifestSchema>;

const hints: HintTable = {
  metadata: "add `metadata:` with `name: my-experiment`",
  "metadata.name": "add `name: my-experiment`: an experiment is addressed by its name, and names its trials after it",
  "metadata.namespace": "the owning team is `metadata.team` in this format",
  spec: "add `spec:` with objective, algorithm, parameters and trial",
  "spec.objective": "add `objective: {metric: loss, type: minimize}`",
  "spec.objective.goal": "write the goal as a number without quotes, e.g. `goal: 0.05`",
  "spec.objective.objectiveMetricName": "this format calls it `metric`",
  "spec.algorithm": "add `algorithm: random` (or tpe, grid, …), or `algorithm: {name: tpe, settings: {n_startup_trials: 5}}`",
  "spec.parameters": "add `parameters:`, e.g. `lr: {type: double, min: 0.001, max: 0.1, log: true}`",
  "spec.trial": "add `trial:` with the spec of the job each trial runs, e.g. `{command: [python, train.py, --lr, \"${lr}\"]}`",
  "spec.trialTemplate": "this format calls it `trial` (the job's spec), with `${NAME}` for a parameter's value",
  "spec.parallelTrialCount": "write `trials: {parallel: 3}`",
  "spec.maxTrialCount": "write `trials: {max: 12}`",
  "spec.maxFailedTrialCount": "write `trials: {maxFailed: 3}`",
  "spec.metricsCollectorSpec": "this format calls it `metricsCollector`, e.g. `metricsCollector: StdOut`",
};

const at = <T>(value: T, path: PathSegment[]): At<T> => ({ value, path });
const P: PathSegment[] = ["spec", "parameters"];

function algorithmAt(raw: unknown, key: "algorithm" | "earlyStopping", ctx: ExperimentContext) {
  const a = parsed(algorithmForm(), raw);
  if (a === undefined) return undefined;
  if (typeof a === "string") return buildAlgorithm(a, [], ["spec", key], ctx.violations);
  const settings = Object.entries(a.settings ?? {}).map(([k, v]) => ({ name: k, value: v, path: ["spec", key, "settings", k], namePath: ["spec", key, "settings", k] }));
  return buildAlgorithm(a.name, settings, ["spec", key, "name"], ctx.violations);
}

/** A list of numbers is discrete, any other list categorical. */
function listType(list: readonly unknown[]): ParameterType {
  return list.length > 0 && list.every((v) => typeof v === "number") ? "discrete" : "categorical";
}

function parametersOf(raw: unknown, setByAlgorithm: Set<string>, ctx: ExperimentContext): { parameters: ParameterDraft[]; complete: boolean } {
  const m = mapping(raw);
  if (m === undefined) return { parameters: [], complete: false };
  const out = ctx.violations;
  let complete = true;
  if (Object.keys(m).length === 0) {
    out.add(P, { message: "has no parameter: an experiment searches over its parameters", expected: "at least one parameter", hint: "e.g. `lr: {type: double, min: 0.001, max: 0.1}`" });
    complete = false;
  }
  const parameters = Object.entries(m).flatMap(([name, v]): ParameterDraft[] => {
    const path = [...P, name];
    const form = parsed(parameterForm, v);
    const f = form === undefined ? undefined : Array.isArray(form) ? { list: form } : form;
    const type = f?.type ?? (f?.list !== undefined ? listType(f.list) : undefined);
    if (parsed(parameterName("parameter"), name) === undefined || f === undefined || type === undefined) {
      complete = false;
      if (f !== undefined && type === undefined) {
        out.add(path, { message: `parameter ${name} needs a type`, expected: "double, int, discrete or categorical", hint: `e.g. \`${name}: {type: double, min: 0.001, max: 0.1}\` (a list alone is categorical, or discrete when all its values are numbers)`, at: "key" });
      }
      return parsed(parameterName("parameter"), name) === undefined ? [] : [{ name, path }];
    }
    const value = buildParameter({
      name, type, space: path, min: f.min, max: f.max, step: f.step, list: f.list, ...(Array.isArray(form) ? { listPath: path } : {}), ...(f.log !== undefined ? { log: f.log } : {}), logPath: [...path, "log"], setByAlgorithm: setByAlgorithm.has(name),
    }, out);
    if (value === undefined) complete = false;
    return [{ name, path, ...(value !== undefined ? { value } : {}) }];
  });
  return { parameters, complete };
}

function metricsCollectorOf(raw: unknown, ctx: ExperimentContext): At<MetricsCollector> | undefined {
  const M: PathSegment[] = ["spec", "metricsCollector"];
  const paths = { at: M, path: [...M, "path"], filters: [...M, "filters"] };
  if (raw === undefined) return collectorOf({ kind: EXPERIMENT_DEFAULTS.metricsCollector }, paths, ctx.violations);
  const rawKind = typeof raw === "string" ? raw : mapping(raw)?.["kind"];
  if (typeof rawKind === "string" && (COLLECTOR_KINDS as readonly string[]).includes(rawKind) && !["StdOut", "File", "None"].includes(rawKind)) {
    return refuseCollector(rawKind, typeof raw === "string" ? M : [...M, "kind"], ctx.violations);
  }
  const c = parsed(collectorSchema, raw);
  if (c === undefined) return undefined;
  const f = typeof c === "string" ? { kind: c } : c;
  if (f.kind !== "StdOut" && f.kind !== "File" && f.kind !== "None") return undefined;
  const extra = typeof c === "string" ? [] : (["path", "format", "filters"] as const).filter((k) => c[k] !== undefined && (f.kind === "None" || (f.kind === "StdOut" && k !== "filters")));
  for (const k of extra) {
    ctx.violations.add([...M, k], { message: `does not go with the ${f.kind} collector`, expected: k === "filters" ? "filters with StdOut or File" : `${k} with File`, hint: `remove it, or use \`kind: File\``, at: "key" });
  }
  if (extra.length > 0) return undefined;
  return collectorOf(typeof c === "string" ? { kind: f.kind } : { kind: f.kind, path: c.path, format: c.format, filters: c.filters }, paths, ctx.violations);
}

function trialOf(raw: unknown, primary: unknown): TrialDraft | undefined {
  const t = mapping(raw);
  if (t === undefined) return undefined;
  const T: PathSegment[] = ["spec", "trial"];
  const primaryAt = typeof primary === "string" && primary !== "" ? { primaryContainerName: at(primary, ["spec", "primaryContainerName"]) } : {};
  // A whole manifest (a PyTorchJob, a batch/v1 Job, a switchyard/v1 Job with metadata), or a switchyard/v1 Job's spec.
  if ("apiVersion" in t || "kind" in t) return { template: t, toSource: (p) => [...T, ...p], path: T, shortForm: true, ...primaryAt };
  return { template: { apiVersion: "switchyard/v1", kind: "Job", spec: t }, toSource: (p) => (p[0] === "spec" ? [...T, ...p.slice(1)] : T), path: T, shortForm: true, ...primaryAt };
}

function draft(root: Record<string, unknown>, ctx: ExperimentContext): ExperimentDraft {
  const out = ctx.violations;
  const meta = mapping(root["metadata"]);
  const spec = mapping(root["spec"]) ?? {};
  const O: PathSegment[] = ["spec", "objective"];
  const o = parsed(objectiveSchema, spec["objective"]);
  const objective = o === undefined ? undefined : buildObjective({
    type: o.type, ...(o.goal !== undefined ? { goal: o.goal } : {}), metric: o.metric,
    additional: (o.additionalMetrics ?? []).map((m, i) => at(m, [...O, "additionalMetrics", i])),
    strategies: Object.entries(o.strategies ?? {}).map(([name, value]) => ({ name, value, path: [...O, "strategies", name] })),
  }, out);
  const algorithm = algorithmAt(spec["algorithm"], "algorithm", ctx);
  const earlyStopping = spec["earlyStopping"] === undefined ? undefined : algorithmAt(spec["earlyStopping"], "earlyStopping", ctx);
  const { parameters, complete } = parametersOf(spec["parameters"], parametersSetByAlgorithm(algorithm?.settings ?? {}), ctx);
  const explicit = spec["trialParameters"];
  const d: ExperimentDraft = {
    team: parsed(dnsLabel("team name"), meta?.["team"]) ?? ctx.options.defaultTeam ?? EXPERIMENT_DEFAULTS.team,
    objectivePath: O,
    parameters,
    parametersComplete: complete,
    trialParametersImplied: explicit === undefined,
    trialParametersComplete: Array.isArray(explicit) ? explicit.every((e) => parsed(trialParameterSchema, e) !== undefined) : Object.keys(mapping(spec["parameters"]) ?? {}).every((k) => parsed(parameterName("parameter"), k) !== undefined),
    trialParameters: Array.isArray(explicit)
      ? explicit.flatMap((e, i) => {
          const p = parsed(trialParameterSchema, e);
          return p === undefined ? [] : [{ name: p.name, reference: p.reference, ...(typeof p.description === "string" ? { description: p.description } : {}), path: ["spec", "trialParameters", i] }];
        })
      : parameters.map((p) => ({ name: p.name, reference: p.name, path: p.path })),
    resumePolicy: parsed(z.enum(["Never", "LongRunning", "FromVolume"]), spec["resumePolicy"]) ?? EXPERIMENT_DEFAULTS.resumePolicy,
    ignored: [],
  };
  const name = parsed(dnsLabel("experiment name", MAX_EXPERIMENT_NAME_LENGTH), meta?.["name"]);
  if (name !== undefined) d.name = name;
  const queue = parsed(queueName(), spec["queue"]);
  if (queue !== undefined) d.queue = queue;
  if (objective !== undefined) d.objective = objective;
  if (algorithm !== undefined) d.algorithm = algorithm;
  if (earlyStopping !== undefined) d.earlyStopping = earlyStopping;
  const trials = mapping(spec["trials"]);
  for (const [k, key, min, max] of [["parallelTrialCount", "parallel", 1, MAX_PARALLEL_TRIALS], ["maxTrialCount", "max", 1, MAX_TRIAL_COUNT], ["maxFailedTrialCount", "maxFailed", 0, MAX_TRIAL_COUNT]] as const) {
    const n = parsed(int().min(min).max(max), trials?.[key]);
    if (n !== undefined) d[k] = at(n, ["spec", "trials", key]);
  }
  const mc = metricsCollectorOf(spec["metricsCollector"], ctx);
  if (mc !== undefined) d.metricsCollector = mc;
  const trial = trialOf(spec["trial"], spec["primaryContainerName"]);
  if (trial !== undefined) d.trial = trial;
  return d;
}

export const nativeExperimentFormat: ExperimentFormat<Native> = {
  source: "native",
  apiVersion: "switchyard/v1",
  kind: "Experiment",
  what: "the experiment manifest",
  schema: nativeExperimentManifestSchema,
  hints,
  draft,
};
