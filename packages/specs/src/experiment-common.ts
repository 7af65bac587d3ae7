/**
 * What the experiment formats share: the draft each format reads its document into (every piece that parses, with
 * where it is written, so that rules across pieces run even when another piece is wrong), the rules across pieces,
 * and the draft turned into an ExperimentSpec. Field rules are in experiment-fields.ts.
 */
import type * as z from "zod";
import { closestMatch } from "./did-you-mean.js";
import type {
  AlgorithmCheck, ExperimentAlgorithm, ExperimentManifestSource, ExperimentObjective, ExperimentParameter, ExperimentSpec, ExperimentTrialTemplate, MetricStrategy,
  MetricsCollector, ObjectiveType, ParseExperimentManifestOptions, ResumePolicy, TrialParameter,
} from "./experiment-spec.js";
import { DEFAULT_METRICS_REGEX, EXPERIMENT_DEFAULTS } from "./experiment-spec.js";
import type { NormalizeContext } from "./normalize-common.js";
import { warnAt } from "./normalize-common.js";
import { formatPath } from "./violations.js";
import type { HintTable, PathSegment, Violations } from "./violations.js";

/** A piece of the document and where it is written. */
export interface At<T> {
  value: T;
  path: PathSegment[];
}

export interface AlgorithmDraft extends ExperimentAlgorithm {
  /** Where the algorithm's name is written: problems that name no setting are reported there. */
  path: PathSegment[];
  settingPath(name: string): PathSegment[] | undefined;
}

export interface TrialParameterDraft extends TrialParameter {
  path: PathSegment[];
}

export interface TrialDraft {
  /** The trial's job manifest as written (a native `trial:` body already wrapped as a switchyard/v1 Job). */
  template: Record<string, unknown>;
  /** Where a path of `template` is written in the file. */
  toSource(path: readonly PathSegment[]): PathSegment[];
  /** Where the template is written (what the whole template's problems point at). */
  path: PathSegment[];
  primaryContainerName?: At<string>;
  /** `${name}` (the native short form) is `${trialParameters.name}`. */
  shortForm: boolean;
}

export interface ParameterDraft {
  name: string;
  path: PathSegment[];
  /** The checked parameter; undefined when anything about it is wrong. */
  value?: ExperimentParameter;
}

/** A document read as far as it parses: each format builds one, the shared rules check it, and it becomes the spec. */
export interface ExperimentDraft {
  name?: string;
  team: string;
  queue?: string;
  objective?: ExperimentObjective;
  objectivePath: PathSegment[];
  algorithm?: AlgorithmDraft;
  earlyStopping?: AlgorithmDraft;
  /** Every parameter whose name is readable. */
  parameters: ParameterDraft[];
  /** Whether every parameter entry parsed. */
  parametersComplete: boolean;
  trialParameters?: TrialParameterDraft[];
  /** The native default: one trial parameter per parameter, of the same name. */
  trialParametersImplied: boolean;
  /** Whether every trial parameter's name could be read (else a placeholder cannot be told undeclared). */
  trialParametersComplete: boolean;
  trial?: TrialDraft;
  parallelTrialCount?: At<number>;
  maxTrialCount?: At<number>;
  maxFailedTrialCount?: At<number>;
  resumePolicy: ResumePolicy;
  metricsCollector?: At<MetricsCollector>;
  /** Paths the format accepts but ignores, for the one warning (the trial template's are added to it). */
  ignored: PathSegment[][];
}

export interface ExperimentContext extends NormalizeContext {
  readonly options: ParseExperimentManifestOptions;
}

/** One experiment format: its schema (structure, with "did you mean"), and its reading into a draft (meaning). */
export interface ExperimentFormat<T> {
  readonly source: ExperimentManifestSource;
  readonly apiVersion: string;
  readonly kind: string;
  /** The document as errors name it: "the Experiment". */
  readonly what: string;
  readonly schema: z.ZodType<T>;
  readonly hints: HintTable;
  /** Reads what parses of the document (whether or not the schema passed), adding violations of meaning. */
  draft(root: Record<string, unknown>, ctx: ExperimentContext): ExperimentDraft;
}

/** Objective fields as a format read them. */
export interface ObjectiveInput {
  type: ObjectiveType;
  goal?: number;
  metric: string;
  additional: At<string>[];
  strategies: { name: string; value: MetricStrategy; path: PathSegment[] }[];
}

/** The objective with Katib's default strategies filled in, or undefined with violations added. */
export function buildObjective(o: ObjectiveInput, out: Violations): ExperimentObjective | undefined {
  let ok = true;
  const seen = new Set<string>([o.metric]);
  for (const a of o.additional) {
    if (seen.has(a.value)) {
      out.add(a.path, {
        message: a.value === o.metric ? "is the objective metric: additional metrics are the others" : `names ${a.value} a second time`,
        expected: "each metric once", got: JSON.stringify(a.value), hint: "remove it",
      });
      ok = false;
    }
    seen.add(a.value);
  }
  const metrics = [o.metric, ...o.additional.map((a) => a.value)];
  const given = new Map<string, MetricStrategy>();
  for (const s of o.strategies) {
    if (!metrics.includes(s.name)) {
      const near = closestMatch(s.name, metrics);
      out.add(s.path, { message: `names ${s.name}, which is not a metric of this experiment`, expected: `one of ${metrics.join(", ")}`, got: JSON.stringify(s.name), hint: near !== undefined ? `did you mean \`${near}\`?` : "add the metric to the additional metrics, or remove the strategy" });
      ok = false;
    } else if (given.has(s.name)) {
      out.add(s.path, { message: `gives ${s.name} a second strategy`, expected: "one strategy per metric", got: JSON.stringify(s.name), hint: "remove one of the two" });
      ok = false;
    }
    given.set(s.name, s.value);
  }
  if (!ok) return undefined;
  const fallback: MetricStrategy = o.type === "minimize" ? "min" : "max";
  const strategies = Object.fromEntries(metrics.map((m) => [m, given.get(m) ?? fallback]));
  const out2: ExperimentObjective = { type: o.type, metric: o.metric, additionalMetrics: metrics.slice(1), strategies };
  if (o.goal !== undefined) out2.goal = o.goal;
  return out2;
}

/** An algorithm setting as a format read it: where its value is (problems with it), and where its name is. */
export interface SettingInput {
  name: string;
  value: string;
  path: PathSegment[];
  namePath: PathSegment[];
}

/** An algorithm with its settings, refusing a setting given twice; undefined with a violation added. */
export function buildAlgorithm(name: string, settings: readonly SettingInput[], path: PathSegment[], out: Violations): AlgorithmDraft | undefined {
  const byName = new Map<string, SettingInput>();
  let ok = true;
  for (const s of settings) {
    if (byName.has(s.name)) {
      out.add(s.namePath, { message: `sets ${s.name} a second time`, expected: "each setting once", got: JSON.stringify(s.name), hint: "remove one of the two" });
      ok = false;
    }
    byName.set(s.name, s);
  }
  if (!ok) return undefined;
  return { name, settings: Object.fromEntries(settings.map((s) => [s.name, s.value])), path, settingPath: (n) => byName.get(n)?.path };
}

/** Parameter names given twice. */
export function checkParameterNames(params: readonly ParameterDraft[], out: Violations): void {
  const seen = new Set<string>();
  for (const p of params) {
    if (seen.has(p.name)) out.add(p.path, { message: `names parameter ${p.name} a second time`, expected: "each parameter once", got: JSON.stringify(p.name), hint: "rename or remove one of the two" });
    seen.add(p.name);
  }
}

/** Trial counts against each other (Katib's rules), and an experiment that never ends by itself. */
export function checkCounts(d: ExperimentDraft, ctx: ExperimentContext): void {
  const max = d.maxTrialCount;
  const out = ctx.violations;
  for (const [f, what] of [[d.parallelTrialCount, "trials at once"], [d.maxFailedTrialCount, "failed trials"]] as const) {
    if (f !== undefined && max !== undefined && f.value > max.value) {
      out.add(f.path, { message: `allows more ${what} (${f.value}) than the experiment runs (maxTrialCount ${max.value})`, expected: `at most ${max.value}`, got: String(f.value), hint: `lower it to ${max.value}, or raise maxTrialCount` });
    }
  }
  if (max === undefined && d.objective !== undefined && d.objective.goal === undefined) {
    warnAt(ctx, d.objectivePath, "has no goal and the experiment has no maxTrialCount: it runs trials until it is stopped");
  }
}

/** Rules on the metrics collector that need the rest of the experiment. */
export function checkMetricsCollector(d: ExperimentDraft, ctx: ExperimentContext): void {
  const mc = d.metricsCollector;
  if (mc === undefined) return;
  const c = mc.value;
  if (c.kind === "File" && c.path.startsWith("/")) {
    warnAt(ctx, mc.path, `reads ${c.path} from each trial's output directory, as $SWITCHYARD_OUTPUT_DIR${c.path}: the trial must write it there (trials on one machine share /var/log; each has its own output directory)`);
  }
  const o = d.objective;
  if (c.kind !== "None" && c.filters.length === 1 && c.filters[0] === DEFAULT_METRICS_REGEX && o !== undefined) {
    const unreadable = [o.metric, ...o.additionalMetrics].filter((m) => !/^[\w|-]+$/.test(m));
    if (unreadable.length > 0) {
      warnAt(ctx, d.objectivePath, `names ${unreadable.join(", ")}, which the default metrics filter never reads (it reads names of letters, digits, '_', '|' and '-'): add a filter that matches how the trial prints them`);
    }
  }
}

/** Runs the algorithm hooks on algorithms whose structure is valid, reporting at the setting or parameter they name. */
export function runAlgorithmHooks(d: ExperimentDraft, ctx: ExperimentContext): void {
  const parameters = d.parameters.flatMap((p) => (p.value !== undefined ? [p.value] : []));
  const run = (a: AlgorithmDraft | undefined, hook: AlgorithmCheck | undefined, what: string) => {
    if (a === undefined || hook === undefined) return;
    for (const p of hook(a.name, a.settings, { parameters })) {
      const param = p.parameter !== undefined ? d.parameters.find((x) => x.name === p.parameter)?.path : undefined;
      const path = (p.setting !== undefined ? a.settingPath(p.setting) : undefined) ?? param ?? a.path;
      ctx.violations.add(path, { message: p.message, hint: p.hint ?? `check the ${what} \`${a.name}\` and its settings` });
    }
  };
  run(d.algorithm, ctx.options.checkAlgorithm, "algorithm");
  run(d.earlyStopping, ctx.options.checkEarlyStopping, "early-stopping algorithm");
}

/** The one warning for what the experiment ignores. */
export function ignoredWarning(paths: readonly PathSegment[][]): string[] {
  if (paths.length === 0) return [];
  return [`accepted but ignored by this platform, which runs trials as local processes: ${paths.map(formatPath).join(", ")}`];
}

/** The draft as a spec: undefined when a piece is missing (a violation was reported for it). */
export function specFromDraft(d: ExperimentDraft, trialTemplate: ExperimentTrialTemplate | undefined): ExperimentSpec | undefined {
  const parameters = d.parameters.map((p) => p.value);
  if (d.name === undefined || d.objective === undefined || d.algorithm === undefined || trialTemplate === undefined || d.metricsCollector === undefined) return undefined;
  if (!d.parametersComplete || !parameters.every((p): p is ExperimentParameter => p !== undefined)) return undefined;
  const algo = (a: AlgorithmDraft): ExperimentAlgorithm => ({ name: a.name, settings: { ...a.settings } });
  const spec: ExperimentSpec = {
    name: d.name,
    team: d.team,
    objective: d.objective,
    algorithm: algo(d.algorithm),
    parameters,
    trialTemplate,
    parallelTrialCount: d.parallelTrialCount?.value ?? Math.min(EXPERIMENT_DEFAULTS.parallelTrialCount, d.maxTrialCount?.value ?? Infinity),
    resumePolicy: d.resumePolicy,
    metricsCollector: d.metricsCollector.value,
  };
  if (d.queue !== undefined) spec.queue = d.queue;
  if (d.earlyStopping !== undefined) spec.earlyStopping = algo(d.earlyStopping);
  if (d.maxTrialCount !== undefined) spec.maxTrialCount = d.maxTrialCount.value;
  if (d.maxFailedTrialCount !== undefined) spec.maxFailedTrialCount = d.maxFailedTrialCount.value;
  return spec;
}

/** `v` when it is a mapping, else undefined. */
export function mapping(v: unknown): Record<string, unknown> | undefined {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/** The data of `schema` for `value` when it parses, else undefined (its problems are the whole document schema's to report). */
export function parsed<T>(schema: z.ZodType<T>, value: unknown): T | undefined {
  const r = schema.safeParse(value);
  return r.success ? r.data : undefined;
}
