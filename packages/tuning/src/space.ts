// The search space compiled once: each parameter gets an internal coordinate that the models work in (log applied;
// int, stepped doubles and discrete values widened by half a step so that every value owns a cell of equal width;
// categorical as an index) and the maps to and from an assignment's value.
import type { Assignment, ParameterSpec, ParameterType, SearchSpace, SettingProblem } from "./types.js";

export interface CompiledParameter {
  readonly name: string;
  readonly type: ParameterType;
  readonly categorical: boolean;
  /** Numeric parameters: the internal interval. Categorical: [0, choices). */
  readonly lo: number;
  readonly hi: number;
  /** The width of a value's cell in internal units where values are equally spaced there (for Parzen masses). */
  readonly q: number | undefined;
  /** Categorical: the choices; discrete: the sorted values. */
  readonly choices: readonly (number | string)[] | undefined;
  /** The value for an internal coordinate (rounded, quantised, clamped). */
  fromInternal(x: number): number | string;
  /** The internal coordinate of an assignment's value, or undefined if the value is not in the space. */
  toInternal(v: unknown): number | undefined;
}

export interface CompiledSpace {
  /** The space as given. */
  readonly spec: SearchSpace;
  readonly parameters: readonly CompiledParameter[];
  readonly direction: "minimize" | "maximize";
  /** +1 to minimise, −1 to maximise: models minimise sign·objective. */
  readonly sign: 1 | -1;
}

/** Rounds away binary noise (0.1 + 0.2) so that equal grid values have equal keys and print cleanly. */
export function tidy(v: number): number {
  return v === 0 ? 0 : Number(v.toPrecision(12));
}

const TYPES: readonly ParameterType[] = ["double", "int", "discrete", "categorical"];

/** Problems in the space itself (the service's spec validator checks the same, with file positions). */
export function checkSpace(space: SearchSpace): SettingProblem[] {
  const out: SettingProblem[] = [];
  const at = (p: ParameterSpec, i: number): string => `parameters[${i}]${p.name ? ` (${p.name})` : ""}`;
  if (space.direction !== "minimize" && space.direction !== "maximize") out.push({ setting: "direction", message: `expected "minimize" or "maximize", got ${JSON.stringify(space.direction)}` });
  if (space.parameters.length === 0) out.push({ setting: "parameters", message: "expected at least one parameter" });
  const seen = new Set<string>();
  space.parameters.forEach((p, i) => {
    const where = at(p, i);
    if (typeof p.name !== "string" || p.name === "") out.push({ setting: where, message: "expected a non-empty name" });
    else if (seen.has(p.name)) out.push({ setting: where, message: `the name ${p.name} is used twice` });
    seen.add(p.name);
    if (!TYPES.includes(p.type)) {
      out.push({ setting: where, message: `expected type one of ${TYPES.join(", ")}, got ${JSON.stringify(p.type)}` });
      return;
    }
    if (p.type === "double" || p.type === "int") {
      const { min, max, step } = p;
      if (typeof min !== "number" || typeof max !== "number" || !Number.isFinite(min) || !Number.isFinite(max) || !(min <= max)) {
        out.push({ setting: where, message: `expected finite min ≤ max, got min ${String(min)} and max ${String(max)}` });
        return;
      }
      if (p.type === "int" && (!Number.isInteger(min) || !Number.isInteger(max))) out.push({ setting: where, message: `an int parameter needs integer bounds, got ${min} and ${max}` });
      if (step !== undefined && (!Number.isFinite(step) || !(step > 0) || (p.type === "int" && !Number.isInteger(step)))) {
        out.push({ setting: where, message: `expected a step > 0${p.type === "int" ? " (an integer)" : ""}, got ${step}` });
      }
      if (p.log === true && !(min > 0)) out.push({ setting: where, message: `a log-scale parameter needs min > 0, got ${min}` });
    } else {
      const list = p.list;
      if (!Array.isArray(list) || list.length === 0) {
        out.push({ setting: where, message: `a ${p.type} parameter needs a non-empty list` });
        return;
      }
      if (new Set(list).size !== list.length) out.push({ setting: where, message: "the list has duplicates" });
      if (p.type === "discrete") {
        const bad = list.filter((s) => typeof s !== "string" || s.trim() === "" || !Number.isFinite(Number(s)));
        if (bad.length > 0) out.push({ setting: where, message: `a discrete parameter's list holds numbers, got ${bad.map((b) => JSON.stringify(b)).join(", ")}` });
      }
    }
  });
  return out;
}

/** Compiles a space checked by `checkSpace` (it throws on a space with problems). */
export function compileSpace(space: SearchSpace): CompiledSpace {
  const problems = checkSpace(space);
  if (problems.length > 0) throw new Error(problems.map((p) => `${p.setting}: ${p.message}`).join("; "));
  return {
    spec: space,
    parameters: space.parameters.map(compileParameter),
    direction: space.direction,
    sign: space.direction === "maximize" ? -1 : 1,
  };
}

function compileParameter(p: ParameterSpec): CompiledParameter {
  const base = { name: p.name, type: p.type };
  if (p.type === "categorical" || p.type === "discrete") {
    const categorical = p.type === "categorical";
    const choices: readonly (number | string)[] = categorical ? (p.list ?? []).slice() : [...new Set((p.list ?? []).map(Number))].sort((a, b) => a - b);
    const k = choices.length;
    return {
      ...base,
      categorical,
      lo: categorical ? 0 : -0.5,
      hi: categorical ? k : k - 0.5,
      q: categorical ? undefined : 1,
      choices,
      fromInternal: (x) => choices[Math.min(k - 1, Math.max(0, Math.round(x)))]!,
      toInternal: categorical
        ? (v) => {
            const i = choices.indexOf(typeof v === "number" ? String(v) : (v as string));
            return i >= 0 ? i : undefined;
          }
        : (v) => {
            const n = typeof v === "string" && v.trim() !== "" ? Number(v) : v;
            if (typeof n !== "number" || !Number.isFinite(n)) return undefined;
            const i = (choices as number[]).findIndex((c) => Math.abs(c - n) <= 1e-9 * Math.max(1, Math.abs(c)));
            return i >= 0 ? i : undefined;
          },
    };
  }
  const min = p.min!;
  const isInt = p.type === "int";
  const step = p.step ?? (isInt ? 1 : undefined);
  const log = p.log === true;
  // The largest value on the step grid from min (max itself when there is no step).
  const top = step === undefined ? p.max! : tidy(min + Math.floor((p.max! - min) / step + 1e-9) * step);
  const quantise = (v: number): number => {
    const r = step === undefined ? v : min + Math.round((v - min) / step) * step;
    // Tidy first, clamp last: rounding to 12 digits must not step past a bound with more digits.
    return Math.min(top, Math.max(min, isInt ? Math.round(r) : tidy(r)));
  };
  const tol = 1e-9 * Math.max(1, Math.abs(min), Math.abs(top));
  const toInternal = (v: unknown): number | undefined => {
    if (typeof v !== "number" || !Number.isFinite(v) || v < min - tol || v > top + tol) return undefined;
    if (isInt && Math.abs(v - Math.round(v)) > 1e-9) return undefined;
    return log ? Math.log(Math.max(v, min)) : v;
  };
  if (min === top) {
    // A constant: keep a unit-width interval so that the models never divide by zero.
    return { ...base, categorical: false, lo: (log ? Math.log(min) : min) - 0.5, hi: (log ? Math.log(min) : min) + 0.5, q: 1, choices: undefined, fromInternal: () => min, toInternal };
  }
  if (log) {
    const lo = Math.log(isInt ? min - 0.5 : min);
    const hi = Math.log(isInt ? top + 0.5 : top);
    return { ...base, categorical: false, lo, hi: Math.max(hi, lo + 1e-12), q: undefined, choices: undefined, fromInternal: (x) => quantise(Math.exp(x)), toInternal };
  }
  if (step !== undefined) {
    return { ...base, categorical: false, lo: min - step / 2, hi: top + step / 2, q: step, choices: undefined, fromInternal: quantise, toInternal };
  }
  return { ...base, categorical: false, lo: min, hi: top, q: undefined, choices: undefined, fromInternal: quantise, toInternal };
}

/** Internal coordinates of an assignment, or undefined when a value is missing or outside the space. */
export function encodeAssignment(space: CompiledSpace, a: Assignment): Float64Array | undefined {
  const x = new Float64Array(space.parameters.length);
  for (let i = 0; i < space.parameters.length; i++) {
    const p = space.parameters[i]!;
    const v = p.toInternal(a[p.name]);
    if (v === undefined) return undefined;
    x[i] = v;
  }
  return x;
}

export function decodeInternal(space: CompiledSpace, x: ArrayLike<number>): Record<string, number | string> {
  const a: Record<string, number | string> = {};
  space.parameters.forEach((p, i) => {
    a[p.name] = p.fromInternal(x[i]!);
  });
  return a;
}

/** A string that is equal for equal assignments over the space's parameters (numbers compared to 12 digits). */
export function assignmentKey(space: CompiledSpace, a: Assignment): string {
  return JSON.stringify(space.parameters.map((p) => {
    const v = a[p.name];
    return typeof v === "number" ? tidy(v) : v ?? null;
  }));
}
