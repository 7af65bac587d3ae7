// Queues and GPUs: each team queue's quota, use, borrowing and pending jobs (with why each waits), every GPU and the
// job holding it, and GPU-hours per team over time. Refreshed every 10 s while the tab is visible.
import type { Gpu, ListGpusResponse, ListQueuesResponse, QueueStatus, ResourceStatus } from "@switchyard/api";
import { Link } from "wouter";
import { jobPath, timestampMs } from "../components/job-text.js";
import { useSession } from "../session.js";
import { usePolling } from "../use-polling.js";
import { PolledHeader } from "../components/polled-header.js";
import { amountText, agoText, resourceLabel, waitText } from "./queues-text.js";
import { UsageSection } from "./queues-usage.js";
import "./dash.css";
import "./queues.css";

const REFRESH_MS = 10_000;

export function QueuesPage() {
  const { api } = useSession();
  const p = usePolling(async (signal) => {
    const [queues, gpus] = await Promise.all([api.queues.listQueues({ maxPendingJobs: 100 }, { signal }), api.jobs.listGpus({}, { signal })]);
    return { queues, gpus };
  }, REFRESH_MS);
  return (
    <>
      <PolledHeader title="Queues and GPUs" what="the queues" poll={p} />
      {p.data ? <Queues res={p.data.queues} /> : null}
      {p.data ? <Gpus res={p.data.gpus} /> : null}
      <UsageSection />
    </>
  );
}

function Queues({ res }: { res: ListQueuesResponse }) {
  return (
    <section aria-labelledby="queues-title">
      <h2 id="queues-title">Queues</h2>
      {res.version === 0n ? (
        <p className="dash-empty">
          No queues are applied: every team shares one pool of GPUs, first come first served. To give teams quotas, write a <code>queues.yaml</code> and
          apply it with <code>switchyard apply -f queues.yaml</code>.
        </p>
      ) : (
        <p className="help">Configuration version {String(res.version)}.</p>
      )}
      {res.queues.map((q) => (
        <QueueCard key={q.name} q={q} />
      ))}
    </section>
  );
}

function QueueCard({ q }: { q: QueueStatus }) {
  const id = `queue-${q.name}`;
  return (
    <article className="queue" aria-labelledby={id}>
      <h3 id={id}>Queue {q.name}</h3>
      <dl className="dash-facts">
        <dt>Team</dt>
        <dd>{q.team || "—"}</dd>
        <dt>Cohort</dt>
        <dd>{q.cohort || "none (borrows from no one)"}</dd>
        <dt>Weight</dt>
        <dd>{q.weight}</dd>
        <dt>Jobs</dt>
        <dd>
          {q.running} running, {q.pending} pending
        </dd>
      </dl>
      {q.resources.length > 0 ? (
        <div className="dash-scroll">
          <table className="queue-resources">
            <caption className="visually-hidden">Resources of queue {q.name}</caption>
            <thead>
              <tr>
                <th scope="col">Resource</th>
                <th scope="col">Used of quota</th>
                <th scope="col">Quota</th>
                <th scope="col">Used</th>
                <th scope="col">Borrowed</th>
                <th scope="col">Borrowing limit</th>
                <th scope="col">Lending limit</th>
              </tr>
            </thead>
            <tbody>
              {q.resources.map((r) => (
                <tr key={r.name}>
                  <th scope="row">{resourceLabel(r.name)}</th>
                  <td>
                    <UsageBar r={r} />
                  </td>
                  <td>{amountText(r.name, r.nominalQuota)}</td>
                  <td>{amountText(r.name, r.used)}</td>
                  <td>{r.borrowed > 0 ? amountText(r.name, r.borrowed) : "none"}</td>
                  <td>{r.borrowingLimit === undefined ? "no limit" : amountText(r.name, r.borrowingLimit)}</td>
                  <td>{r.lendingLimit === undefined ? "all unused" : amountText(r.name, r.lendingLimit)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : (
        <p className="help">No quota: this queue's jobs use the shared pool.</p>
      )}
      <Pending q={q} />
    </article>
  );
}

/** Used against the quota as a bar: the quota is the line, what is borrowed beyond it a second segment; the text says the same. */
function UsageBar({ r }: { r: ResourceStatus }) {
  const max = Math.max(r.nominalQuota, r.used, 1e-9);
  const x = (v: number) => (100 * Math.min(v, max)) / max;
  const pct = r.nominalQuota > 0 ? Math.round((100 * r.used) / r.nominalQuota) : undefined;
  return (
    <span className="usage">
      <svg className="usage-bar" viewBox="0 0 100 10" preserveAspectRatio="none" aria-hidden="true" focusable="false">
        <rect className="usage-track" x="0" y="0" width="100" height="10" />
        <rect className="usage-used" x="0" y="0" width={x(Math.min(r.used, r.nominalQuota))} height="10" />
        {r.used > r.nominalQuota ? <rect className="usage-borrowed" x={x(r.nominalQuota)} y="0" width={x(r.used) - x(r.nominalQuota)} height="10" /> : null}
        {r.used > r.nominalQuota ? <line className="usage-quota" x1={x(r.nominalQuota)} x2={x(r.nominalQuota)} y1="0" y2="10" /> : null}
      </svg>
      <span>{pct === undefined ? (r.used > 0 ? "all borrowed" : "no quota") : `${pct}%`}</span>
    </span>
  );
}

function Pending({ q }: { q: QueueStatus }) {
  if (q.pendingJobs.length === 0) return <p>No jobs waiting in this queue.</p>;
  const now = Date.now();
  return (
    <div className="dash-scroll">
      <table className="queue-pending">
        <caption>
          Pending jobs of queue {q.name}, next first{q.pending > q.pendingJobs.length ? ` (the first ${q.pendingJobs.length} of ${q.pending})` : ""}
        </caption>
        <thead>
          <tr>
            <th scope="col">Position</th>
            <th scope="col">Job</th>
            <th scope="col">User</th>
            <th scope="col">Priority</th>
            <th scope="col">Waiting for</th>
            <th scope="col">Why it waits</th>
          </tr>
        </thead>
        <tbody>
          {q.pendingJobs.map((j, i) => (
            <tr key={j.uid || `${i}`}>
              <td>{j.position === 0 ? "not in line (suspended)" : j.position}</td>
              <th scope="row">{j.uid ? <Link href={jobPath(j.team, j.name)}>{j.name}</Link> : <span className="help">{j.name}</span>}</th>
              <td>{j.user || "—"}</td>
              <td>{j.priority}</td>
              <td>{agoText(timestampMs(j.queuedTime), now)}</td>
              <td className="queue-why">{waitText(j)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Gpus({ res }: { res: ListGpusResponse }) {
  const node = (g: Gpu) => g.node || res.node || "—";
  return (
    <section aria-labelledby="gpus-title">
      <h2 id="gpus-title">GPUs</h2>
      {res.gpus.length === 0 ? (
        <p className="dash-empty">
          No GPUs{res.node ? ` on ${res.node}` : ""}. Jobs that ask for none still run; <code>switchyard up --gpus N</code> simulates N GPUs for trying the scheduler.
        </p>
      ) : (
        <div className="dash-scroll">
          <table className="gpus">
            <caption className="visually-hidden">Every GPU and the job holding it</caption>
            <thead>
              <tr>
                <th scope="col">Node</th>
                <th scope="col">Index</th>
                <th scope="col">Type</th>
                <th scope="col">Memory</th>
                <th scope="col">Held by</th>
                <th scope="col">Share used</th>
              </tr>
            </thead>
            <tbody>
              {res.gpus.map((g) => (
                <tr key={`${node(g)}/${g.index}/${g.uuid}`}>
                  <td>{node(g)}</td>
                  <th scope="row">{g.index}</th>
                  <td>
                    {g.name}
                    {g.simulated && !/simulated/i.test(g.name) ? " (simulated)" : ""}
                  </td>
                  <td>{g.memoryMb > 0n ? amountText("memoryMb", Number(g.memoryMb)) : "—"}</td>
                  <td>{g.job ? <Holders gpu={g} /> : <span className="gpu-free">free</span>}</td>
                  <td>{g.job ? `${Math.round((g.gpuMilliUsed || 1000) / 10)}%` : "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

/** The job(s) holding a GPU (several share one by fractions), each a link unless it is another team's. */
function Holders({ gpu }: { gpu: Gpu }) {
  const jobs = gpu.job.split(",").filter((j) => j !== "");
  return (
    <>
      {jobs.map((j, i) => (
        <span key={`${i}-${j}`}>
          {i > 0 ? ", " : ""}
          {j.startsWith("(") ? <span className="help">{j}</span> : <Link href={jobPath(gpu.team, j)}>{j}</Link>}
        </span>
      ))}
    </>
  );
}
