// One job: its state and why, replicas and GPUs, events, live logs, metric charts and artifacts. Kept current by a
// WatchJobs stream of this job alone (each change triggers a fresh DescribeJob for the events); no polling.
// A job that does not exist and one the caller may not see get the same NotFoundPage, whatever the platform's answer:
// NOT_FOUND, or PERMISSION_DENIED for a team the caller is not in (whose text names the team, never the job).
import { Code, ConnectError } from "@connectrpc/connect";
import { equals } from "@bufbuild/protobuf";
import { JobSchema, type Job, type JobEvent } from "@switchyard/api";
import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { useLocation } from "wouter";
import { errorText, isNotFound } from "../api.js";
import { JobActions } from "../components/job-actions.js";
import { durationText, gpuText, reasonText, shortTime, timestampMs } from "../components/job-text.js";
import { watchJobs } from "../components/watch-jobs.js";
import { useSession } from "../session.js";
import { JobArtifacts } from "./job-artifacts.js";
import { JobLogs } from "./job-logs.js";
import { JobMetrics } from "./job-metrics.js";
import { NotFoundPage } from "./not-found.js";
import "./jobs.css";
import { usePageVisible } from "../use-page-visible.js";

type Loaded = { kind: "loading" } | { kind: "notFound" } | { kind: "error"; message: string } | { kind: "ok"; job: Job; events: JobEvent[] };

export function JobPage({ team, name }: { team: string; name: string }) {
  // A fresh view per job: nothing (a describe in flight, a log stream) carries over from the job shown before.
  return <JobView key={`${team}/${name}`} team={team} name={name} />;
}

function JobView({ team, name }: { team: string; name: string }) {
  const { api } = useSession();
  const [, navigate] = useLocation();
  const [loaded, setLoaded] = useState<Loaded>({ kind: "loading" });
  // Log chunks are announced here for the metrics to re-fetch, without re-rendering the page for each chunk.
  const logChunks = useMemo(() => new EventTarget(), []);

  // One DescribeJob at a time; a change that arrives meanwhile asks for one more after it, not one each.
  const describing = useRef<{ running: boolean; again: boolean }>({ running: false, again: false });
  /** The job as last described: a watch message holding the same job needs no new DescribeJob. */
  const shown = useRef<Job | undefined>(undefined);
  const describe = useCallback(
    async (signal: AbortSignal) => {
      const d = describing.current;
      if (d.running) return void (d.again = true);
      d.running = true;
      try {
        do {
          d.again = false;
          try {
            const r = await api.jobs.describeJob({ name, team }, { signal });
            if (r.job) {
              shown.current = r.job;
              setLoaded({ kind: "ok", job: r.job, events: r.events });
            }
          } catch (err) {
            if (signal.aborted) return;
            setLoaded(isNotFound(err) || ConnectError.from(err).code === Code.PermissionDenied ? { kind: "notFound" } : { kind: "error", message: errorText(err) });
          }
        } while (d.again && !signal.aborted);
      } finally {
        d.running = false;
      }
    },
    [api, name, team],
  );

  useEffect(() => {
    const ac = new AbortController();
    setLoaded({ kind: "loading" });
    void describe(ac.signal);
    return () => ac.abort();
  }, [describe]);

  const uid = loaded.kind === "ok" ? loaded.job.metadata?.uid : undefined;
  const jobTeam = loaded.kind === "ok" ? loaded.job.metadata?.team : undefined;
  const visible = usePageVisible();
  useEffect(() => {
    if (!uid || !jobTeam || !visible) return;
    const ac = new AbortController();
    void watchJobs(
      api,
      // This job only (by uid): a job page holds one small stream, not its whole team's list.
      { state: "", team: jobTeam, queue: "", user: "", name: uid },
      {
        onMessage(msg) {
          // A snapshot (the stream's first message, or one after a reconnect) may repeat what was just described.
          const job = msg.jobs.find((j) => j.metadata?.uid === uid);
          const news = msg.removed.includes(uid) || (job !== undefined && (shown.current === undefined || !equals(JobSchema, job, shown.current)));
          if (news) void describe(ac.signal);
        },
        onError() {
          // The stream reconnects by itself; the page keeps showing the last state meanwhile.
        },
      },
      ac.signal,
    );
    return () => ac.abort();
  }, [api, uid, jobTeam, describe, visible]);

  if (loaded.kind === "notFound") return <NotFoundPage what="job" />;
  if (loaded.kind === "loading") return <p role="status">Loading job…</p>;
  if (loaded.kind === "error")
    return (
      <>
        <h1>{name}</h1>
        <p className="error" role="alert">
          {loaded.message}
        </p>
      </>
    );
  const { job, events } = loaded;
  return (
    <>
      <JobSummary job={job} onDeleted={() => navigate("/jobs")} />
      <Replicas job={job} />
      <Events events={events} />
      <JobLogs job={job} onChunk={() => logChunks.dispatchEvent(new Event("chunk"))} />
      <JobMetrics job={job} logChunks={logChunks} />
      <JobArtifacts job={job} />
    </>
  );
}

function JobSummary({ job, onDeleted }: { job: Job; onDeleted(): void }) {
  const m = job.metadata;
  const s = job.status;
  const created = timestampMs(m?.creationTimestamp);
  const started = timestampMs(s?.startTime);
  const ended = timestampMs(s?.completionTime);
  const command = [...(job.spec?.command ?? []), ...(job.spec?.args ?? [])].join(" ");
  // "Running." says nothing the state does not.
  const why = s?.reason === "Started" && !s.message ? "" : reasonText(job);
  return (
    <>
      <div className="job-head">
        <h1>{m?.name}</h1>
        <JobActions job={job} onDeleted={onDeleted} />
      </div>
      <dl className="facts" aria-label="About this job">
        <dt>State</dt>
        <dd aria-live="polite">
          <span className={`phase phase-${s?.phase}`} data-phase={s?.phase}>
            {s?.phase}
          </span>
          {s && s.attempt > 1 ? ` (attempt ${s.attempt})` : ""}
        </dd>
        {why ? (
          <>
            <dt>Why</dt>
            <dd className="why">{why}</dd>
          </>
        ) : null}
        <dt>Team</dt>
        <dd>{m?.team}</dd>
        <dt>Queue</dt>
        <dd>{job.spec?.queue || "—"}</dd>
        <dt>Submitted by</dt>
        <dd>{m?.user || "the platform"}</dd>
        <dt>GPUs</dt>
        <dd>{gpuText(job)}</dd>
        <dt>Created</dt>
        <dd>{shortTime(created)}</dd>
        <dt>Started</dt>
        <dd>{started !== undefined ? shortTime(started) : "not yet"}</dd>
        {ended !== undefined ? (
          <>
            <dt>Ended</dt>
            <dd>
              {shortTime(ended)}, after {durationText(started ?? created, ended)}
            </dd>
          </>
        ) : null}
        {command ? (
          <>
            <dt>Command</dt>
            <dd>
              <code>{command}</code>
            </dd>
          </>
        ) : null}
      </dl>
    </>
  );
}

function Replicas({ job }: { job: Job }) {
  const replicas = job.status?.replicas ?? [];
  return (
    <section aria-labelledby="replicas-title">
      <h2 id="replicas-title">Replicas</h2>
      {replicas.length === 0 ? (
        <p className="muted">None placed yet{job.status?.phase === "Queued" ? ": the job is waiting in its queue." : "."}</p>
      ) : (
        <div className="table-scroll">
          <table>
            <thead>
              <tr>
                <th scope="col">Replica</th>
                <th scope="col">Role</th>
                <th scope="col">State</th>
                <th scope="col">Node</th>
                <th scope="col">GPUs</th>
                <th scope="col">Exit code</th>
                <th scope="col">Started</th>
                <th scope="col">Ended</th>
              </tr>
            </thead>
            <tbody>
              {replicas.map((r) => (
                <tr key={`${r.role}-${r.index}`}>
                  <th scope="row">{r.index}</th>
                  <td>{r.role || "—"}</td>
                  <td>
                    <span className={`phase phase-${r.state}`}>{r.state}</span>
                  </td>
                  <td>{r.node || "—"}</td>
                  <td>{r.gpus.length > 0 ? r.gpus.join(", ") : "none"}</td>
                  <td>{r.exitCode ?? "—"}</td>
                  <td>{shortTime(timestampMs(r.startTime)) || "—"}</td>
                  <td>{shortTime(timestampMs(r.endTime)) || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Events({ events }: { events: JobEvent[] }) {
  return (
    <section aria-labelledby="events-title">
      <h2 id="events-title">Events</h2>
      {events.length === 0 ? (
        <p className="muted">No events yet.</p>
      ) : (
        <ol className="events">
          {events.map((e, i) => {
            const t = timestampMs(e.time);
            return (
              <li key={i}>
                {t !== undefined ? <time dateTime={new Date(t).toISOString()}>{shortTime(t)}</time> : null}
                <span className="event-type">{e.type}</span>
                {e.message ? `: ${e.message}` : ""}
                {e.attempt > 1 ? <span className="muted"> (attempt {e.attempt})</span> : null}
              </li>
            );
          })}
        </ol>
      )}
    </section>
  );
}
