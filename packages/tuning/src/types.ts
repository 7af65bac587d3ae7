// The contract between the experiments service and the search algorithms. Everything here is plain data: a
// suggester and a stopping rule are pure functions of what they are given, so a service that was killed -9 resumes
// by calling them again with the history it reads back from its database.

export type ParameterType = "double" | "int" | "discrete" | "categorical";

export interface ParameterSpec {
  readonly name: string;
  readonly type: ParameterType;
  /** double/int: the bounds, inclusive. */
  readonly min?: number;
  readonly max?: number;
  /** double/int: a quantisation step from `min` (a grid step for `grid`); int defaults to 1. */
  readonly step?: number;
  /** discrete: the feasible numbers, as strings (Katib's form); categorical: the choices. */
  readonly list?: readonly string[];
  /** double/int: sample on a log scale (needs min > 0). */
  readonly log?: boolean;
}

/** double/int/discrete → number, categorical → string. */
export type Assignment = Readonly<Record<string, number | string>>;

export type TrialState = "running" | "succeeded" | "failed" | "early-stopped";

export interface CurvePoint {
  readonly step: number;
  readonly value: number;
}

export interface TrialRecord {
  readonly name: string;
  readonly assignment: Assignment;
  readonly state: TrialState;
  /** The final objective value (succeeded); early-stopped: its last reported value. */
  readonly objective?: number;
  /** Intermediate objective values, step ascending. */
  readonly curve?: readonly CurvePoint[];
  /** The resource the algorithm gave it (Hyperband). */
  readonly budget?: number;
}

export interface SearchSpace {
  readonly parameters: readonly ParameterSpec[];
  readonly direction: "minimize" | "maximize";
}

export interface Suggestion {
  readonly assignment: Assignment;
  readonly budget?: number;
}

export interface Suggester {
  /**
   * Up to `count` new trials given everything so far ([] once exhausted, e.g. a finished grid, or while a
   * synchronous algorithm waits for running trials). Pure in (seed, history, count): no hidden state.
   * `history` is in the order the trials were suggested.
   */
  suggest(history: readonly TrialRecord[], count: number): Suggestion[];
}

export interface StopDecision {
  readonly stop: boolean;
  /** In plain words, e.g. "step 4: best loss 0.91 so far is worse than 0.42, the median of 5 trials". */
  readonly reason?: string;
}

export interface StoppingRule {
  /** Stop this running trial now? Given its curve so far and every other trial (their curves). Pure. */
  shouldStop(trial: TrialRecord, history: readonly TrialRecord[]): StopDecision;
}

/** One thing wrong with an algorithm's name or settings; `message` says what was expected. */
export interface SettingProblem {
  readonly setting?: string;
  readonly message: string;
}
