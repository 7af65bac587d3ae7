// medianstop: the median stopping rule of Google Vizier (Golovin et al. 2017), Katib's settings. A running trial
// that has reported at least start_step values is stopped at its latest step S if its best value so far is strictly
// worse than the median, over the succeeded trials that reported by step S, of each one's running average of the
// values it reported up to S — once at least min_trials_required such trials exist.
import type { StoppingRuleDefinition } from "./algorithm.js";
import { median } from "./numeric.js";
import type { SettingSpec } from "./settings.js";
import type { CompiledSpace } from "./space.js";
import { finitePoints, fmt } from "./curves.js";
import type { StopDecision, TrialRecord } from "./types.js";

export const MEDIAN_STOP_SETTINGS: readonly SettingSpec[] = [
  { name: "min_trials_required", kind: "int", min: 1, max: 1_000_000, default: 3, description: "succeeded trials needed before any trial is stopped" },
  { name: "start_step", kind: "int", min: 1, max: 1_000_000_000, default: 4, description: "values a trial must have reported before it can be stopped" },
];

export function medianStopDecision(space: CompiledSpace, minTrials: number, startStep: number, trial: TrialRecord, history: readonly TrialRecord[]): StopDecision {
  const points = finitePoints(trial);
  if (points.length < startStep) return { stop: false };
  const s = points[points.length - 1]!.step;
  const sign = space.sign;
  const averages: number[] = [];
  for (const other of history) {
    if (other.state !== "succeeded" || other.name === trial.name) continue;
    let sum = 0;
    let k = 0;
    for (const p of finitePoints(other)) {
      if (p.step > s) break;
      sum += sign * p.value;
      k++;
    }
    if (k > 0) averages.push(sum / k);
  }
  if (averages.length < minTrials) return { stop: false };
  const m = median(averages);
  let best = Infinity;
  for (const p of points) best = Math.min(best, sign * p.value);
  if (!(best > m)) return { stop: false };
  const word = space.direction === "minimize" ? "worse (higher)" : "worse (lower)";
  return {
    stop: true,
    reason: `step ${fmt(s)}: its best value so far, ${fmt(sign * best)}, is ${word} than ${fmt(sign * m)}, the median of the running averages of ${averages.length} succeeded trials up to that step`,
  };
}

export const medianStopRule: StoppingRuleDefinition = {
  name: "medianstop",
  settings: MEDIAN_STOP_SETTINGS,
  create: (space, settings) => {
    const minTrials = settings["min_trials_required"] as number;
    const startStep = settings["start_step"] as number;
    return { shouldStop: (trial, history) => medianStopDecision(space, minTrials, startStep, trial, history) };
  },
};
