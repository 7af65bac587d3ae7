// A replica's output, streamed (GetLogs with follow) from its start until it ends; a new attempt opens a new stream.
// Lines are kept in a ref and the view re-renders per chunk, showing the newest MAX_SHOWN (matching) lines; the
// download holds every line loaded.
import type { Job } from "@switchyard/api";
import { Fragment, useEffect, useLayoutEffect, useRef, useState, type ReactNode } from "react";
import { errorText, isAborted } from "../api.js";
import { saveBlob } from "../components/download.js";
import { useSession } from "../session.js";
import { usePageVisible } from "../use-page-visible.js";

/** Lines kept in the page; older ones are dropped (and said so). */
const MAX_LINES = 50_000;
/** A line longer than this is cut (the rest is counted, not kept); what is kept in all is at most MAX_CHARS. */
const MAX_LINE_CHARS = 4_096;
const MAX_CHARS = 8 * 1024 * 1024;
/** Lines rendered at once: the newest, or the newest that match the search. */
const MAX_SHOWN = 2_000;

type StreamState = { kind: "streaming" } | { kind: "ended" } | { kind: "failed"; message: string };

export function JobLogs({ job, onChunk }: { job: Job; onChunk(): void }) {
  const { api } = useSession();
  const name = job.metadata?.name ?? "";
  const team = job.metadata?.team ?? "";
  const attempt = job.status?.attempt ?? 0;
  const replicas = job.status?.replicas ?? [];
  const [replica, setReplica] = useState(0);
  const [follow, setFollow] = useState(true);
  const [search, setSearch] = useState("");
  const [stream, setStream] = useState<StreamState>({ kind: "streaming" });
  const [restarts, setRestarts] = useState(0);
  const [, setVersion] = useState(0);
  const log = useRef({ lines: [] as string[], partial: "", dropped: 0, chars: 0 });
  const view = useRef<HTMLPreElement>(null);
  const chunkSeen = useRef(onChunk);
  chunkSeen.current = onChunk;

  // In a background tab the follow stream is closed (usePageVisible); back in front the log is read again.
  const visible = usePageVisible();
  useEffect(() => {
    if (!visible) return;
    const ac = new AbortController();
    const decoder = new TextDecoder();
    log.current = { lines: [], partial: "", dropped: 0, chars: 0 };
    setVersion((v) => v + 1);
    setStream({ kind: "streaming" });
    const append = (text: string, final = false) => {
      const l = log.current;
      // A lone \r (a progress bar redrawing its line) ends a line too; an endless line is cut every MAX_LINE_CHARS,
      // so neither the buffer nor the re-split of the unfinished line grows without bound.
      const parts = (l.partial + text).split(/\r?\n|\r/);
      l.partial = parts.pop()!;
      while (l.partial.length > MAX_LINE_CHARS) {
        parts.push(l.partial.slice(0, MAX_LINE_CHARS));
        l.partial = l.partial.slice(MAX_LINE_CHARS);
      }
      if (final && l.partial !== "") {
        parts.push(l.partial);
        l.partial = "";
      }
      for (const p of parts) {
        const line = p.length > MAX_LINE_CHARS ? `${p.slice(0, MAX_LINE_CHARS)} … (${p.length - MAX_LINE_CHARS} more characters not kept here)` : p;
        l.lines.push(line);
        l.chars += line.length;
      }
      let drop = 0;
      while ((l.lines.length - drop > MAX_LINES || l.chars > MAX_CHARS) && drop < l.lines.length - 1) l.chars -= l.lines[drop++]!.length;
      if (drop > 0) {
        l.lines.splice(0, drop);
        l.dropped += drop;
      }
      setVersion((v) => v + 1);
    };
    void (async () => {
      try {
        for await (const chunk of api.jobs.getLogs({ name, team, replica, follow: true }, { signal: ac.signal })) {
          append(decoder.decode(chunk.data, { stream: true }));
          chunkSeen.current();
        }
        append(decoder.decode(), true);
        setStream({ kind: "ended" });
      } catch (err) {
        if (ac.signal.aborted || isAborted(err)) return;
        setStream({ kind: "failed", message: errorText(err) });
      }
    })();
    return () => ac.abort();
  }, [api, name, team, replica, attempt, restarts, visible]);

  const { lines, partial, dropped } = log.current;
  const all = partial ? [...lines, partial] : lines;
  const needle = search.trim().toLowerCase();
  const matching = needle ? all.flatMap((l, i) => (l.toLowerCase().includes(needle) ? [i] : [])) : undefined;
  const shownIdx = (matching ?? all.map((_, i) => i)).slice(-MAX_SHOWN);

  useLayoutEffect(() => {
    if (follow && view.current) view.current.scrollTop = view.current.scrollHeight;
  });

  function onScroll() {
    const el = view.current;
    if (el && follow && el.scrollHeight - el.scrollTop - el.clientHeight > 24) setFollow(false);
  }

  const count = `${all.length} line${all.length === 1 ? "" : "s"}${dropped > 0 ? ` (the ${dropped} before them dropped)` : ""}`;
  const status = stream.kind === "streaming" ? "streaming" : stream.kind === "ended" ? "ended" : `stopped: ${stream.message}`;
  return (
    <section aria-labelledby="logs-title">
      <h2 id="logs-title">Logs</h2>
      <div className="toolbar">
        {replicas.length > 1 ? (
          <div className="field">
            <label htmlFor="log-replica">Replica</label>
            <select id="log-replica" value={replica} onChange={(e) => setReplica(Number(e.target.value))}>
              {replicas.map((r) => (
                <option key={r.index} value={r.index}>
                  {r.index}
                  {r.role ? ` (${r.role})` : ""}
                </option>
              ))}
            </select>
          </div>
        ) : null}
        <div className="field">
          <label htmlFor="log-search">Search the logs</label>
          <input id="log-search" type="search" value={search} onChange={(e) => setSearch(e.target.value)} autoComplete="off" spellCheck={false} />
        </div>
        <div className="check">
          <input id="log-follow" type="checkbox" checked={follow} onChange={(e) => setFollow(e.target.checked)} />
          <label htmlFor="log-follow">Follow new lines</label>
        </div>
        <button type="button" onClick={() => saveBlob(new Blob([all.join("\n")], { type: "text/plain" }), `${name}-replica-${replica}-attempt-${attempt}.log`)} disabled={all.length === 0}>
          Download
        </button>
        {stream.kind === "failed" ? (
          <button type="button" onClick={() => setRestarts((n) => n + 1)}>
            Reconnect
          </button>
        ) : null}
      </div>
      <p className={stream.kind === "failed" ? "error" : "muted"} id="logs-status">
        Replica {replica}
        {attempt > 0 ? `, attempt ${attempt}` : ""}: {count}, {status}
        {matching ? `; ${matching.length} matching “${search.trim()}”` : ""}
        {shownIdx.length < (matching ?? all).length ? `; the last ${shownIdx.length} shown` : ""}.
      </p>
      <pre className="logs" ref={view} onScroll={onScroll} tabIndex={0} role="region" aria-label={`Logs of replica ${replica}`} aria-describedby="logs-status" data-lines={all.length}>
        {all.length === 0 ? <span className="muted">{attempt === 0 ? "No output yet: the job has not started." : "No output yet."}</span> : null}
        {shownIdx.map((i) => (
          <Fragment key={dropped + i}>
            {needle ? highlight(all[i]!, needle) : all[i]}
            {"\n"}
          </Fragment>
        ))}
      </pre>
    </section>
  );
}

/** The line with each occurrence of `needle` (lower case) in <mark>. */
function highlight(line: string, needle: string): ReactNode[] {
  const out: ReactNode[] = [];
  const lower = line.toLowerCase();
  let at = 0;
  for (let i = lower.indexOf(needle); i !== -1; i = lower.indexOf(needle, at)) {
    if (i > at) out.push(line.slice(at, i));
    out.push(<mark key={i}>{line.slice(i, i + needle.length)}</mark>);
    at = i + needle.length;
  }
  out.push(line.slice(at));
  return out;
}
