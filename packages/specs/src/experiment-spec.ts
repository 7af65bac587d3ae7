/**
 * The normalized hyperparameter-tuning experiment every experiment manifest (Katib `kubeflow.org/v1beta1`
 * Experiment, native `switchyard/v1` Experiment) is turned into, its defaults and its bounds. The experiments
 * service only ever sees this shape; its trials are jobs rendered from `trialTemplate` (`renderTrialManifest`).
 */

/** Where an experiment manifest came from. */
export type ExperimentManifestSource = "katib" | "native";

export type ObjectiveType = "minimize" | "maximize";

/** Which of a trial's reported values of a metric counts: the lowest, the highest, or the last one. */
export type MetricStrategy = "min" | "max" | "latest";

export type ParameterType = "double" | "int" | "discrete" | "categorical";

/**
 * One hyperparameter and the space it is searched in (structurally the tuning package's own type). `double`/`int`:
 * `min` < `max` (ints whole), optional `step` (grid spacing) and `log` (search on a log scale; absent: not said).
 * `discrete`: `list` of numbers as their shortest decimal text. `categorical`: `list` of values.
 */
export interface ExperimentParameter {
  name: string;
  type: ParameterType;
  min?: number;
  max?: number;
  step?: number;
  list?: readonly string[];
  log?: boolean;
}

export interface ExperimentObjective {
  type: ObjectiveType;
  /** The experiment succeeds once a trial's objective metric reaches it; absent: it runs until maxTrialCount. */
  goal?: number;
  /** The objective metric's name. */
  metric: string;
  /** Other metrics collected from each trial, never the objective metric. */
  additionalMetrics: string[];
  /** For every metric (the objective's first): which reported value counts. Katib's default: min when minimizing, max when maximizing. */
  strategies: Record<string, MetricStrategy>;
}

/** A search or early-stopping algorithm by name, with its settings as Katib writes them (text). */
export interface ExperimentAlgorithm {
  name: string;
  settings: Record<string, string>;
}

/** What a trial's job is written as. */
export type TrialFormat = "pytorchjob" | "batchjob" | "native";

/**
 * A value substituted for `${trialParameters.<name>}` in the trial template: a parameter's value (`reference` names
 * the parameter) or the trial's metadata (`reference` is `${trialSpec.Name}`, `${trialSpec.Namespace}`,
 * `${trialSpec.Kind}`, `${trialSpec.APIVersion}`, `${trialSpec.Labels[key]}` or `${trialSpec.Annotations[key]}`).
 */
export interface TrialParameter {
  name: string;
  reference: string;
  description?: string;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

export interface ExperimentTrialTemplate {
  format: TrialFormat;
  /** The container whose output holds the metrics (PyTorchJob: `pytorch`; batch Job: one of its containers). Absent for a native job. */
  primaryContainerName?: string;
  trialParameters: TrialParameter[];
  /**
   * The trial's job manifest with `${trialParameters.<name>}` placeholders (a native experiment's `${name}` short form is
   * stored in this long form), without metadata.name: a PyTorchJob, a batch/v1 Job or a switchyard/v1 Job.
   */
  spec: { [key: string]: JsonValue };
}

/**
 * What happens once the experiment has finished (Katib's names). `Never`: it cannot be resumed. `LongRunning`: it can
 * be resumed (by raising maxTrialCount) while the experiments service keeps its search state. `FromVolume`: it can be
 * resumed even after the service restarts: the search state is saved with the experiment.
 */
export type ResumePolicy = "Never" | "LongRunning" | "FromVolume";

export type MetricsFileFormat = "TEXT" | "JSON";

/**
 * Where a trial's metrics are read from. `StdOut`: its output, line by line, with `filters` (regular expressions whose
 * first two groups are the metric's name and value). `File`: a file the trial writes (TEXT lines read with `filters`,
 * or JSON lines), in the trial's output directory (an absolute path is taken relative to it). `None`: no collector of
 * the experiment's own (the jobs service's `name=value` series are read).
 */
export type MetricsCollector =
  | { kind: "StdOut"; filters: string[] }
  | { kind: "File"; path: string; format: MetricsFileFormat; filters: string[] }
  | { kind: "None" };

export interface ExperimentSpec {
  /** A DNS-1123 label of at most MAX_EXPERIMENT_NAME_LENGTH characters, so that `NAME-xxxxxxxx` names a trial. */
  name: string;
  team: string;
  /** The queue every trial is submitted to; absent: each trial's own (its template's, else "default"). */
  queue?: string;
  objective: ExperimentObjective;
  algorithm: ExperimentAlgorithm;
  earlyStopping?: ExperimentAlgorithm;
  parameters: ExperimentParameter[];
  trialTemplate: ExperimentTrialTemplate;
  /** Trials running at once, at most MAX_PARALLEL_TRIALS (and at most maxTrialCount). */
  parallelTrialCount: number;
  /** The most trials the experiment runs; absent: until the goal is reached (or forever). */
  maxTrialCount?: number;
  /** The experiment fails once more trials than this have failed; absent: failures never end it. */
  maxFailedTrialCount?: number;
  resumePolicy: ResumePolicy;
  metricsCollector: MetricsCollector;
}

/** A problem an algorithm hook finds: reported at the setting (or parameter) it names, else at the algorithm's name. */
export interface AlgorithmProblem {
  message: string;
  setting?: string;
  parameter?: string;
  hint?: string;
}

/** What a hook may look at besides the algorithm: the parameters that parsed. */
export interface AlgorithmCheckContext {
  readonly parameters: readonly ExperimentParameter[];
}

/** Validates an algorithm's name and settings (the tuning package knows them; this package only their structure). */
export type AlgorithmCheck = (name: string, settings: Readonly<Record<string, string>>, context: AlgorithmCheckContext) => readonly AlgorithmProblem[];

export interface ParseExperimentManifestOptions {
  /** File name shown in error positions and warnings. */
  file?: string;
  /** The team when the manifest names none (`metadata.namespace` / `metadata.team`); "default" when not given. */
  defaultTeam?: string;
  /** Called once with the search algorithm when its structure is valid. */
  checkAlgorithm?: AlgorithmCheck;
  /** Called once with the early-stopping algorithm, when there is one and its structure is valid. */
  checkEarlyStopping?: AlgorithmCheck;
}

export interface ParsedExperimentManifest {
  spec: ExperimentSpec;
  /** Things accepted but changed or ignored, one sentence each. */
  warnings: string[];
  source: ExperimentManifestSource;
}

export interface RenderTrialOptions {
  /** The trial's job name: a DNS-1123 label (at most 63 characters). */
  trialName: string;
  /** A value for every parameter, by name: numbers (or their text) for double, int and discrete, a list value for categorical. */
  assignment: Readonly<Record<string, string | number>>;
}

/** Katib's default StdOut filter: `name=value` lines (`loss=0.31`, `accuracy = 9.1e-1`). */
export const DEFAULT_METRICS_REGEX = String.raw`([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?([Ee][+-]?\d+)?)`;

/** 63 (a job name) less `-` and Katib's 8-character trial suffix. */
export const MAX_EXPERIMENT_NAME_LENGTH = 54;
export const MAX_EXPERIMENT_PARAMETERS = 64;
/** Values of one discrete or categorical parameter. */
export const MAX_PARAMETER_LIST_LENGTH = 1000;
/** Characters of one categorical value (it is written into every trial). */
export const MAX_PARAMETER_VALUE_LENGTH = 1024;
export const MAX_PARALLEL_TRIALS = 64;
export const MAX_TRIAL_COUNT = 10_000;
export const MAX_METRIC_NAMES = 64;
export const MAX_ALGORITHM_SETTINGS = 64;
export const MAX_METRICS_FILTERS = 16;
/** Characters of one metrics filter: a regular expression applied to every line a trial prints. */
export const MAX_METRICS_FILTER_LENGTH = 512;

/** Labels every trial's job carries (and Katib's own, so that tools written for Katib find them). */
export const EXPERIMENT_LABEL = "experiments.switchyard.io/experiment";
export const TRIAL_LABEL = "experiments.switchyard.io/trial";
export const KATIB_EXPERIMENT_LABEL = "katib.kubeflow.org/experiment";
export const KATIB_TRIAL_LABEL = "katib.kubeflow.org/trial";

/** The defaults filled in when a manifest leaves a field out. See README.md. */
export const EXPERIMENT_DEFAULTS = {
  team: "default",
  parallelTrialCount: 3,
  resumePolicy: "LongRunning",
  metricsCollector: "StdOut",
  /** Katib's default for the File collector. */
  metricsFilePath: "/var/log/katib/metrics.log",
  metricsFileFormat: "TEXT",
} as const;
