// The registry: Katib's algorithm names (and ours) mapped to their definitions. Adding a back end = adding an entry
// here; nothing else switches on a name.
import { invalidArgument } from "@switchyard/core";
import type { AlgorithmDefinition, StoppingRuleDefinition } from "./algorithm.js";
import { ashaAlgorithm, ashaStoppingRule } from "./asha.js";
import { compileSettings } from "./settings.js";
import { checkSpace, compileSpace } from "./space.js";
import { medianStopRule } from "./stopping-median.js";
import { bayesianAlgorithm } from "./suggester-gp.js";
import { gridAlgorithm } from "./suggester-grid.js";
import { hyperbandAlgorithm } from "./suggester-hyperband.js";
import { randomAlgorithm } from "./suggester-random.js";
import { tpeAlgorithm } from "./suggester-tpe.js";
import type { SearchSpace, SettingProblem, StoppingRule, Suggester } from "./types.js";

const ALGORITHM_REGISTRY: ReadonlyMap<string, AlgorithmDefinition> = new Map(
  [randomAlgorithm, gridAlgorithm, tpeAlgorithm, bayesianAlgorithm, hyperbandAlgorithm, ashaAlgorithm].map((a) => [a.name, a]),
);

const STOPPING_REGISTRY: ReadonlyMap<string, StoppingRuleDefinition> = new Map([medianStopRule, ashaStoppingRule].map((r) => [r.name, r]));

/** Katib's search algorithms and ours (`asha`). */
export const ALGORITHMS: readonly string[] = Object.freeze([...ALGORITHM_REGISTRY.keys()]);
/** Early-stopping rules: Katib's `medianstop`, and `asha`'s rung rule. */
export const EARLY_STOPPING: readonly string[] = Object.freeze([...STOPPING_REGISTRY.keys()]);

function unknown(kind: string, name: string, known: readonly string[]): SettingProblem {
  return { message: `unknown ${kind} ${JSON.stringify(name)}: expected one of ${known.join(", ")}` };
}

/** Is this algorithm known, and are its settings valid for this space? [] when they are. */
export function checkAlgorithm(algorithmName: string, settings: Readonly<Record<string, string>>, space: SearchSpace): SettingProblem[] {
  const def = ALGORITHM_REGISTRY.get(algorithmName);
  if (def === undefined) return [unknown("algorithm", algorithmName, ALGORITHMS)];
  const { settings: compiled, problems } = compileSettings(`algorithm ${algorithmName}`, def.settings, settings);
  // Checks that read the space need a valid one; the spec validator reports the space's own problems.
  if (def.check !== undefined && checkSpace(space).length === 0) {
    const parsedFine = (name: string): boolean => !problems.some((p) => p.setting === name);
    problems.push(...def.check(space, compiled).filter((p) => p.setting === undefined || parsedFine(p.setting) || compiled[p.setting] === undefined));
  }
  return problems;
}

export function checkEarlyStopping(name: string, settings: Readonly<Record<string, string>>): SettingProblem[] {
  const def = STOPPING_REGISTRY.get(name);
  if (def === undefined) return [unknown("early-stopping algorithm", name, EARLY_STOPPING)];
  return compileSettings(`early stopping ${name}`, def.settings, settings).problems;
}

function refuse(what: string, problems: readonly SettingProblem[]): never {
  throw invalidArgument(
    `${what}: ${problems.map((p) => (p.setting !== undefined ? `${p.setting}: ${p.message}` : p.message)).join("; ")}`,
    problems.map((p) => ({ field: p.setting !== undefined ? `algorithmSettings.${p.setting}` : "algorithmName", message: p.message })),
  );
}

/**
 * A suggester for `algorithmName` over `space`. Throws INVALID_ARGUMENT (SwitchyardError) for an unknown name, a
 * bad setting or an invalid space. `seed` (any integer) fixes its stream: suggest() is pure in (seed, history, count).
 */
export function createSuggester(algorithmName: string, space: SearchSpace, settings: Readonly<Record<string, string>>, seed: number): Suggester {
  const spaceProblems = checkSpace(space);
  if (spaceProblems.length > 0) refuse("invalid search space", spaceProblems);
  const problems = checkAlgorithm(algorithmName, settings, space);
  if (problems.length > 0) refuse(`algorithm ${algorithmName}`, problems);
  const def = ALGORITHM_REGISTRY.get(algorithmName)!;
  const compiled = compileSettings(algorithmName, def.settings, settings).settings;
  return def.create({ space: compileSpace(space), settings: compiled, seed: Number.isFinite(seed) ? Math.trunc(seed) : 0 });
}

/** A stopping rule; throws INVALID_ARGUMENT for an unknown name or a bad setting. */
export function createStoppingRule(name: string, space: SearchSpace, settings: Readonly<Record<string, string>>): StoppingRule {
  const spaceProblems = checkSpace(space);
  if (spaceProblems.length > 0) refuse("invalid search space", spaceProblems);
  const problems = checkEarlyStopping(name, settings);
  if (problems.length > 0) refuse(`early stopping ${name}`, problems);
  const def = STOPPING_REGISTRY.get(name)!;
  return def.create(compileSpace(space), compileSettings(name, def.settings, settings).settings);
}
