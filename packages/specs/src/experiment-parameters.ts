/**
 * Search spaces: a parameter as either format writes it (Katib's `feasibleSpace` of strings, the native map of
 * numbers) checked into an ExperimentParameter, and a trial's assigned value checked against it and written as the
 * text that is substituted into the trial template.
 */
import type { ExperimentParameter, ParameterType } from "./experiment-spec.js";
import { describeValue } from "./violations.js";
import type { PathSegment, Violations } from "./violations.js";

/** A number written as Katib writes them (`"0.01"`, `"1e-3"`) or as YAML reads them; undefined for anything else. */
export function toNumber(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isFinite(v) ? v : undefined;
  if (typeof v !== "string" || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(v.trim())) return undefined;
  const n = Number(v.trim());
  return Number.isFinite(n) ? n : undefined;
}

/** The shortest decimal text that reads back as `n` (JavaScript's; 1e-7 for tiny values), integers without a point. */
export function formatNumber(n: number): string {
  return Object.is(n, -0) ? "0" : String(n);
}

/** A parameter as a format read it: the fields as written (the schema has checked their types) and where they are. */
export interface ParameterInput {
  name: string;
  type: ParameterType;
  /** Where min, max, step and list are written: Katib's `feasibleSpace`, or the native entry itself. */
  space: PathSegment[];
  min?: unknown;
  max?: unknown;
  step?: unknown;
  list?: readonly unknown[] | undefined;
  /** Where the list's values are written, when not at `space.list` (the native shorthand `lr: [a, b]`). */
  listPath?: PathSegment[];
  log?: boolean;
  /** Where `log` was said (Katib's `distribution`, the native `log`). */
  logPath: PathSegment[];
  /** The algorithm sets this parameter itself (Hyperband's `resource_name`): its space may be a single value. */
  setByAlgorithm: boolean;
}

const has = (v: unknown): boolean => v !== undefined && v !== null;

/** The parameter checked into its normalized form, or undefined with its violations added. */
export function buildParameter(p: ParameterInput, out: Violations): ExperimentParameter | undefined {
  const fail: Fail = (field, message, hint, extra = {}) => {
    out.add(typeof field === "string" ? [...p.space, field] : field, { message, hint, ...extra });
    return false;
  };
  if (p.type === "double" || p.type === "int") return buildRange(p, fail);
  const numeric = p.type === "discrete";
  let ok = true;
  for (const k of ["min", "max", "step"] as const) {
    if (has(p[k])) ok = fail(k, `goes with double and int parameters: a ${p.type} parameter is searched over its list`, `remove \`${k}\`, or make ${p.name} a double or int parameter`, { at: "key" });
  }
  if (p.log !== undefined) ok = fail(p.logPath, `applies to double and int parameters, not to ${p.type} ones`, "remove it");
  const list = p.list ?? [];
  if (list.length === 0) {
    fail("list", `parameter ${p.name} has an empty feasible space: a ${p.type} parameter needs a list of values`, numeric ? "e.g. `list: [16, 32, 64]`" : "e.g. `list: [sgd, adam]`", { expected: "at least one value", at: "key" });
    return undefined;
  }
  const values: string[] = [];
  const listPath = p.listPath ?? [...p.space, "list"];
  list.forEach((item, i) => {
    const n = numeric ? toNumber(item) : undefined;
    if (numeric && n === undefined) {
      ok = fail([...listPath, i], "is not a number: a discrete parameter's values are numbers", `make ${p.name} categorical to search over words`, { expected: "a number", got: describeValue(item) });
      return;
    }
    const text = n !== undefined ? formatNumber(n) : String(item);
    if (values.includes(text)) ok = fail([...listPath, i], `repeats ${JSON.stringify(text)}`, "give each value once", { got: describeValue(item) });
    values.push(text);
  });
  return ok ? { name: p.name, type: p.type, list: values } : undefined;
}

/** Adds a violation at a field of the parameter's space (or at a path) and returns false. */
type Fail = (field: string | PathSegment[], message: string, hint: string, extra?: { expected?: string; got?: string; at?: "key" }) => false;

function buildRange(p: ParameterInput, fail: Fail): ExperimentParameter | undefined {
  const int = p.type === "int";
  let ok = true;
  if (has(p.list)) ok = fail("list", `goes with discrete or categorical parameters, not ${p.type} ones`, `remove \`list\`, or make ${p.name} discrete (numbers) or categorical`, { at: "key" });
  if (!has(p.min) && !has(p.max)) {
    fail(p.space, `parameter ${p.name} has an empty feasible space: a ${p.type} parameter needs min and max`, int ? "e.g. `min: 1` and `max: 10`" : "e.g. `min: 0.001` and `max: 0.1`", { expected: "min and max", at: "key" });
    return undefined;
  }
  for (const k of ["min", "max"] as const) if (!has(p[k])) ok = fail(k, `is required: parameter ${p.name} has no ${k}`, `add \`${k}\` next to \`${k === "min" ? "max" : "min"}\``, { at: "key" });
  const min = toNumber(p.min);
  const max = toNumber(p.max);
  const step = has(p.step) ? toNumber(p.step) : undefined;
  // A value that is not a number at all was reported by the schema.
  if (min === undefined || max === undefined || (has(p.step) && step === undefined)) return undefined;
  for (const [k, v] of [["min", min], ["max", max], ["step", step]] as const) {
    if (int && v !== undefined && !Number.isSafeInteger(v)) ok = fail(k, `must be a whole number for an int parameter`, `write a whole number, e.g. \`${k}: ${Math.round(v) || 1}\``, { got: String(v) });
  }
  if (!ok) return undefined;
  if (min > max || (min === max && !p.setByAlgorithm)) {
    const one = min === max;
    fail("max", one ? `equals min: parameter ${p.name} has one value, nothing to search` : `is below min (${formatNumber(min)}): parameter ${p.name} has no values to search`,
      one ? "widen the range, or write the value into the trial template instead of searching it" : "swap min and max", { expected: `a number above ${formatNumber(min)}`, got: formatNumber(max) });
    return undefined;
  }
  if (step !== undefined && (step <= 0 || (max > min && step > max - min))) {
    fail("step", step <= 0 ? "must be above 0" : `is wider than the range (${formatNumber(max - min)}): only min would be tried`, "use a step that divides the range, e.g. a tenth of it",
      { expected: `a number in (0, ${formatNumber(max - min)}]`, got: formatNumber(step) });
    return undefined;
  }
  if (p.log === true && min <= 0) {
    fail(p.logPath, `needs min above 0: parameter ${p.name} is searched on a log scale`, `raise min above 0, or search ${p.name} on a linear scale`, { got: `min ${formatNumber(min)}` });
    return undefined;
  }
  const out: ExperimentParameter = { name: p.name, type: p.type, min, max };
  if (step !== undefined) out.step = step;
  if (p.log !== undefined) out.log = p.log;
  return out;
}

/** The value a trial template is checked with: min, or the first value of the list. */
export function sampleValue(p: ExperimentParameter): string {
  return p.min !== undefined ? formatNumber(p.min) : (p.list?.[0] ?? "");
}

/** Parameters the algorithm sets itself (Hyperband's `resource_name`: its budget, e.g. epochs). */
export function parametersSetByAlgorithm(settings: Readonly<Record<string, string>>): Set<string> {
  const r = settings["resource_name"];
  return new Set(r === undefined ? [] : [r]);
}

export type AssignedValue = { ok: true; text: string } | { ok: false; message: string; expected: string };

/** A trial's value for `p` as the text substituted into its template, or why it is not a value of `p`'s space. */
export function assignedValue(p: ExperimentParameter, v: unknown, setByAlgorithm: boolean): AssignedValue {
  if (p.type === "categorical") {
    const text = typeof v === "string" ? v : typeof v === "number" ? formatNumber(v) : undefined;
    const list = p.list ?? [];
    if (text !== undefined && list.includes(text)) return { ok: true, text };
    return { ok: false, message: `${describeValue(v)} is not one of ${p.name}'s values`, expected: `one of ${list.slice(0, 10).join(", ")}${list.length > 10 ? ", …" : ""}` };
  }
  const n = toNumber(v);
  if (n === undefined) return { ok: false, message: `${describeValue(v)} is not a number`, expected: `a number for ${p.type} parameter ${p.name}` };
  if (p.type === "discrete") {
    const hit = (p.list ?? []).find((x) => Number(x) === n);
    return hit !== undefined ? { ok: true, text: hit } : { ok: false, message: `${formatNumber(n)} is not one of ${p.name}'s values`, expected: `one of ${(p.list ?? []).join(", ")}` };
  }
  if (p.type === "int" && !Number.isSafeInteger(n)) return { ok: false, message: `${formatNumber(n)} is not a whole number`, expected: `a whole number for int parameter ${p.name}` };
  const min = p.min ?? n;
  const max = p.max ?? n;
  // A sampler's exp(log(max)) may land a rounding error outside the range.
  const slack = 1e-9 * Math.max(1, Math.abs(min), Math.abs(max));
  if (!setByAlgorithm && (n < min - slack || n > max + slack)) {
    return { ok: false, message: `${formatNumber(n)} is outside ${p.name}'s range`, expected: `a number from ${formatNumber(min)} to ${formatNumber(max)}` };
  }
  return { ok: true, text: formatNumber(n) };
}
