// The service mesh, for admins (GetStatus and the gateway's /metrics are admin-only): the services and the health of
// their endpoints as their callers see them, circuit breakers, calls/errors/latency per method, who calls whom, and
// the policies in force. Scraped every 5 s while the tab is visible; rates come from two consecutive scrapes.
import type { GetStatusResponse, ListDocumentsResponse } from "@switchyard/api";
import { useMemo, useRef } from "react";
import { errorText } from "../api.js";
import { useSession } from "../session.js";
import { CallGraph } from "./mesh-graph.js";
import { parsePrometheusText } from "./mesh-metrics.js";
import { MethodsSection } from "./mesh-methods.js";
import { PoliciesSection } from "./mesh-policies.js";
import { usePolling } from "../use-polling.js";
import { PolledHeader } from "../components/polled-header.js";
import { callEdges, methodStats, oneHotStates, type Scrape, type StateRow } from "./mesh-stats.js";
import "./dash.css";
import "./mesh.css";

const REFRESH_MS = 5_000;

export function MeshPage() {
  const { identity } = useSession();
  if (identity.role !== "admin") {
    return (
      <>
        <h1>Mesh</h1>
        <p>The mesh view is for admins: it shows every service's addresses and metrics, which only an admin may read. Ask an admin of this platform if you need it.</p>
      </>
    );
  }
  return <AdminMesh />;
}

interface MeshData {
  status: GetStatusResponse;
  scrape: Scrape;
  before: Scrape | undefined;
  docs: ListDocumentsResponse | { error: string };
}

function AdminMesh() {
  const { api } = useSession();
  const last = useRef<Scrape | undefined>(undefined);
  const p = usePolling<MeshData>(async (signal) => {
    const [status, text, docs] = await Promise.all([
      api.platform.getStatus({}, { signal }),
      api.get("/metrics", "text/plain").then((r) => r.text()),
      api.config.listDocuments({ namespace: "mesh" }, { signal }).catch((err: unknown) => ({ error: errorText(err) })),
    ]);
    const scrape = { atMs: Date.now(), exposition: parsePrometheusText(text) };
    const before = last.current;
    last.current = scrape;
    return { status, scrape, before, docs };
  }, REFRESH_MS);
  const d = p.data;
  const stats = useMemo(() => (d ? methodStats(d.scrape, d.before) : []), [d]);
  const services = d ? ["gateway", ...d.status.services.map((s) => s.service)] : [];
  return (
    <>
      <PolledHeader
        title="Mesh"
        what="the mesh"
        poll={p}
        note={`${d?.before ? ` · rates over the last ${Math.round((d.scrape.atMs - d.before.atMs) / 1000)} s` : d ? " · rates after the next refresh" : ""} · refreshes every 5 s while this tab is visible`}
      />
      {d ? (
        <>
          <Endpoints status={d.status} rows={oneHotStates(d.scrape.exposition, "switchyard_mesh_endpoint_state", "endpoint")} />
          <Breakers rows={oneHotStates(d.scrape.exposition, "switchyard_mesh_breaker_state", "subset")} />
          <MethodsSection stats={stats} />
          <section aria-labelledby="graph-title">
            <h2 id="graph-title">Who calls whom</h2>
            <CallGraph edges={callEdges(stats)} services={services} />
          </section>
          <PoliciesSection docs={d.docs} exposition={d.scrape.exposition} />
          {d.scrape.exposition.errors.length > 0 ? <p className="help">{d.scrape.exposition.errors.length} lines of /metrics could not be read and were skipped.</p> : null}
        </>
      ) : null}
    </>
  );
}

const STATE_CLASS: Readonly<Record<string, string>> = { serving: "state-good", closed: "state-good", half_open: "state-warn", not_serving: "state-warn", ejected: "state-bad", unreachable: "state-bad", open: "state-bad" };
const STATE_WORDS: Readonly<Record<string, string>> = { serving: "serving", not_serving: "not serving", ejected: "ejected (outlier)", unreachable: "unreachable", closed: "closed", open: "open (calls refused)", half_open: "half-open (probing)", unknown: "unknown" };

function StateText({ state }: { state: string }) {
  return <span className={`state ${STATE_CLASS[state] ?? "state-idle"}`}>{STATE_WORDS[state] ?? state}</span>;
}

/** Each registered endpoint with the state each caller's balancer holds for it; endpoints only the metrics know too. */
function Endpoints({ status, rows }: { status: GetStatusResponse; rows: readonly StateRow[] }) {
  const lines: { service: string; endpoint: string; seen: StateRow[]; registered: boolean }[] = [];
  const key = (s: string, e: string) => `${s}\u0000${e}`;
  const seen = new Map<string, StateRow[]>();
  for (const r of rows) seen.set(key(r.destination, r.target), [...(seen.get(key(r.destination, r.target)) ?? []), r]);
  for (const s of status.services) for (const a of s.addresses) lines.push({ service: s.service, endpoint: a, seen: seen.get(key(s.service, a)) ?? [], registered: true });
  const known = new Set(lines.map((l) => key(l.service, l.endpoint)));
  for (const [k, list] of seen) if (!known.has(k)) lines.push({ service: list[0]!.destination, endpoint: list[0]!.target, seen: list, registered: false });
  lines.sort((a, b) => a.service.localeCompare(b.service) || a.endpoint.localeCompare(b.endpoint));
  return (
    <section aria-labelledby="endpoints-title">
      <h2 id="endpoints-title">Services and endpoints</h2>
      <p className="help">Platform version {status.version}. The gateway answers this page; below are the services behind it, as each caller's balancer sees them.</p>
      <div className="dash-scroll">
        <table>
          <caption className="visually-hidden">Endpoints of each service and their health as seen by each caller</caption>
          <thead>
            <tr>
              <th scope="col">Service</th>
              <th scope="col">Endpoint</th>
              <th scope="col">Health, as each caller sees it</th>
            </tr>
          </thead>
          <tbody>
            {lines.map((l) => (
              <tr key={key(l.service, l.endpoint)}>
                <th scope="row">{l.service}</th>
                <td className="mono mesh-endpoint">
                  {l.endpoint}
                  {l.registered ? "" : <span className="help"> (a serving replica, not in the registry)</span>}
                </td>
                <td>
                  {l.seen.length === 0 ? (
                    <span className="help">no caller has used it yet</span>
                  ) : (
                    <ul className="mesh-seen">
                      {l.seen.map((r) => (
                        <li key={r.service}>
                          <StateText state={r.state} /> <span className="help">seen by {r.service}</span>
                        </li>
                      ))}
                    </ul>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Breakers({ rows }: { rows: readonly StateRow[] }) {
  return (
    <section aria-labelledby="breakers-title">
      <h2 id="breakers-title">Circuit breakers</h2>
      {rows.length === 0 ? (
        <p className="dash-empty">No circuit breaker has changed state since the services started: every destination's is closed (calls flow).</p>
      ) : (
        <div className="dash-scroll">
          <table>
            <caption className="visually-hidden">Circuit breaker state per caller and destination</caption>
            <thead>
              <tr>
                <th scope="col">Destination</th>
                <th scope="col">Subset</th>
                <th scope="col">Caller</th>
                <th scope="col">State</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={`${r.service}/${r.destination}/${r.target}`}>
                  <th scope="row">{r.destination}</th>
                  <td>{r.target || "all"}</td>
                  <td>{r.service}</td>
                  <td>
                    <StateText state={r.state} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
