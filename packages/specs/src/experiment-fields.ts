/**
 * Field rules shared by the experiment formats: names (parameters, metrics, settings, algorithms), numbers written as
 * Katib's text, list and setting values, and metrics filters (regular expressions with a name and a value group).
 */
import * as z from "zod";
import { DEFAULT_METRICS_REGEX, MAX_METRICS_FILTER_LENGTH, MAX_PARAMETER_VALUE_LENGTH } from "./experiment-spec.js";
import { toNumber } from "./experiment-parameters.js";

type Ctx = z.core.$RefinementCtx;

function issue(ctx: Ctx, input: unknown, message: string, expected: string, hint: string): void {
  ctx.addIssue({ code: "custom", message, input, params: { expected, hint } });
}

const NAME = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A parameter or trial parameter name: letters, digits, `_` and `-`, starting with a letter or `_` (it is written in `${trialParameters.NAME}`). */
export const parameterName = (what: string) =>
  z.string().superRefine((v, ctx) => {
    if (v.length > 63 || !NAME.test(v) || v === "__proto__") {
      const suggestion = v.replace(/^[^A-Za-z_]+/, "").replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 63) || "lr";
      issue(ctx, v, `is not a valid ${what} name`, "letters, digits, '_' and '-', starting with a letter or '_', at most 63 characters", `e.g. \`${suggestion}\``);
    }
  });

/** A metric's name as the trial prints it (`loss`, `Validation-accuracy`). */
export const metricName = () =>
  z.string().superRefine((v, ctx) => {
    if (v.length === 0 || v.length > 253 || /[\s\0]/.test(v) || v === "__proto__") {
      issue(ctx, v, "is not a valid metric name", "the name the trial prints, without spaces, at most 253 characters", "e.g. `loss` or `Validation-accuracy`");
    }
  });

/** A number, or Katib's number as text (`"0.01"`). */
export const numberLike = () =>
  z.union([z.number(), z.string()]).superRefine((v, ctx) => {
    if (toNumber(v) === undefined) issue(ctx, v, "is not a number", 'a number such as 0.01, or Katib\'s text "0.01"', "write a number, e.g. `min: 0.001`");
  });

/** A value of a categorical or discrete list (numbers and booleans are kept as their text). */
export const listValue = () =>
  z.union([z.string(), z.number(), z.boolean()]).superRefine((v, ctx) => {
    if (String(v).length > MAX_PARAMETER_VALUE_LENGTH) issue(ctx, v, "is too long", `at most ${MAX_PARAMETER_VALUE_LENGTH} characters`, "shorten the value: it is written into every trial");
  });

/** An algorithm setting's value: text, as Katib writes it; a number or boolean is taken as its text. */
export const settingValue = () =>
  z.union([z.string().max(1024), z.number(), z.boolean()]).transform((v) => String(v));

/** A setting's name. */
export const settingName = () =>
  z.string().superRefine((v, ctx) => {
    if (v.length === 0 || v.length > 253 || v === "__proto__") issue(ctx, v, "is not a valid setting name", "a non-empty name, at most 253 characters", "e.g. `random_state`");
  });

/** An algorithm's name; which names exist is the tuning service's to say (`ParseExperimentManifestOptions.checkAlgorithm`). */
export const algorithmName = () =>
  z.string().superRefine((v, ctx) => {
    if (!/^[A-Za-z0-9][-A-Za-z0-9_.]{0,62}$/.test(v)) issue(ctx, v, "is not a valid algorithm name", "letters, digits, '-', '_' and '.', at most 63 characters", "e.g. `random`, `tpe` or `medianstop`");
  });

/** The number of capture groups in a regular expression that compiles. */
function groupCount(source: string): number {
  return (new RegExp(`${source}|`).exec("")?.length ?? 1) - 1;
}

/** A metrics filter: a JavaScript regular expression whose first two groups are a metric's name and value (Katib's rule). */
export const metricsFilter = () =>
  z.string().superRefine((v, ctx) => {
    const example = `e.g. \`${DEFAULT_METRICS_REGEX}\` (Katib's default: name=value)`;
    if (v.length === 0 || v.length > MAX_METRICS_FILTER_LENGTH) {
      issue(ctx, v, v.length === 0 ? "is empty" : `is ${v.length} characters long`, `a regular expression of at most ${MAX_METRICS_FILTER_LENGTH} characters`, example);
      return;
    }
    let groups: number;
    try {
      new RegExp(v);
      groups = groupCount(v);
    } catch (err) {
      const why = err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, "") : String(err);
      issue(ctx, v, `is not a regular expression: ${why}`, "a JavaScript regular expression", `${v.includes("(?P<") ? "named groups are written `(?<name>...)`; " : ""}${example}`);
      return;
    }
    if (groups < 2) issue(ctx, v, `has ${groups} capture group${groups === 1 ? "" : "s"}: the first two groups are a metric's name and its value`, "two or more groups", example);
  });
