// One experiment: what it is, the objective over its trials (each trial's value and the best so far), and its trials
// with their parameters, objective, state and job.
import type { Experiment, Trial } from "@switchyard/api";
import { Link } from "wouter";
import { LineChart } from "../components/chart.js";
import { jobPath, timestampMs } from "../components/job-text.js";
import { useSession } from "../session.js";
import { STATE_CLASS, numberText, numbered, objectiveOf, objectiveSeries } from "./experiments-text.js";
import { usePolling } from "../use-polling.js";

const REFRESH_MS = 5_000;
const STATE_WORDS: Readonly<Record<string, string>> = { EarlyStopped: "Stopped early" };

export function ExperimentDetail({ experiment: e }: { experiment: Experiment }) {
  const { api } = useSession();
  const p = usePolling((signal) => api.experiments.listTrials({ name: e.name, team: e.team }, { signal }).then((r) => r.trials), REFRESH_MS, `${e.team}/${e.name}`);
  const o = objectiveOf(e);
  const trials = numbered(p.data ?? []);
  const params = [...new Set(trials.flatMap((t) => t.trial.parameterAssignments.map((a) => a.name)))].sort();
  const series = objectiveSeries(trials, o?.type ?? "minimize");
  const started = timestampMs(e.status?.startTime);
  const completed = timestampMs(e.status?.completionTime);
  return (
    <section aria-labelledby="experiment-title" className="experiment">
      <h2 id="experiment-title">Experiment {e.name}</h2>
      <dl className="dash-facts">
        <dt>Team</dt>
        <dd>
          {e.team} (owner {e.owner || "—"}; its trials run as that user)
        </dd>
        <dt>Objective</dt>
        <dd>{e.objective || "—"}</dd>
        <dt>Algorithm</dt>
        <dd>
          {e.algorithm}, {e.parallelTrialCount} at a time{e.maxTrialCount > 0 ? `, at most ${e.maxTrialCount} trials` : ""}
        </dd>
        <dt>Status</dt>
        <dd>
          {e.status?.condition || "—"}
          {e.status?.message ? `: ${e.status.message}` : ""}
        </dd>
        <dt>Ran</dt>
        <dd>{started ? `${new Date(started).toLocaleString()} – ${completed ? new Date(completed).toLocaleString() : "now"}` : "not started"}</dd>
        <dt>From</dt>
        <dd>{e.source}</dd>
      </dl>
      {p.error ? (
        <p role="alert" className="error">
          Could not load the trials: {p.error}
        </p>
      ) : null}
      {p.data && p.data.length === 0 ? <p className="dash-empty">No trials yet: the first ones start as soon as their jobs are placed.</p> : null}
      {trials.length > 0 ? (
        <>
          <h3>Objective over trials</h3>
          {series.values.length > 0 ? (
            <LineChart
              title={`${o?.metric ?? "objective"} by trial (${o?.type ?? "objective"})`}
              xLabel="trial"
              yLabel={o?.metric}
              series={[
                { label: o?.metric ?? "objective", points: series.values },
                { label: "best so far", points: series.best },
              ]}
            />
          ) : (
            <p className="help">No trial has reported the objective yet.</p>
          )}
          <h3>Trials</h3>
          <TrialTable e={e} trials={trials} params={params} />
        </>
      ) : null}
    </section>
  );
}

function TrialTable({ e, trials, params }: { e: Experiment; trials: readonly { n: number; trial: Trial }[]; params: readonly string[] }) {
  const o = objectiveOf(e);
  const others = [...new Set(trials.flatMap((t) => t.trial.observation?.metrics.map((m) => m.name) ?? []))].filter((m) => m !== o?.metric).sort();
  return (
    <div className="dash-scroll">
      <table className="trials">
        <caption>Trials of {e.name}, in the order they were made</caption>
        <thead>
          <tr>
            <th scope="col" className="num">
              #
            </th>
            <th scope="col">Trial</th>
            <th scope="col">State</th>
            {params.map((p) => (
              <th scope="col" key={p}>
                {p}
              </th>
            ))}
            <th scope="col" className="num">
              {o ? `${o.metric} (objective)` : "Objective"}
            </th>
            {others.map((m) => (
              <th scope="col" className="num" key={m}>
                {m} (latest)
              </th>
            ))}
            <th scope="col">Job</th>
            <th scope="col">Why</th>
          </tr>
        </thead>
        <tbody>
          {trials.map(({ n, trial: t }) => {
            const best = e.status?.currentOptimalTrial?.bestTrialName === t.name;
            return (
              <tr key={t.name} className={best ? "trial-best" : undefined}>
                <td className="num">{n}</td>
                <th scope="row">
                  {t.name}
                  {best ? <span className="trial-best-tag"> best</span> : null}
                </th>
                <td>
                  <span className={`state ${STATE_CLASS[t.state] ?? "state-idle"}`}>{STATE_WORDS[t.state] ?? t.state}</span>
                </td>
                {params.map((p) => (
                  <td key={p} className="mono">
                    {t.parameterAssignments.find((a) => a.name === p)?.value ?? "—"}
                  </td>
                ))}
                <td className="num">{t.objective === undefined ? "—" : numberText(t.objective)}</td>
                {others.map((m) => {
                  const v = t.observation?.metrics.find((x) => x.name === m)?.latest ?? "";
                  return (
                    <td className="num" key={m}>
                      {v === "" ? "—" : Number.isFinite(Number(v)) ? numberText(Number(v)) : v}
                    </td>
                  );
                })}
                <td>{t.job ? <Link href={jobPath(e.team, t.job)}>{t.job}</Link> : "—"}</td>
                <td className="trial-why">{t.message}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
