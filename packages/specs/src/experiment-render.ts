/**
 * One trial of an experiment as the job the jobs service runs: the trial template with the trial's values in place of
 * its placeholders (numbers as their shortest decimal text, categorical values as written), named after the trial,
 * in the experiment's team and queue, labelled with the experiment and the trial.
 */
import { formatViolations, invalidArgument } from "@switchyard/core";
import type { FieldViolation } from "@switchyard/core";
import { closestMatch } from "./did-you-mean.js";
import { assignedValue, parametersSetByAlgorithm } from "./experiment-parameters.js";
import type { ExperimentSpec, RenderTrialOptions } from "./experiment-spec.js";
import { renderTrial } from "./experiment-template.js";
import type { TrialIdentity } from "./experiment-template.js";
import { DNS_LABEL } from "./schema-kit.js";
import { describeValue, formatPath } from "./violations.js";

/** The values of an assignment as the text each parameter is substituted as; throws InvalidArgument listing what is wrong. */
function assignmentValues(spec: ExperimentSpec, o: RenderTrialOptions): Map<string, string> {
  const problems: FieldViolation[] = [];
  if (typeof o.trialName !== "string" || o.trialName.length > 63 || !DNS_LABEL.test(o.trialName)) {
    problems.push({
      field: "trialName", message: "is not a valid job name", expected: "lowercase letters, digits and '-', starting and ending with a letter or digit, at most 63 characters",
      got: describeValue(o.trialName), hint: `e.g. \`${spec.name}-x7k2p9qa\``,
    });
  }
  const setByAlgorithm = parametersSetByAlgorithm(spec.algorithm.settings);
  const values = new Map<string, string>();
  const names = spec.parameters.map((p) => p.name);
  for (const p of spec.parameters) {
    const field = formatPath(["assignment", p.name]);
    if (!Object.hasOwn(o.assignment, p.name)) {
      problems.push({ field, message: "has no value", expected: `a value for ${p.type} parameter ${p.name}`, hint: "assign every parameter of the experiment" });
      continue;
    }
    const v = assignedValue(p, o.assignment[p.name], setByAlgorithm.has(p.name));
    if (v.ok) values.set(p.name, v.text);
    else problems.push({ field, message: v.message, expected: v.expected, got: describeValue(o.assignment[p.name]), hint: `assign a value of ${p.name}'s search space` });
  }
  for (const k of Object.keys(o.assignment)) {
    if (names.includes(k)) continue;
    const near = closestMatch(k, names);
    problems.push({ field: formatPath(["assignment", k]), message: "is not a parameter of this experiment", expected: `one of ${names.join(", ")}`, got: JSON.stringify(k), hint: near !== undefined ? `did you mean \`${near}\`?` : "remove it" });
  }
  if (problems.length > 0) {
    const n = problems.length;
    throw invalidArgument(`trial ${String(o.trialName)} of experiment ${spec.name}: ${n} problem${n === 1 ? "" : "s"} in its assignment\n${formatViolations(problems)}`, problems);
  }
  return values;
}

/** The trial's job manifest as an object (what `renderTrialManifest` writes as text). */
export function renderTrialManifestObject(spec: ExperimentSpec, options: RenderTrialOptions): Record<string, unknown> {
  const values = assignmentValues(spec, options);
  const t = spec.trialTemplate;
  const id: TrialIdentity = { trialName: options.trialName, experiment: spec.name, team: spec.team };
  if (spec.queue !== undefined) id.queue = spec.queue;
  return renderTrial(t.spec, t.format, t.trialParameters, (p) => values.get(p), id, t.primaryContainerName).doc;
}

/**
 * The trial's job manifest as JSON text, ready for `parseJobManifest` (and the jobs service): a trial of a
 * PyTorchJob template is a PyTorchJob, of a batch/v1 Job a batch/v1 Job (its primary container only), of a
 * switchyard/v1 Job a switchyard/v1 Job. Throws InvalidArgument when the trial name or the assignment is not one of
 * this experiment's (a value missing, outside its space, or for no parameter).
 */
export function renderTrialManifest(spec: ExperimentSpec, options: RenderTrialOptions): string {
  return `${JSON.stringify(renderTrialManifestObject(spec, options), null, 2)}\n`;
}
