// The plug-in contract of a search algorithm or stopping rule: its declared settings, checks that need the space,
// and a factory. The registry (registry.ts) maps Katib's names to these; nothing else chooses between them.
import { createRng, hashString, type Rng } from "./prng.js";
import type { CompiledSettings, SettingSpec } from "./settings.js";
import type { CompiledSpace } from "./space.js";
import type { SearchSpace, SettingProblem, StoppingRule, Suggester, Suggestion, TrialRecord } from "./types.js";

export interface AlgorithmContext {
  readonly space: CompiledSpace;
  readonly settings: CompiledSettings;
  readonly seed: number;
}

export interface AlgorithmDefinition {
  readonly name: string;
  readonly settings: readonly SettingSpec[];
  /** Checks that need the space (grid needs steps, Hyperband its resource parameter); settings already parsed. */
  readonly check?: (space: SearchSpace, settings: CompiledSettings) => SettingProblem[];
  readonly create: (ctx: AlgorithmContext) => Suggester;
}

export interface StoppingRuleDefinition {
  readonly name: string;
  readonly settings: readonly SettingSpec[];
  readonly create: (space: CompiledSpace, settings: CompiledSettings) => StoppingRule;
}

/** The generator for the suggestion that will be trial number `index` of the history: (seed, purpose, index). */
export function rngFor(seed: number, purpose: string, index: number): Rng {
  return createRng(seed, hashString(purpose), index);
}

/** A running placeholder for a suggestion already made in this call, so the next one treats it as pending. */
export function pendingRecord(s: Suggestion, i: number): TrialRecord {
  return { name: `\u0000pending-${i}`, assignment: s.assignment, state: "running", ...(s.budget !== undefined ? { budget: s.budget } : {}) };
}

/**
 * Suggests one at a time, each seeing the earlier ones of this call as running trials: suggest(h, 2)[1] equals
 * suggest([...h, running s0], 1)[0], so a crash between persisting two suggestions changes nothing.
 */
export function oneAtATime(history: readonly TrialRecord[], count: number, one: (history: readonly TrialRecord[]) => Suggestion | undefined): Suggestion[] {
  const out: Suggestion[] = [];
  let h = history;
  for (let i = 0; i < Math.floor(count); i++) {
    const s = one(h);
    if (s === undefined) break;
    out.push(s);
    h = [...h, pendingRecord(s, i)];
  }
  return out;
}
