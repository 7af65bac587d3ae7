// @switchyard/tuning: hyperparameter search for Katib-compatible experiments. Pure: no I/O, no clocks, no hidden
// state — a suggestion is a function of (seed, history, count), a stop decision of (trial, history).
export { ALGORITHMS, EARLY_STOPPING, checkAlgorithm, checkEarlyStopping, createStoppingRule, createSuggester } from "./registry.js";
export type { Assignment, CurvePoint, ParameterSpec, ParameterType, SearchSpace, SettingProblem, StopDecision, StoppingRule, Suggester, Suggestion, TrialRecord, TrialState } from "./types.js";
export { hyperbandSchedule } from "./suggester-hyperband.js";
export type { HyperbandRung } from "./suggester-hyperband.js";
export { checkSpace } from "./space.js";
