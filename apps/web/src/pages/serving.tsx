// Model serving: each deployment with its state, replicas, traffic split among revisions (a canary's share), model and
// URL; each revision's replicas (each a job, linked); for admins, requests and latency per revision from the model
// servers' metrics. Refreshed every 5 s while the tab is visible.
import type { Deployment, Revision } from "@switchyard/api";
import { useRef } from "react";
import { Link } from "wouter";
import { jobPath, timestampMs } from "../components/job-text.js";
import { useSession } from "../session.js";
import { latencyText } from "./mesh-methods.js";
import { parsePrometheusText } from "./mesh-metrics.js";
import { usePolling } from "../use-polling.js";
import { PolledHeader } from "../components/polled-header.js";
import type { Scrape } from "./mesh-stats.js";
import { num } from "./queues-text.js";
import { revisionLoads, type RevisionLoad } from "./serving-metrics.js";
import "./dash.css";
import "./serving.css";

const REFRESH_MS = 5_000;

const STATE_CLASS: Readonly<Record<string, string>> = { Ready: "state-good", Active: "state-good", Progressing: "state-warn", Draining: "state-warn", Degraded: "state-bad", ScaledToZero: "state-idle", Retired: "state-idle", Deleting: "state-idle" };
const STATE_WORDS: Readonly<Record<string, string>> = { ScaledToZero: "Scaled to zero" };

function State({ state }: { state: string }) {
  return <span className={`state ${STATE_CLASS[state] ?? "state-idle"}`}>{STATE_WORDS[state] ?? state}</span>;
}

export function ServingPage() {
  const { api, identity } = useSession();
  const admin = identity.role === "admin";
  const last = useRef<Scrape | undefined>(undefined);
  const p = usePolling(async (signal) => {
    const [list, loads] = await Promise.all([
      api.serving.listDeployments({}, { signal }),
      // Latency is the model servers' metrics, in the admin-only /metrics; a failed scrape only hides it.
      admin
        ? api
            .get("/metrics", "text/plain")
            .then((r) => r.text())
            .then((text) => {
              const scrape = { atMs: Date.now(), exposition: parsePrometheusText(text) };
              const before = last.current;
              last.current = scrape;
              return revisionLoads(scrape, before);
            })
            .catch(() => undefined)
        : Promise.resolve(undefined),
    ]);
    return { deployments: list.deployments, loads };
  }, REFRESH_MS);
  return (
    <>
      <PolledHeader title="Serving" what="the deployments" poll={p} />
      {p.data && p.data.deployments.length === 0 ? (
        <p className="dash-empty">
          No deployments yet. Serve a model a job wrote with <code>switchyard serve NAME --model job://JOB/model.onnx</code> (or a registered one,{" "}
          <code>--model models://NAME@VERSION</code>); <code>--canary 10</code> on a later change sends a tenth of the requests to the new revision.
        </p>
      ) : null}
      {p.data?.deployments.map((d) => <DeploymentCard key={`${d.team}/${d.name}`} d={d} loads={p.data!.loads} />)}
    </>
  );
}

function trafficText(d: Deployment): string {
  return d.traffic.map((t) => `revision ${t.revision}: ${t.percent}%${t.tag ? ` (${t.tag})` : ""}`).join(", ") || "none";
}

function DeploymentCard({ d, loads }: { d: Deployment; loads: Map<string, RevisionLoad> | undefined }) {
  const id = `dep-${d.team}-${d.name}`;
  const latest = [...d.revisions].sort((a, b) => b.number - a.number)[0];
  const share = new Map(d.traffic.map((t) => [t.revision, t]));
  const canary = d.traffic.length > 1 ? d.traffic.find((t) => t.tag === "latest") : undefined;
  return (
    <article className="deployment" aria-labelledby={id}>
      <h2 id={id}>
        {d.name} <State state={d.state} />
      </h2>
      {d.message ? <p className="help">{d.message}</p> : null}
      <dl className="dash-facts">
        <dt>Team</dt>
        <dd>
          {d.team} (owner {d.owner || "—"})
        </dd>
        <dt>Replicas</dt>
        <dd>
          {d.readyReplicas} of {d.desiredReplicas} ready
        </dd>
        <dt>Traffic</dt>
        <dd>
          {trafficText(d)}
          {canary ? ` — a canary: the new revision takes ${canary.percent}% while the previous one serves the rest` : ""}
          {d.traffic.length > 1 ? <TrafficBar d={d} /> : null}
        </dd>
        <dt>Model</dt>
        <dd className="mono serving-wrap">{latest?.modelUri ?? "—"}</dd>
        <dt>URL</dt>
        <dd className="mono serving-wrap">{d.url ? `${window.location.origin}${d.url}/infer` : "—"}</dd>
        <dt>From</dt>
        <dd>{d.source}</dd>
      </dl>
      <div className="dash-scroll">
        <table>
          <caption>Revisions of {d.name}, newest first</caption>
          <thead>
            <tr>
              <th scope="col">Revision</th>
              <th scope="col">State</th>
              <th scope="col" className="num">
                Traffic
              </th>
              <th scope="col">Model</th>
              <th scope="col">Replicas</th>
              {loads ? <th scope="col">Requests and latency</th> : null}
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {[...d.revisions]
              .sort((a, b) => b.number - a.number)
              .map((r) => (
                <tr key={r.number}>
                  <th scope="row">r{r.number}</th>
                  <td>
                    <State state={r.state} />
                  </td>
                  <td className="num">{share.has(r.number) ? `${share.get(r.number)!.percent}%` : "0%"}</td>
                  <td className="mono serving-wrap">
                    {r.modelUri}
                    {r.format ? <span className="help"> ({r.format})</span> : null}
                  </td>
                  <td>
                    <Replicas d={d} r={r} />
                  </td>
                  {loads ? <td>{loadText(loads.get(`${d.name}/${r.number}`))}</td> : null}
                  <td>{new Date(timestampMs(r.createdAt) ?? 0).toLocaleString()}</td>
                </tr>
              ))}
          </tbody>
        </table>
      </div>
    </article>
  );
}

/** The split as one bar, each revision's share a segment with its label; the Traffic line above says the same. */
function TrafficBar({ d }: { d: Deployment }) {
  let x = 0;
  return (
    <svg className="traffic-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">
      {d.traffic.map((t, i) => {
        const seg = <rect key={t.revision} className={`traffic-${i % 2 ? "b" : "a"}`} x={x} y="0" width={t.percent} height="10" />;
        x += t.percent;
        return seg;
      })}
    </svg>
  );
}

function Replicas({ d, r }: { d: Deployment; r: Revision }) {
  return (
    <>
      <span>
        {r.readyReplicas} of {r.desiredReplicas} ready
      </span>
      {r.replicas.length > 0 ? (
        <ul className="serving-replicas">
          {r.replicas.map((x) => (
            <li key={x.job}>
              <Link href={jobPath(d.team, x.job)}>{x.job}</Link> {x.ready ? "ready" : "not ready"}
              {x.phase && x.phase !== "Ready" ? ` (job ${x.phase})` : ""}
              {x.inFlight > 0 ? `, ${x.inFlight} in flight` : ""}
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

function loadText(l: RevisionLoad | undefined): string {
  if (!l) return "no requests yet";
  const rate = l.requestsPerSec === undefined ? "" : ` (${num(l.requestsPerSec)}/s)`;
  const errors = l.errors > 0 ? `, ${l.errors.toLocaleString()} failed` : "";
  const latency = l.meanSec === undefined ? "" : `; mean ${latencyText(l.meanSec)}, p95 ${latencyText(l.p95Sec)}, p99 ${latencyText(l.p99Sec)}${l.windowed ? "" : " since start"}`;
  return `${l.requests.toLocaleString()} requests${rate}${errors}${latency}`;
}
