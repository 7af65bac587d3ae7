// asha: asynchronous successive halving in its pruner form (Optuna's SuccessiveHalvingPruner, Ray's ASHA). Trials
// are sampled (random, or TPE with `sampler: tpe`) and run with the full budget, reporting a curve. Rung k sits at
// step min_resource·reduction_factor^(min_early_stopping_rate + k); a trial's value at a rung is the first it reported
// at or after that step. At the highest rung it has reached, a trial continues only if its value is within the best
// ⌊m/η⌋ of the m trials (itself included) that reached that rung — the best one while m < η — otherwise it stops.
import { oneAtATime, rngFor, type AlgorithmDefinition, type StoppingRuleDefinition } from "./algorithm.js";
import type { CompiledSettings, SettingSpec } from "./settings.js";
import type { CompiledSpace } from "./space.js";
import { finitePoints, fmt } from "./curves.js";
import { sampleAssignment } from "./suggester-random.js";
import { TPE_SETTINGS, tpeOptions, tpeSuggestOne } from "./suggester-tpe.js";
import type { CurvePoint, StopDecision, Suggestion, TrialRecord } from "./types.js";

export const ASHA_STOPPING_SETTINGS: readonly SettingSpec[] = [
  { name: "min_resource", kind: "number", exclusiveMin: 0, default: 1, description: "the step of the first rung" },
  { name: "reduction_factor", kind: "number", min: 2, max: 1000, default: 3, description: "η: 1/η of the trials at a rung continue" },
  { name: "min_early_stopping_rate", kind: "int", min: 0, max: 100, default: 0, description: "s: rungs start at min_resource·η^s" },
  { name: "max_resource", kind: "number", exclusiveMin: 0, description: "the full budget: no rung at or beyond it, so a finishing trial is never judged (unset: no limit)" },
];

export interface AshaRungs {
  readonly minResource: number;
  readonly eta: number;
  readonly rate: number;
  readonly maxResource: number | undefined;
}

export function ashaRungs(s: CompiledSettings): AshaRungs {
  return {
    minResource: s["min_resource"] as number,
    eta: s["reduction_factor"] as number,
    rate: s["min_early_stopping_rate"] as number,
    maxResource: s["max_resource"] as number | undefined,
  };
}

/** The step of rung k. */
export function rungStep(r: AshaRungs, k: number): number {
  return r.minResource * Math.pow(r.eta, r.rate + k);
}

/** The value reported at the first point at or after `step`, if the curve got there. */
function valueAt(points: readonly CurvePoint[], step: number): number | undefined {
  for (const p of points) if (p.step >= step - 1e-9) return p.value;
  return undefined;
}

export function ashaDecision(space: CompiledSpace, r: AshaRungs, trial: TrialRecord, history: readonly TrialRecord[]): StopDecision {
  const points = finitePoints(trial);
  if (points.length === 0) return { stop: false };
  const last = points[points.length - 1]!.step;
  let k = -1;
  while (rungStep(r, k + 1) <= last + 1e-9 && (r.maxResource === undefined || rungStep(r, k + 1) < r.maxResource - 1e-9)) k++;
  if (k < 0) return { stop: false };
  const step = rungStep(r, k);
  const own = space.sign * valueAt(points, step)!;
  const competing = [own];
  for (const other of history) {
    if (other.name === trial.name) continue;
    const v = valueAt(finitePoints(other), step);
    if (v !== undefined) competing.push(space.sign * v);
  }
  competing.sort((a, b) => a - b);
  const keep = Math.max(1, Math.floor(competing.length / r.eta));
  const cut = competing[keep - 1]!;
  if (own <= cut) return { stop: false };
  const worse = space.direction === "minimize" ? "higher" : "lower";
  return {
    stop: true,
    reason: `rung ${k} (step ${fmt(step)}): its value ${fmt(space.sign * own)} is ${worse} than ${fmt(space.sign * cut)}, the cut for the best ${keep} of the ${competing.length} trials that reached that step`,
  };
}

export const ashaStoppingRule: StoppingRuleDefinition = {
  name: "asha",
  settings: [...ASHA_STOPPING_SETTINGS, { name: "sampler", kind: "enum", values: ["random", "tpe"], default: "random", description: "ignored here (the suggester's)" }, ...TPE_SETTINGS],
  create: (space, settings) => {
    const rungs = ashaRungs(settings);
    return { shouldStop: (trial, history) => ashaDecision(space, rungs, trial, history) };
  },
};

export const ashaAlgorithm: AlgorithmDefinition = {
  name: "asha",
  settings: [...ASHA_STOPPING_SETTINGS, { name: "sampler", kind: "enum", values: ["random", "tpe"], default: "random", description: "how configurations are drawn" }, ...TPE_SETTINGS],
  create: ({ space, settings, seed }) => {
    const tpe = settings["sampler"] === "tpe" ? tpeOptions(settings) : undefined;
    const one = (h: readonly TrialRecord[]): Suggestion => {
      const rng = rngFor(seed, "asha", h.length);
      return { assignment: tpe === undefined ? sampleAssignment(space, rng) : tpeSuggestOne(space, tpe, h, rng) };
    };
    return { suggest: (history, count) => oneAtATime(history, count, one) };
  },
};
