// tpe: the Tree-structured Parzen Estimator (Bergstra et al. 2011) as Optuna 3.1's TPESampler runs it: random for the
// first n_startup_trials, then the trials are ranked (completed by loss, early-stopped after them — a later last
// step first —, running ones last: the constant liar), the best γ(n) form l(x) and the rest g(x), n_ei_candidates
// are drawn from l and the one with the largest l(x)/g(x) wins. Two departures, measured against Optuna (README):
// one joint kernel over all parameters by default, and l(x)'s kernels half as wide as Optuna's rule gives.
import { oneAtATime, rngFor, type AlgorithmDefinition } from "./algorithm.js";
import { compareObservations, observe } from "./observations.js";
import { ParzenEstimator } from "./parzen.js";
import type { Rng } from "./prng.js";
import type { CompiledSettings, SettingSpec } from "./settings.js";
import { decodeInternal, type CompiledSpace } from "./space.js";
import { sampleAssignment } from "./suggester-random.js";
import type { Assignment, TrialRecord } from "./types.js";

/** g(x) is built from at most this many of the newest "above" trials (older ones carry Optuna's smallest weights). */
export const TPE_MAX_ABOVE = 1000;
/** l(x) never holds more than this many trials (Optuna's cap). */
export const TPE_MAX_BELOW = 25;

export const TPE_SETTINGS: readonly SettingSpec[] = [
  { name: "n_startup_trials", kind: "int", min: 0, max: 100_000, default: 10, description: "random trials before the model is used" },
  { name: "n_ei_candidates", kind: "int", min: 1, max: 10_000, default: 24, aliases: ["n_EI_candidates"], description: "candidates drawn from l(x) per suggestion" },
  { name: "gamma", kind: "number", exclusiveMin: 0, max: 1, description: "Katib/hyperopt's: the best min(⌈gamma·√n⌉, 25) trials form l(x); unset: Optuna's min(⌈0.1·n⌉, 25)" },
  { name: "prior_weight", kind: "number", exclusiveMin: 0, max: 1000, default: 1, description: "weight of the prior component" },
  { name: "multivariate", kind: "bool", default: true, description: "one joint estimator over all parameters (true) or one per parameter (false, Optuna's default)" },
  { name: "below_bandwidth_factor", kind: "number", exclusiveMin: 0, max: 10, default: 0.5, description: "scales the kernel widths of l(x), the good trials' estimator, from Optuna's rule (1: Optuna's)" },
];

export interface TpeOptions {
  readonly nStartupTrials: number;
  readonly nEiCandidates: number;
  readonly gamma: number | undefined;
  readonly priorWeight: number;
  readonly multivariate: boolean;
  readonly belowBandwidthFactor: number;
}

export function tpeOptions(s: CompiledSettings): TpeOptions {
  return {
    nStartupTrials: s["n_startup_trials"] as number,
    nEiCandidates: s["n_ei_candidates"] as number,
    gamma: s["gamma"] as number | undefined,
    priorWeight: s["prior_weight"] as number,
    multivariate: s["multivariate"] as boolean,
    belowBandwidthFactor: s["below_bandwidth_factor"] as number,
  };
}

export function nBelow(n: number, gamma: number | undefined): number {
  return Math.min(gamma === undefined ? Math.ceil(0.1 * n) : Math.ceil(gamma * Math.sqrt(n)), TPE_MAX_BELOW, n);
}

/** One TPE suggestion for the given history (its last trials may be pending ones). */
export function tpeSuggestOne(space: CompiledSpace, options: TpeOptions, history: readonly TrialRecord[], rng: Rng): Assignment {
  const obs = observe(space, history);
  const n = obs.reduce((k, o) => k + (o.kind === "running" ? 0 : 1), 0);
  if (n < Math.max(1, options.nStartupTrials)) return sampleAssignment(space, rng);
  const ranked = obs.slice().sort(compareObservations);
  const k = nBelow(n, options.gamma);
  const chronological = (a: { index: number }, b: { index: number }): number => a.index - b.index;
  const below = ranked.slice(0, k).sort(chronological);
  const above = ranked.slice(k).sort(chronological).slice(-TPE_MAX_ABOVE);
  const l = new ParzenEstimator(space, below.map((o) => o.x), { priorWeight: options.priorWeight, bandwidthFactor: options.belowBandwidthFactor });
  const g = new ParzenEstimator(space, above.map((o) => o.x), { priorWeight: options.priorWeight, bandwidthFactor: 1 });
  const candidates = l.sample(rng, options.nEiCandidates);
  const best = new Float64Array(space.parameters.length);
  if (options.multivariate) {
    const ll = l.logPdf(candidates);
    const lg = g.logPdf(candidates);
    let bi = 0;
    for (let s = 1; s < candidates.length; s++) if (ll[s]! - lg[s]! > ll[bi]! - lg[bi]!) bi = s;
    best.set(candidates[bi]!);
  } else {
    // Optuna's independent sampling: each parameter picks its own best candidate value.
    space.parameters.forEach((_, j) => {
      const ll = l.logPdf(candidates, j);
      const lg = g.logPdf(candidates, j);
      let bi = 0;
      for (let s = 1; s < candidates.length; s++) if (ll[s]! - lg[s]! > ll[bi]! - lg[bi]!) bi = s;
      best[j] = candidates[bi]![j]!;
    });
  }
  return decodeInternal(space, best);
}

export const tpeAlgorithm: AlgorithmDefinition = {
  name: "tpe",
  settings: TPE_SETTINGS,
  create: ({ space, settings, seed }) => {
    const options = tpeOptions(settings);
    return {
      suggest: (history, count) => oneAtATime(history, count, (h) => ({ assignment: tpeSuggestOne(space, options, h, rngFor(seed, "tpe", h.length)) })),
    };
  },
};
