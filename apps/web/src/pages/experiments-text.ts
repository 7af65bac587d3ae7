// How an experiment reads: its objective (direction, metric, Katib's metric strategy) from the objective text the
// service writes ("minimize loss", "maximize accuracy (latest, goal 0.9)"), the best value so far, trial counts.
import type { Experiment, Trial } from "@switchyard/api";
import { timestampMs } from "../components/job-text.js";

export interface Objective {
  readonly type: "minimize" | "maximize";
  readonly metric: string;
  /** Which reported value counts: min when minimizing and max when maximizing unless the text says otherwise. */
  readonly strategy: "min" | "max" | "latest";
}

/** The objective of the experiment's text (as apps/cli experiment-format.ts reads it); undefined without a direction. */
export function objectiveOf(e: Pick<Experiment, "objective">): Objective | undefined {
  const m = /^\s*(minimize|maximize)\s+([^\s(]+)\s*(?:\((.*)\))?/i.exec(e.objective);
  if (!m) return undefined;
  const type = m[1]!.toLowerCase() as Objective["type"];
  const said = /(?:^|[\s,;])(?:strategy:?\s*)?(min|max|latest)(?=$|[\s,;])/i.exec(m[3] ?? "")?.[1]?.toLowerCase() as Objective["strategy"] | undefined;
  return { type, metric: m[2]!, strategy: said ?? (type === "minimize" ? "min" : "max") };
}

/** The current optimal trial's objective value, from its observation by the objective's strategy. */
export function bestValue(e: Experiment): number | undefined {
  const o = objectiveOf(e);
  const m = o && e.status?.currentOptimalTrial?.observation?.metrics.find((x) => x.name === o.metric);
  if (!o || !m || m[o.strategy] === "") return undefined;
  const v = Number(m[o.strategy]);
  return Number.isFinite(v) ? v : undefined;
}

/** At most 6 significant digits, no trailing zeros. */
export function numberText(n: number): string {
  return Number.isFinite(n) ? String(Number(n.toPrecision(6))) : String(n);
}

/** "6 trials: 2 running, 3 succeeded, 1 failed" (only the counts that are not zero). */
export function trialsText(e: Experiment): string {
  const s = e.status;
  if (!s || s.trials === 0) return e.maxTrialCount > 0 ? `none yet (at most ${e.maxTrialCount})` : "none yet";
  const parts = (
    [
      [s.trialsPending, "pending"],
      [s.trialsRunning, "running"],
      [s.trialsSucceeded, "succeeded"],
      [s.trialsFailed, "failed"],
      [s.trialsEarlyStopped, "stopped early"],
      [s.trialsKilled, "killed"],
    ] as const
  )
    .filter(([n]) => n > 0)
    .map(([n, w]) => `${n} ${w}`);
  return `${s.trials}${e.maxTrialCount > 0 ? ` of at most ${e.maxTrialCount}` : ""}: ${parts.join(", ")}`;
}

/** The trials in the order they were made (ListTrials answers best first), numbered from 1. */
export function numbered(trials: readonly Trial[]): { n: number; trial: Trial }[] {
  return [...trials]
    .sort((a, b) => (timestampMs(a.createdAt) ?? 0) - (timestampMs(b.createdAt) ?? 0) || a.name.localeCompare(b.name))
    .map((trial, i) => ({ n: i + 1, trial }));
}

/** The objective per trial number, and the best value reached by each trial number (for the chart). */
export function objectiveSeries(trials: readonly { n: number; trial: Trial }[], type: Objective["type"]): { values: [number, number][]; best: [number, number][] } {
  const values: [number, number][] = [];
  const best: [number, number][] = [];
  let b: number | undefined;
  for (const { n, trial } of trials) {
    if (trial.objective === undefined || !Number.isFinite(trial.objective)) continue;
    values.push([n, trial.objective]);
    b = b === undefined ? trial.objective : type === "minimize" ? Math.min(b, trial.objective) : Math.max(b, trial.objective);
    best.push([n, b]);
  }
  return { values, best };
}

export const STATE_CLASS: Readonly<Record<string, string>> = {
  Running: "state-good",
  Succeeded: "state-good",
  Created: "state-warn",
  Pending: "state-warn",
  Failed: "state-bad",
  Killed: "state-idle",
  Cancelled: "state-idle",
  EarlyStopped: "state-idle",
};
