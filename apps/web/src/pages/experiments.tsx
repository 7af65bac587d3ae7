// Hyperparameter experiments: the list (algorithm, objective, status, trial counts, best trial); choosing one (kept in
// the URL, ?experiment=TEAM/NAME, so it can be linked) shows its trials and the objective over trials. Refreshed every
// 5 s while the tab is visible.
import type { Experiment } from "@switchyard/api";
import { Link, useSearchParams } from "wouter";
import { useSession } from "../session.js";
import { ExperimentDetail } from "./experiments-trials.js";
import { STATE_CLASS, bestValue, numberText, objectiveOf, trialsText } from "./experiments-text.js";
import { usePolling } from "../use-polling.js";
import { PolledHeader } from "../components/polled-header.js";
import "./dash.css";
import "./experiments.css";

const REFRESH_MS = 5_000;

export function ExperimentsPage() {
  const { api } = useSession();
  const [params] = useSearchParams();
  const chosen = params.get("experiment") ?? "";
  const p = usePolling((signal) => api.experiments.listExperiments({}, { signal }).then((r) => r.experiments), REFRESH_MS);
  const selected = p.data?.find((e) => `${e.team}/${e.name}` === chosen);
  return (
    <>
      <PolledHeader title="Experiments" what="the experiments" poll={p} />
      {p.data && p.data.length === 0 ? (
        <p className="dash-empty">
          No experiments yet. Create one from a Katib <code>Experiment</code> or a <code>switchyard/v1</code> one with <code>switchyard experiments create -f experiment.yaml</code>{" "}
          (the demo's: <code>examples/demo-train/experiment.yaml</code>).
        </p>
      ) : null}
      {p.data && p.data.length > 0 ? <ExperimentList experiments={p.data} chosen={chosen} /> : null}
      {chosen && p.data && !selected ? (
        <p role="status">
          No experiment {chosen}, or not one you can see. <Link href="/experiments">Show all experiments</Link>
        </p>
      ) : null}
      {selected ? <ExperimentDetail key={chosen} experiment={selected} /> : null}
    </>
  );
}

function ExperimentList({ experiments, chosen }: { experiments: readonly Experiment[]; chosen: string }) {
  return (
    <div className="dash-scroll">
      <table className="experiments">
        <caption>Experiments of your teams; choose one to see its trials</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Team</th>
            <th scope="col">Algorithm</th>
            <th scope="col">Objective</th>
            <th scope="col">Status</th>
            <th scope="col">Trials</th>
            <th scope="col">Best trial</th>
          </tr>
        </thead>
        <tbody>
          {experiments.map((e) => {
            const key = `${e.team}/${e.name}`;
            const best = e.status?.currentOptimalTrial;
            const v = bestValue(e);
            const condition = e.status?.condition ?? "";
            return (
              <tr key={key} className={key === chosen ? "experiment-chosen" : undefined}>
                <th scope="row">
                  <Link href={`/experiments?experiment=${encodeURIComponent(key)}`} aria-current={key === chosen ? "true" : undefined}>
                    {e.name}
                  </Link>
                </th>
                <td>{e.team}</td>
                <td>{e.algorithm}</td>
                <td>{e.objective}</td>
                <td>
                  <span className={`state ${STATE_CLASS[condition] ?? "state-idle"}`}>{condition || "—"}</span>
                  {e.status?.message ? <span className="experiment-why help">{e.status.message}</span> : null}
                </td>
                <td>{trialsText(e)}</td>
                <td>
                  {best?.bestTrialName ? (
                    <>
                      {best.bestTrialName}
                      {v !== undefined ? ` (${objectiveOf(e)?.metric ?? "objective"} = ${numberText(v)})` : ""}
                    </>
                  ) : (
                    <span className="help">none yet</span>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}
