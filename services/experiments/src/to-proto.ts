import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { ExperimentSchema, TrialSchema, type Experiment, type Trial } from "@switchyard/api";
import type { ExperimentSpec } from "@switchyard/specs";
import type { ExperimentRow, TrialRow } from "./experiment-store.js";

type Metrics = Record<string, { min: number; max: number; latest: number }>;

const observation = (metrics: string) => ({
  metrics: Object.entries(JSON.parse(metrics) as Metrics).map(([name, m]) => ({ name, min: String(m.min), max: String(m.max), latest: String(m.latest) })),
});

const assignments = (a: string) => Object.entries(JSON.parse(a) as Record<string, number | string>).map(([name, value]) => ({ name, value: String(value) }));

/** The trials, best objective first (by the experiment's direction), then those without one in the order they began. */
export function sortTrials(spec: ExperimentSpec, trials: readonly TrialRow[]): TrialRow[] {
  const sign = spec.objective.type === "minimize" ? 1 : -1;
  return [...trials].sort((a, b) => {
    if (a.objective !== null && b.objective !== null) return sign * (a.objective - b.objective) || a.idx - b.idx;
    if (a.objective !== null) return -1;
    if (b.objective !== null) return 1;
    return a.idx - b.idx;
  });
}

/** The best succeeded trial (Katib's currentOptimalTrial: early-stopped ones do not count). */
export function bestTrial(spec: ExperimentSpec, trials: readonly TrialRow[]): TrialRow | undefined {
  return sortTrials(spec, trials.filter((t) => t.state === "Succeeded" && t.objective !== null))[0];
}

export function trialToProto(t: TrialRow): Trial {
  return create(TrialSchema, {
    name: t.name,
    job: t.job_uid ? t.name : "",
    state: t.state,
    parameterAssignments: assignments(t.assignment),
    observation: observation(t.metrics),
    ...(t.objective !== null ? { objective: t.objective } : {}),
    message: t.message,
    createdAt: timestampFromMs(t.created_at),
    ...(t.completed_at !== null ? { completedAt: timestampFromMs(t.completed_at) } : {}),
    budget: t.budget ?? 0,
  });
}

export function experimentToProto(e: ExperimentRow, trials: readonly TrialRow[]): Experiment {
  const spec = JSON.parse(e.spec) as ExperimentSpec;
  const count = (s: string) => trials.filter((t) => t.state === s).length;
  const best = bestTrial(spec, trials);
  return create(ExperimentSchema, {
    name: e.name,
    team: e.team,
    owner: e.owner,
    uid: e.uid,
    createdAt: timestampFromMs(e.created_at),
    manifest: e.manifest,
    source: e.source,
    objective: objectiveText(spec),
    algorithm: spec.algorithm.name,
    parallelTrialCount: spec.parallelTrialCount,
    maxTrialCount: spec.maxTrialCount ?? 0,
    status: {
      condition: e.deleting ? "Deleting" : e.condition,
      reason: e.reason,
      message: e.message,
      startTime: timestampFromMs(e.created_at),
      ...(e.completed_at !== null ? { completionTime: timestampFromMs(e.completed_at) } : {}),
      ...(best ? { currentOptimalTrial: { bestTrialName: best.name, parameterAssignments: assignments(best.assignment), observation: observation(best.metrics) } } : {}),
      trials: trials.length,
      trialsPending: count("Pending"),
      trialsRunning: count("Running"),
      trialsSucceeded: count("Succeeded"),
      trialsFailed: count("Failed"),
      trialsEarlyStopped: count("EarlyStopped"),
      trialsKilled: count("Killed"),
    },
  });
}

/** "minimize loss (goal 0.1)"; a strategy other than Katib's default for the direction is named: "(latest, goal 0.1)". */
function objectiveText(spec: ExperimentSpec): string {
  const o = spec.objective;
  const strategy = o.strategies[o.metric];
  const notes = [...(strategy !== undefined && strategy !== (o.type === "minimize" ? "min" : "max") ? [strategy] : []), ...(o.goal !== undefined ? [`goal ${o.goal}`] : [])];
  return `${o.type} ${o.metric}${notes.length ? ` (${notes.join(", ")})` : ""}`;
}
