/**
 * `parseExperimentManifest`: YAML or JSON text to a validated, normalized ExperimentSpec. Dispatches on
 * apiVersion/kind like the job and deployment parsers, reads the document into a draft (every piece that parses),
 * checks the pieces against each other — the trial template by rendering it and reading it as a job — and either
 * returns a whole spec or throws one InvalidArgument SwitchyardError listing every violation with its position.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import type { ExperimentContext, ExperimentFormat } from "./experiment-common.js";
import { checkCounts, checkMetricsCollector, checkParameterNames, ignoredWarning, runAlgorithmHooks, specFromDraft } from "./experiment-common.js";
import { katibExperimentFormat } from "./experiment-katib.js";
import { nativeExperimentFormat } from "./experiment-native.js";
import type { ParseExperimentManifestOptions, ParsedExperimentManifest } from "./experiment-spec.js";
import { checkTrialTemplate } from "./experiment-trial.js";
import { pickFormat, readManifestRoot, withInternalErrors } from "./manifest-dispatch.js";
import type { Violations } from "./violations.js";

const FORMATS: readonly ExperimentFormat<unknown>[] = [katibExperimentFormat, nativeExperimentFormat];

const SUPPORTED = "`apiVersion: kubeflow.org/v1beta1` with `kind: Experiment` (Katib), or `apiVersion: switchyard/v1` with `kind: Experiment`";

/**
 * Parses a hyperparameter-tuning experiment (YAML or JSON): Katib `kubeflow.org/v1beta1` Experiment or native
 * `switchyard/v1` Experiment. Throws SwitchyardError(InvalidArgument) listing every violation with
 * file:line:column, field, expected, got and a hint; never returns a partial spec. Algorithm names and settings are
 * checked by `options.checkAlgorithm` / `checkEarlyStopping` when given.
 */
export function parseExperimentManifest(text: string, options: ParseExperimentManifestOptions = {}): ParsedExperimentManifest {
  return withInternalErrors(options.file, () => parse(text, options));
}

function parse(text: string, options: ParseExperimentManifestOptions): ParsedExperimentManifest {
  const { file } = options;
  const { source, root, out: violations } = readManifestRoot(text, file, "an experiment manifest", SUPPORTED);
  const out: Violations = violations;
  const format = pickFormat(root, out, FORMATS, SUPPORTED);
  if (format === undefined) out.throwAll("the manifest");
  const warnings = [...source.warnings];
  const ctx: ExperimentContext = { violations: out, locator: source, warnings, raw: root, options, ...(file !== undefined ? { file } : {}) };
  const result = format.schema.safeParse(root, { reportInput: true });
  if (!result.success) out.addZodIssues(result.error.issues, format.schema, format.hints);
  const draft = format.draft(root, ctx);
  checkParameterNames(draft.parameters, out);
  checkCounts(draft, ctx);
  checkMetricsCollector(draft, ctx);
  const trialTemplate = checkTrialTemplate(draft, ctx);
  runAlgorithmHooks(draft, ctx);
  out.throwIfAny(format.what);
  const spec = specFromDraft(draft, trialTemplate);
  if (spec === undefined) throw new SwitchyardError(Code.Internal, `${format.what} could not be normalized`);
  warnings.push(...ignoredWarning(draft.ignored));
  return { spec, warnings, source: format.source };
}
