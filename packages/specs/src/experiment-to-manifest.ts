/**
 * An ExperimentSpec back to the native manifest (`switchyard/v1` Experiment) as YAML, with every default written out:
 * what `get -o yaml` prints, and what `parseExperimentManifest` reads back to the same ExperimentSpec, whichever
 * format the experiment was first written in.
 */
import { stringify } from "yaml";
import type { NativeExperimentManifest } from "./experiment-native.js";
import type { ExperimentAlgorithm, ExperimentParameter, ExperimentSpec, MetricsCollector } from "./experiment-spec.js";

type NativeSpec = NativeExperimentManifest["spec"];
type NativeParameter = Exclude<NativeSpec["parameters"][string], readonly unknown[]>;

function parameterToManifest(p: ExperimentParameter): NativeParameter {
  if (p.type === "discrete") return { type: p.type, list: (p.list ?? []).map(Number) };
  if (p.type === "categorical") return { type: p.type, list: [...(p.list ?? [])] };
  const out: NativeParameter = { type: p.type };
  if (p.min !== undefined) out.min = p.min;
  if (p.max !== undefined) out.max = p.max;
  if (p.step !== undefined) out.step = p.step;
  if (p.log !== undefined) out.log = p.log;
  return out;
}

function algorithmToManifest(a: ExperimentAlgorithm): NativeSpec["algorithm"] {
  return Object.keys(a.settings).length === 0 ? a.name : { name: a.name, settings: { ...a.settings } };
}

function collectorToManifest(c: MetricsCollector): NonNullable<NativeSpec["metricsCollector"]> {
  if (c.kind === "None") return "None";
  if (c.kind === "StdOut") return { kind: c.kind, filters: [...c.filters] };
  return c.format === "JSON" ? { kind: c.kind, path: c.path, format: c.format } : { kind: c.kind, path: c.path, format: c.format, filters: [...c.filters] };
}

/** The trial parameters the native form implies when it lists none: one per parameter, of the same name. */
function impliedTrialParameters(spec: ExperimentSpec): boolean {
  const tps = spec.trialTemplate.trialParameters;
  return tps.length === spec.parameters.length && tps.every((tp, i) => tp.name === spec.parameters[i]?.name && tp.reference === tp.name && tp.description === undefined);
}

/** The native manifest of an experiment as an object, ready for `YAML.stringify` or JSON. */
export function experimentSpecToManifestObject(spec: ExperimentSpec): NativeExperimentManifest {
  const o = spec.objective;
  const objective: NativeSpec["objective"] = { metric: o.metric, type: o.type };
  if (o.goal !== undefined) objective.goal = o.goal;
  objective.additionalMetrics = [...o.additionalMetrics];
  objective.strategies = { ...o.strategies };
  const t = spec.trialTemplate;
  const keys = Object.keys(t.spec);
  const body = t.format === "native" && keys.length === 3 && ["apiVersion", "kind", "spec"].every((k) => keys.includes(k));
  const trial = body ? t.spec["spec"] : t.spec;
  const out: NativeSpec = {
    objective,
    algorithm: algorithmToManifest(spec.algorithm),
    parameters: Object.fromEntries(spec.parameters.map((p) => [p.name, parameterToManifest(p)])),
    trial: trial as Record<string, unknown>,
  };
  if (spec.queue !== undefined) out.queue = spec.queue;
  if (spec.earlyStopping !== undefined) out.earlyStopping = algorithmToManifest(spec.earlyStopping);
  if (!impliedTrialParameters(spec)) out.trialParameters = t.trialParameters.map((tp) => ({ ...tp }));
  if (t.primaryContainerName !== undefined) out.primaryContainerName = t.primaryContainerName;
  const trials: NonNullable<NativeSpec["trials"]> = { parallel: spec.parallelTrialCount };
  if (spec.maxTrialCount !== undefined) trials.max = spec.maxTrialCount;
  if (spec.maxFailedTrialCount !== undefined) trials.maxFailed = spec.maxFailedTrialCount;
  out.trials = trials;
  out.resumePolicy = spec.resumePolicy;
  out.metricsCollector = collectorToManifest(spec.metricsCollector);
  return { apiVersion: "switchyard/v1", kind: "Experiment", metadata: { name: spec.name, team: spec.team }, spec: out };
}

/** The native manifest of an experiment as YAML text: printed, it can be submitted again as it is. */
export function experimentSpecToManifest(spec: ExperimentSpec): string {
  return stringify(experimentSpecToManifestObject(spec));
}
