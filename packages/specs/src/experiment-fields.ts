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

/**
 * Why `source` could take exponential time on a line (catastrophic backtracking), or undefined: a group repeated
 * without bound (`*`, `+`, `{n,}`, `{n,m}` with m > 1) that itself holds an unbounded repetition or an alternation,
 * like `(a+)+` or `(a|aa)*`. The filters are the user's and run in the experiments service's one thread on every
 * line a trial prints; bounding the line does not bound such a pattern, so it is refused here. (A bounded `?` is fine:
 * Katib's default filter has `(\.\d+)?`.)
 */
export function nestedRepetition(source: string): string | undefined {
  interface Frame { repeats: boolean; alternates: boolean; start: number }
  const stack: Frame[] = [{ repeats: false, alternates: false, start: 0 }];
  let closed: Frame | undefined;
  for (let i = 0; i < source.length; i++) {
    const c = source[i]!;
    let quantified: "unbounded" | "bounded" | undefined;
    if (c === "\\") {
      i++;
      closed = undefined;
      continue;
    }
    if (c === "[") {
      for (i++; i < source.length && source[i] !== "]"; i++) if (source[i] === "\\") i++;
      closed = undefined;
      continue;
    }
    if (c === "(") {
      stack.push({ repeats: false, alternates: false, start: i });
      closed = undefined;
      continue;
    }
    if (c === ")" && stack.length > 1) {
      closed = stack.pop()!;
      const parent = stack.at(-1)!;
      parent.repeats ||= closed.repeats;
      continue;
    }
    if (c === "|") {
      stack.at(-1)!.alternates = true;
      closed = undefined;
      continue;
    }
    if (c === "*" || c === "+") quantified = "unbounded";
    else if (c === "?") quantified = source[i - 1] === "*" || source[i - 1] === "+" || source[i - 1] === "}" || source[i - 1] === "?" ? undefined : "bounded";
    else if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(source.slice(i));
      if (m) {
        quantified = m[2] === undefined ? (Number(m[1]) > 1 ? "unbounded" : "bounded") : m[3] === "" || Number(m[3]) > 1 ? "unbounded" : "bounded";
        i += m[0].length - 1;
      }
    }
    if (quantified === "unbounded") {
      if (closed !== undefined && (closed.repeats || closed.alternates)) {
        return `the group at ${closed.start} (\`${source.slice(closed.start, i + 1).slice(0, 60)}\`) repeats, and ${closed.repeats ? "itself holds a repetition" : "holds alternatives"}: such a pattern can take exponential time on one line`;
      }
      stack.at(-1)!.repeats = true;
      closed = undefined;
    } else if (quantified === undefined) closed = undefined;
  }
  return undefined;
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
    const slow = nestedRepetition(v);
    if (slow !== undefined) issue(ctx, v, slow, "no repeated group that itself repeats or alternates", `repeat inside the group only, e.g. \`(a+)\` instead of \`(a+)+\`; ${example}`);
  });
