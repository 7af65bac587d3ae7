// hyperband: Li et al.'s brackets of synchronous successive halving, Katib's settings. With s_max = ⌊log_η(r_l/r_min)⌋
// and B = (s_max+1)·r_l, bracket s (s_max down to 0) starts n = ⌈B/r_l · η^s/(s+1)⌉ random configurations at
// r = r_l·η^−s; rung i runs ⌊n·η^−i⌋ of them at r·η^i, the best of the rung before promoted as *new* trials with the
// same assignment and the larger budget (the resource parameter set to it). A rung starts when the one before it has
// finished; after the last bracket the suggester is exhausted. The state is rebuilt from the history each call:
// trials are taken rung by rung in the order they were suggested.
import { rngFor, type AlgorithmDefinition } from "./algorithm.js";
import { tidy, type CompiledSpace } from "./space.js";
import { sampleAssignment } from "./suggester-random.js";
import type { Assignment, ParameterSpec, SearchSpace, SettingProblem, Suggestion, TrialRecord } from "./types.js";

export interface HyperbandRung {
  /** The bracket's s. */
  readonly bracket: number;
  /** i within the bracket. */
  readonly rung: number;
  /** n_i: trials in the rung. */
  readonly n: number;
  /** r_i: the budget each gets. */
  readonly r: number;
}

/** The brackets, most exploratory first; each an array of its rungs. */
export function hyperbandSchedule(eta: number, rMax: number, rMin = 1): HyperbandRung[][] {
  const sMax = Math.max(0, Math.floor(Math.log(rMax / rMin) / Math.log(eta) + 1e-9));
  const brackets: HyperbandRung[][] = [];
  for (let s = sMax; s >= 0; s--) {
    const n = Math.ceil(((sMax + 1) / (s + 1)) * Math.pow(eta, s) - 1e-9);
    const rungs: HyperbandRung[] = [];
    for (let i = 0; i <= s; i++) {
      const ni = Math.floor(n / Math.pow(eta, i) + 1e-9);
      if (ni < 1) break;
      rungs.push({ bracket: s, rung: i, n: ni, r: tidy(rMax * Math.pow(eta, i - s)) });
    }
    brackets.push(rungs);
  }
  return brackets;
}

function resourceSpec(space: SearchSpace, name: unknown): ParameterSpec | undefined {
  return space.parameters.find((p) => p.name === name);
}

function checkHyperband(space: SearchSpace, resourceName: unknown, rl: number | undefined): SettingProblem[] {
  const out: SettingProblem[] = [];
  const names = space.parameters.map((p) => p.name).join(", ");
  if (resourceName === undefined) out.push({ setting: "resource_name", message: `hyperband needs resource_name: the parameter that carries the budget (e.g. epochs), one of ${names}` });
  const p = resourceSpec(space, resourceName);
  if (resourceName !== undefined && p === undefined) out.push({ setting: "resource_name", message: `expected the name of a parameter of the space (${names}), got "${String(resourceName)}"` });
  else if (p !== undefined && p.type !== "int" && p.type !== "double") out.push({ setting: "resource_name", message: `the resource parameter ${p.name} must be an int or a double, got ${p.type}` });
  if (rl === undefined) out.push({ setting: "r_l", message: "hyperband needs r_l: the largest budget a trial gets (a number > 0)" });
  else if (p !== undefined && (p.type === "int" || p.type === "double")) {
    if (p.max !== undefined && rl > p.max) out.push({ setting: "r_l", message: `expected at most the resource parameter's max ${p.max}, got ${rl}` });
    const rMin = minResource(p);
    if (rl < rMin) out.push({ setting: "r_l", message: `expected at least the resource parameter's smallest budget ${rMin}, got ${rl}` });
  }
  return out;
}

/** The smallest budget: the resource parameter's min when positive, else 1. */
function minResource(p: ParameterSpec): number {
  return p.min !== undefined && p.min > 0 ? p.min : 1;
}

function budgetValue(p: ParameterSpec, r: number): number {
  return p.type === "int" ? Math.max(1, Math.round(r)) : tidy(r);
}

export const hyperbandAlgorithm: AlgorithmDefinition = {
  name: "hyperband",
  settings: [
    { name: "resource_name", kind: "string", description: "the parameter that carries the budget (e.g. epochs); suggestions set it" },
    { name: "eta", kind: "number", exclusiveMin: 1, max: 1000, default: 3, description: "the reduction factor η" },
    { name: "r_l", kind: "number", exclusiveMin: 0, description: "the largest budget a trial gets" },
  ],
  check: (space, settings) => checkHyperband(space, settings["resource_name"], settings["r_l"] as number | undefined),
  create: ({ space, settings, seed }) => {
    const resource = resourceSpec(space.spec, settings["resource_name"])!;
    const schedule = hyperbandSchedule(settings["eta"] as number, settings["r_l"] as number, minResource(resource));
    return { suggest: (history, count) => suggestHyperband(space, resource, schedule, seed, history, count) };
  },
};

function loss(space: CompiledSpace, t: TrialRecord): number | undefined {
  return t.state === "succeeded" && typeof t.objective === "number" && Number.isFinite(t.objective) ? space.sign * t.objective : undefined;
}

function suggestHyperband(space: CompiledSpace, resource: ParameterSpec, schedule: readonly HyperbandRung[][], seed: number, history: readonly TrialRecord[], count: number): Suggestion[] {
  let pos = 0;
  for (const bracket of schedule) {
    let previous: readonly TrialRecord[] = [];
    for (const rung of bracket) {
      // Promotions: the succeeded trials of the rung before, best first (ties: the earlier trial).
      const ranked =
        rung.rung === 0
          ? []
          : previous
              .map((t, k) => ({ t, k, l: loss(space, t) }))
              .filter((e): e is { t: TrialRecord; k: number; l: number } => e.l !== undefined)
              .sort((a, b) => a.l - b.l || a.k - b.k)
              .map((e) => e.t);
      const needed = rung.rung === 0 ? rung.n : Math.min(rung.n, ranked.length);
      if (needed === 0) break;
      const members = history.slice(pos, pos + needed);
      if (members.length < needed) {
        const out: Suggestion[] = [];
        const budget = budgetValue(resource, rung.r);
        for (let j = members.length; j < needed && out.length < Math.floor(count); j++) {
          const base: Assignment = rung.rung === 0 ? sampleAssignment(space, rngFor(seed, "hyperband", pos + j)) : ranked[j]!.assignment;
          out.push({ assignment: { ...base, [resource.name]: budget }, budget });
        }
        return out;
      }
      // Synchronous successive halving: the next rung needs every result of this one.
      if (members.some((t) => t.state === "running")) return [];
      pos += needed;
      previous = members;
    }
  }
  return [];
}
