// The job's metric series (parsed by the platform from its name=value output lines) as charts: losses together,
// accuracies together, any other series alone. Re-fetched when log chunks arrive (at most once a second) and when the
// job changes phase; between those nothing new can have been reported, so there is no timer.
import type { Job, MetricSeries } from "@switchyard/api";
import { useEffect, useMemo, useRef, useState } from "react";
import { errorText, isAborted } from "../api.js";
import { LineChart, type ChartSeries } from "../components/chart.js";
import { useSession } from "../session.js";

const MIN_INTERVAL_MS = 1000;
/** Counters printed beside the metrics (`epoch=3 loss=…`): the x axis already says where a point is. */
const COUNTERS = /^(epoch|step|global_step|iter|iteration|trial|batch)$/i;

export function JobMetrics({ job, logChunks }: { job: Job; logChunks: EventTarget }) {
  const { api } = useSession();
  const name = job.metadata?.name ?? "";
  const team = job.metadata?.team ?? "";
  const phase = job.status?.phase ?? "";
  const [series, setSeries] = useState<MetricSeries[] | undefined>();
  const [error, setError] = useState<string | undefined>();
  const refresh = useThrottled(MIN_INTERVAL_MS, async (signal) => {
    try {
      const r = await api.jobs.getMetrics({ name, team }, { signal });
      setSeries(r.series);
      setError(undefined);
    } catch (err) {
      if (!signal.aborted && !isAborted(err)) setError(errorText(err));
    }
  });

  useEffect(() => {
    const on = () => refresh();
    logChunks.addEventListener("chunk", on);
    return () => logChunks.removeEventListener("chunk", on);
  }, [logChunks, refresh]);
  // On first view and on each phase change (the last lines of a finished job are counted by then).
  useEffect(() => refresh(), [phase, refresh]);

  const charts = useMemo(() => group(series ?? []), [series]);
  return (
    <section aria-labelledby="metrics-title">
      <h2 id="metrics-title">Metrics</h2>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
      {series === undefined ? (
        <p className="muted">Loading metrics…</p>
      ) : charts.length === 0 ? (
        <p className="muted">
          No metrics yet. A job reports them as <code>name=value</code> lines on its output, e.g. <code>loss=0.42 accuracy=0.81</code>.
        </p>
      ) : (
        <div className="charts">
          {charts.map((c) => (
            <LineChart key={c.title} title={c.title} series={c.series} xLabel="step" />
          ))}
        </div>
      )}
    </section>
  );
}

/** Losses in one chart, accuracies in another, every other series in its own; counters left out. */
function group(all: readonly MetricSeries[]): { title: string; series: ChartSeries[] }[] {
  const toChart = (s: MetricSeries): ChartSeries => ({ label: s.name, points: s.points.map((p) => [Number(p.step), p.value] as const) });
  const shown = all.filter((s) => !COUNTERS.test(s.name) && s.points.length > 0);
  const loss = shown.filter((s) => /loss/i.test(s.name));
  const acc = shown.filter((s) => !/loss/i.test(s.name) && /acc/i.test(s.name));
  const rest = shown.filter((s) => !loss.includes(s) && !acc.includes(s));
  return [
    ...(loss.length > 0 ? [{ title: "Loss", series: loss.map(toChart) }] : []),
    ...(acc.length > 0 ? [{ title: "Accuracy", series: acc.map(toChart) }] : []),
    ...rest.map((s) => ({ title: s.name, series: [toChart(s)] })),
  ];
}

/**
 * A stable trigger that runs `fn` at most once per `intervalMs` and never two at once: a trigger during a run or inside
 * the interval schedules one more run (so the latest state is fetched and no change is missed). Runs get an AbortSignal
 * that aborts on unmount.
 */
function useThrottled(intervalMs: number, fn: (signal: AbortSignal) => Promise<void>): () => void {
  const latest = useRef(fn);
  latest.current = fn;
  const s = useRef({ ac: new AbortController(), lastStart: -Infinity, running: false, pending: false, timer: undefined as ReturnType<typeof setTimeout> | undefined });
  useEffect(() => {
    const st = s.current;
    st.ac = new AbortController();
    return () => {
      st.ac.abort();
      clearTimeout(st.timer);
      st.timer = undefined;
      st.pending = false;
    };
  }, []);
  const trigger = useRef(() => {
    const st = s.current;
    if (st.ac.signal.aborted || st.timer !== undefined) return;
    if (st.running) {
      st.pending = true;
      return;
    }
    const wait = st.lastStart + intervalMs - performance.now();
    if (wait > 0) {
      st.timer = setTimeout(() => {
        st.timer = undefined;
        trigger.current();
      }, wait);
      return;
    }
    st.running = true;
    st.lastStart = performance.now();
    void latest.current(st.ac.signal).finally(() => {
      st.running = false;
      if (st.pending) {
        st.pending = false;
        trigger.current();
      }
    });
  });
  return trigger.current;
}
