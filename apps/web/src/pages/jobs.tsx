// The jobs list, live from WatchJobs: the filters live in the URL (so a filtered view can be linked to) and are sent to
// the server, which streams only the matching jobs; a new filter closes the stream and opens one for it.
import type { Job } from "@switchyard/api";
import { useEffect, useRef, useState } from "react";
import { Link, useSearchParams } from "wouter";
import { JobActions } from "../components/job-actions.js";
import { PHASES, durationText, gpuText, jobHref, reasonText, shortTime, timestampMs } from "../components/job-text.js";
import { useLiveJobs } from "../components/watch-jobs.js";
import { useSession } from "../session.js";
import { SubmitJob } from "./jobs-submit.js";
import "./jobs.css";

const FILTERS = ["state", "team", "queue", "user"] as const;
type FilterName = (typeof FILTERS)[number];

export function JobsPage() {
  const { api, identity } = useSession();
  const [params, setParams] = useSearchParams();
  const filter = Object.fromEntries(FILTERS.map((f) => [f, params.get(f) ?? ""])) as Record<FilterName, string>;
  const live = useLiveJobs(api, filter);
  const setFilter = (name: FilterName, value: string) =>
    setParams((p) => {
      const next = new URLSearchParams(p);
      if (value) next.set(name, value);
      else next.delete(name);
      return next;
    }, { replace: true });

  // Suggestions for the filters: every team, queue and user seen since the page opened (a filter narrows what is seen).
  const seen = useRef({ team: new Set(identity.teams), queue: new Set<string>(), user: new Set<string>() });
  for (const j of live.jobs ?? []) {
    if (j.metadata?.team) seen.current.team.add(j.metadata.team);
    if (j.spec?.queue) seen.current.queue.add(j.spec.queue);
    if (j.metadata?.user) seen.current.user.add(j.metadata.user);
  }
  const sorted = (s: Set<string>) => [...s].sort();

  return (
    <>
      <h1>Jobs</h1>
      <p className="jobs-intro">
        <a href="#submit">Submit a job</a>
      </p>
      <form className="filters" aria-label="Filter jobs" onSubmit={(e) => e.preventDefault()}>
        <div className="field">
          <label htmlFor="f-state">State</label>
          <select id="f-state" value={filter.state} onChange={(e) => setFilter("state", e.target.value)}>
            <option value="">Any state</option>
            {PHASES.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-team">Team</label>
          <select id="f-team" value={filter.team} onChange={(e) => setFilter("team", e.target.value)}>
            <option value="">Every team I can see</option>
            {sorted(new Set([...seen.current.team, filter.team].filter(Boolean))).map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
        </div>
        <TextFilter id="f-queue" label="Queue" value={filter.queue} options={sorted(seen.current.queue)} onChange={(v) => setFilter("queue", v)} />
        <TextFilter id="f-user" label="User" value={filter.user} options={sorted(seen.current.user)} onChange={(v) => setFilter("user", v)} />
      </form>
      {live.problem ? (
        <p className="error banner" role="alert">
          {live.problem}
        </p>
      ) : null}
      <p className="visually-hidden" aria-live="polite" aria-atomic="true">
        {live.announcement}
      </p>
      {live.jobs === undefined ? (
        <p role="status">Loading jobs…</p>
      ) : live.jobs.length === 0 ? (
        <p>{FILTERS.some((f) => filter[f]) ? "No jobs match these filters." : "No jobs yet: submit one below."}</p>
      ) : (
        <JobsTable key={FILTERS.map((f) => filter[f]).join("\u0000")} jobs={live.jobs} />
      )}
      <SubmitJob />
    </>
  );
}

/** A free-text filter applied once typing pauses (each change reopens the stream), with what was seen as suggestions. */
function TextFilter({ id, label, value, options, onChange }: { id: string; label: string; value: string; options: string[]; onChange(v: string): void }) {
  const [text, setText] = useState(value);
  const latest = useRef(onChange);
  latest.current = onChange;
  useEffect(() => setText(value), [value]);
  useEffect(() => {
    if (text.trim() === value) return;
    const t = setTimeout(() => latest.current(text.trim()), 400);
    return () => clearTimeout(t);
  }, [text, value]);
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="search" list={`${id}-list`} value={text} onChange={(e) => setText(e.target.value)} placeholder="any" autoComplete="off" spellCheck={false} />
      <datalist id={`${id}-list`}>
        {options.map((o) => (
          <option key={o} value={o} />
        ))}
      </datalist>
    </div>
  );
}

/** Rows per page: a long list is paged (rendering hundreds of rows at once is what a first load would wait for). */
const PAGE_ROWS = 50;

function JobsTable({ jobs }: { jobs: Job[] }) {
  const [page, setPage] = useState(0);
  const pages = Math.max(1, Math.ceil(jobs.length / PAGE_ROWS));
  const current = Math.min(page, pages - 1);
  const shown = jobs.slice(current * PAGE_ROWS, (current + 1) * PAGE_ROWS);
  return (
    <>
      {pages > 1 ? <Pager page={current} pages={pages} total={jobs.length} shown={shown.length} onPage={setPage} /> : null}
      <Table jobs={shown} />
    </>
  );
}

function Pager({ page, pages, total, shown, onPage }: { page: number; pages: number; total: number; shown: number; onPage(p: number): void }) {
  const first = page * PAGE_ROWS + 1;
  return (
    <nav className="pager" aria-label="Pages of jobs">
      <button type="button" onClick={() => onPage(page - 1)} disabled={page === 0}>
        Newer
      </button>
      <span aria-live="polite">
        Jobs {first}–{first + shown - 1} of {total}
      </span>
      <button type="button" onClick={() => onPage(page + 1)} disabled={page >= pages - 1}>
        Older
      </button>
    </nav>
  );
}

function Table({ jobs }: { jobs: Job[] }) {
  return (
    <div className="table-scroll">
      <table className="jobs">
        <caption className="visually-hidden">Jobs, newest first, updated live</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Team</th>
            <th scope="col">Queue</th>
            <th scope="col">User</th>
            <th scope="col">State</th>
            <th scope="col">GPUs</th>
            <th scope="col">Created</th>
            <th scope="col">Started / ended</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {jobs.map((j) => (
            <JobRow key={j.metadata?.uid} job={j} />
          ))}
        </tbody>
      </table>
    </div>
  );
}

function JobRow({ job }: { job: Job }) {
  const m = job.metadata;
  const s = job.status;
  const phase = s?.phase ?? "";
  const started = timestampMs(s?.startTime);
  const ended = timestampMs(s?.completionTime);
  const created = timestampMs(m?.creationTimestamp);
  const explain = !(phase === "Running" || phase === "Succeeded") || s?.reason === "Cancelling";
  return (
    <tr data-job={m?.name} data-team={m?.team} data-phase={phase}>
      <th scope="row">
        <Link href={jobHref(job)}>{m?.name}</Link>
      </th>
      <td>{m?.team}</td>
      <td>{job.spec?.queue || "—"}</td>
      <td>{m?.user || "—"}</td>
      <td>
        <span className={`phase phase-${phase}`}>{phase}</span>
        {explain ? <span className="reason">{reasonText(job)}</span> : null}
      </td>
      <td>{gpuText(job)}</td>
      <td>{created !== undefined ? <time dateTime={new Date(created).toISOString()}>{shortTime(created)}</time> : null}</td>
      <td>
        {started !== undefined ? <time dateTime={new Date(started).toISOString()}>{shortTime(started)}</time> : "—"}
        {ended !== undefined ? (
          <>
            {" – "}
            <time dateTime={new Date(ended).toISOString()}>{shortTime(ended)}</time>
            <span className="reason">took {durationText(started ?? created, ended)}</span>
          </>
        ) : null}
      </td>
      <td>
        <JobActions job={job} />
      </td>
    </tr>
  );
}
