/** How hyperparameter experiments and their trials print: `experiments`, `experiments describe`, `experiments trials`. */
import { timestampDate, timestampMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { CreateExperimentResponse, DeleteExperimentResponse, Experiment, MetricObservation, Trial } from "@switchyard/api";
import { age, table } from "./format.js";

export type ObjectiveType = "minimize" | "maximize";

/** Which of a metric's reported values counts (Katib's metric strategies). */
export type MetricStrategy = "min" | "max" | "latest";

export interface Objective {
  type: ObjectiveType;
  metric: string;
  strategy: MetricStrategy;
}

/**
 * The objective of the experiment's `objective` text: `minimize loss`, then what else it says in parentheses: the goal
 * (`minimize loss (goal 0.1)`) and a metric strategy other than Katib's default, min when minimizing and max when
 * maximizing (`minimize loss (latest, goal 0.1)`). Undefined when the text says no direction.
 */
export function objectiveOf(e: Pick<Experiment, "objective">): Objective | undefined {
  const m = /^\s*(minimize|maximize)\s+([^\s(]+)\s*(?:\((.*)\))?/i.exec(e.objective);
  if (!m) return undefined;
  const type = m[1]!.toLowerCase() as ObjectiveType;
  const said = /(?:^|[\s,;])(?:strategy:?\s*)?(min|max|latest)(?=$|[\s,;])/i.exec(m[3] ?? "")?.[1];
  return { type, metric: m[2]!, strategy: (said?.toLowerCase() as MetricStrategy | undefined) ?? (type === "minimize" ? "min" : "max") };
}

/** A number for people: at most 6 significant digits, no trailing zeros (`0.0812`, `64`, `1.5e-7`). */
export function numberText(n: number): string {
  return Number.isFinite(n) ? String(Number(n.toPrecision(6))) : String(n);
}

/** A metric's value as Katib reports it (text): a number shortened as numberText, anything else as it is. */
function metricText(v: string): string {
  if (v === "") return "-";
  const n = Number(v);
  return Number.isFinite(n) ? numberText(n) : v;
}

/** The objective's value of the current optimal trial, from its observation by the objective's strategy. */
export function bestObjective(e: Experiment): number | undefined {
  const o = objectiveOf(e);
  const m = o && e.status?.currentOptimalTrial?.observation?.metrics.find((x) => x.name === o.metric);
  if (!o || !m) return undefined;
  const v = Number(m[o.strategy]);
  return m[o.strategy] === "" || !Number.isFinite(v) ? undefined : v;
}

/** `3/5 of 12`: succeeded trials of those made so far, of the most it may make (left out when unbounded). */
export function trialsCountText(e: Experiment): string {
  const s = e.status;
  return `${s?.trialsSucceeded ?? 0}/${s?.trials ?? 0}${e.maxTrialCount > 0 ? ` of ${e.maxTrialCount}` : ""}`;
}

export function experimentsTable(es: readonly Experiment[], now = Date.now()): string {
  return table(
    ["NAME", "TEAM", "STATUS", "TRIALS", "BEST", "AGE"],
    es.map((e) => {
      const best = bestObjective(e);
      return [e.name, e.team, e.status?.condition || "-", trialsCountText(e), best === undefined ? "-" : numberText(best), age(e.createdAt, now)];
    }),
  );
}

/** `lr=0.05 hidden=64`. */
function assignmentsText(ps: readonly { name: string; value: string }[]): string {
  return ps.length === 0 ? "-" : ps.map((p) => `${p.name}=${p.value}`).join(" ");
}

/** The best trial in one line: its name, the objective's value and its parameters. */
function bestLine(e: Experiment): string | undefined {
  const t = e.status?.currentOptimalTrial;
  if (!t || t.bestTrialName === "") return undefined;
  const o = objectiveOf(e);
  const v = bestObjective(e);
  return `best: ${t.bestTrialName}${o && v !== undefined ? ` (${o.metric}=${numberText(v)})` : ""}  ${assignmentsText(t.parameterAssignments)}`;
}

/** `experiments get NAME`: its row of the list, then the best trial so far. */
export function experimentSummary(e: Experiment, now = Date.now()): string {
  return [experimentsTable([e], now), `  ${bestLine(e) ?? "best: none yet (no trial has reported the objective)"}`].join("\n");
}

/**
 * The trials in objective order: those that reported it, best first (ties in the service's order), then the others in
 * the service's order (running, then ended). The service sends them so; this keeps a table right whatever the order.
 */
export function sortTrials(trials: readonly Trial[], type: ObjectiveType | undefined): Trial[] {
  const scored = trials.filter((t) => t.objective !== undefined && Number.isFinite(t.objective));
  const rest = trials.filter((t) => t.objective === undefined || !Number.isFinite(t.objective));
  if (type !== undefined) scored.sort((a, b) => (type === "minimize" ? a.objective! - b.objective! : b.objective! - a.objective!));
  return [...scored, ...rest];
}

/**
 * NAME, STATE, one column per parameter, OBJECTIVE and WHY-ENDED (why it ended, or why it waits); JOB where a trial's
 * job is not named as the trial, BUDGET where a multi-fidelity algorithm (Hyperband) gave one.
 */
export function trialsTable(trials: readonly Trial[], type: ObjectiveType | undefined): string {
  const sorted = sortTrials(trials, type);
  const params: string[] = [];
  for (const t of sorted) for (const p of t.parameterAssignments) if (!params.includes(p.name)) params.push(p.name);
  const jobs = sorted.some((t) => t.job !== "" && t.job !== t.name);
  const budgets = sorted.some((t) => t.budget > 0);
  return table(
    ["NAME", ...(jobs ? ["JOB"] : []), "STATE", ...params, ...(budgets ? ["BUDGET"] : []), "OBJECTIVE", "WHY-ENDED"],
    sorted.map((t) => {
      const value = new Map(t.parameterAssignments.map((p) => [p.name, p.value]));
      return [
        t.name,
        ...(jobs ? [t.job || "-"] : []),
        t.state || "-",
        ...params.map((p) => value.get(p) ?? "-"),
        ...(budgets ? [t.budget > 0 ? numberText(t.budget) : "-"] : []),
        t.objective === undefined ? "-" : numberText(t.objective),
        t.message || "-",
      ];
    }),
  );
}

const iso = (ts: Timestamp | undefined) => (ts ? timestampDate(ts).toISOString() : "-");

/** `6 in all: 4 succeeded, 1 failed, 1 early-stopped` (states with none left out). */
export function trialCountsText(e: Experiment): string {
  const s = e.status;
  if (!s || s.trials === 0) return "none yet";
  const by: Array<[number, string]> = [
    [s.trialsSucceeded, "succeeded"],
    [s.trialsRunning, "running"],
    [s.trialsPending, "pending"],
    [s.trialsFailed, "failed"],
    [s.trialsEarlyStopped, "early-stopped"],
    [s.trialsKilled, "killed"],
  ];
  const parts = by.filter(([n]) => n > 0).map(([n, w]) => `${n} ${w}`);
  return `${s.trials} in all${parts.length ? `: ${parts.join(", ")}` : ""}`;
}

/** `Started:` line: when, and for how long it ran (or has been running). */
function startedText(e: Experiment, now: number): string {
  const s = e.status;
  if (!s?.startTime) return "-";
  const end = s.completionTime ? timestampMs(s.completionTime) : now;
  const span = age(s.startTime, end);
  return s.completionTime ? `${iso(s.startTime)}    Completed: ${iso(s.completionTime)} (took ${span})` : `${iso(s.startTime)} (running for ${span})`;
}

function observationTable(metrics: readonly MetricObservation[], objective: string | undefined): string {
  return table(
    ["METRIC", "MIN", "MAX", "LATEST"],
    metrics.map((m) => [m.name + (m.name === objective ? " (objective)" : ""), metricText(m.min), metricText(m.max), metricText(m.latest)]),
  );
}

/**
 * `experiments describe`: the experiment, its status in Katib's words (condition, reason, message, trial counts, the
 * current optimal trial with its parameter assignments and observation), and its trials best objective first.
 */
export function describeExperiment(e: Experiment, trials: readonly Trial[], now = Date.now()): string {
  const s = e.status;
  const o = objectiveOf(e);
  const lines = [
    `Name:        ${e.name}`,
    `Team:        ${e.team}    Owner: ${e.owner || "-"}    UID: ${e.uid || "-"}`,
    `Source:      ${e.source || "-"}`,
    `Objective:   ${e.objective || "-"}`,
    `Algorithm:   ${e.algorithm || "-"}    Parallel trials: ${e.parallelTrialCount}    Max trials: ${e.maxTrialCount > 0 ? e.maxTrialCount : "none"}`,
    `Condition:   ${s?.condition || "-"}${s?.reason ? ` (${s.reason})` : ""}`,
    ...(s?.message ? [`Message:     ${s.message}`] : []),
    `Trials:      ${trialCountsText(e)}`,
    `Started:     ${startedText(e, now)}`,
    `Created:     ${e.createdAt ? `${iso(e.createdAt)} (${age(e.createdAt, now)} ago)` : "-"}`,
    "",
  ];
  const best = s?.currentOptimalTrial;
  if (!best || best.bestTrialName === "") lines.push("Current optimal trial: none yet (no trial has reported the objective)");
  else {
    const v = trials.find((t) => t.name === best.bestTrialName)?.objective ?? bestObjective(e);
    lines.push(
      `Current optimal trial: ${best.bestTrialName}${o && v !== undefined ? ` (${o.metric}=${numberText(v)})` : ""}`,
      `  Parameter assignments: ${assignmentsText(best.parameterAssignments)}`,
      "  Observation:",
      ...observationTable(best.observation?.metrics ?? [], o?.metric).split("\n").map((l) => `    ${l}`),
    );
  }
  lines.push("", `Trials${o ? ` (best ${o.metric} first)` : ""}:`);
  if (trials.length === 0) lines.push("  none yet");
  else lines.push(trialsTable(trials, o?.type), "  a trial is a job: `switchyard logs JOB` shows its output, `switchyard metrics JOB` every value it reported");
  return lines.join("\n");
}

/** The search in a few words: `minimize loss, algorithm random, 2 trials at a time, at most 12`. */
function searchText(e: Experiment): string {
  return `${e.objective || "no objective"}, algorithm ${e.algorithm || "-"}, ${e.parallelTrialCount} trial${e.parallelTrialCount === 1 ? "" : "s"} at a time, ${e.maxTrialCount > 0 ? `at most ${e.maxTrialCount}` : "no trial limit"}`;
}

/** What `experiments create` did: the experiment made (or, on a dry run, that it would be) and how to follow it. */
export function createdText(res: CreateExperimentResponse, dryRun: boolean): string {
  const e = res.experiment!;
  if (dryRun) return `experiment/${e.name} is valid (dry run, nothing stored): team ${e.team}; ${searchText(e)}`;
  return [`experiment/${e.name} created (team ${e.team}): ${searchText(e)}`, `  follow it: switchyard experiments describe ${e.name}`].join("\n");
}

const FINAL = new Set(["Succeeded", "Failed", "Cancelled"]);

/**
 * What `experiments cancel` did; an experiment that had ended already says how (one cancelled more than a second
 * before `askedMs`, when the cancel was sent, was cancelled before).
 */
export function cancelledText(e: Experiment, askedMs = Date.now()): string {
  const s = e.status;
  const condition = s?.condition ?? "";
  const before = s?.completionTime !== undefined && timestampMs(s.completionTime) < askedMs - 1000;
  if (condition === "Cancelled" && before) return `experiment/${e.name} was already cancelled${s?.message ? `: ${s.message}` : ""}`;
  if (condition !== "Cancelled" && FINAL.has(condition)) return `experiment/${e.name} had already ended: ${condition}${s?.reason ? ` (${s.reason})` : ""}`;
  const killed = s?.trialsKilled ?? 0;
  return `experiment/${e.name} cancelled: no new trials${killed > 0 ? `; ${killed} running trial${killed === 1 ? " was" : "s were"} stopped (Killed)` : ""}`;
}

/** What `experiments delete` did: the experiment is gone, and which trial jobs went with it. */
export function deletedText(name: string, res: DeleteExperimentResponse): string {
  const n = res.deletedJobs.length;
  return `experiment/${name} deleted${n === 0 ? " (it had no trial jobs)" : ` with its ${n} trial job${n === 1 ? "" : "s"}: ${res.deletedJobs.join(", ")}`}`;
}
