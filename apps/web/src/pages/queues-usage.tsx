// GPU-hours and hours queued per team over several windows (Queues.GetUsage, whose GPU-hours are clipped to the
// window), and GPU-hours per day over the last week, from the differences of the windows 1 d … 7 d.
import type { GetUsageResponse } from "@switchyard/api";
import { LineChart, type ChartSeries } from "../components/chart.js";
import { useSession } from "../session.js";
import { usePolling } from "../use-polling.js";
import { hoursText } from "./queues-text.js";

const WINDOWS = [
  { since: "1h", label: "Last hour" },
  { since: "1d", label: "Last 24 h" },
  { since: "7d", label: "Last 7 days" },
  { since: "30d", label: "Last 30 days" },
] as const;
const DAYS = 7;
const REFRESH_MS = 60_000;
const MAX_CHART_TEAMS = 6;

interface TeamUsage {
  gpuHours: number;
  queuedHours: number;
  jobs: number;
}

function byTeam(res: GetUsageResponse): Map<string, TeamUsage> {
  const out = new Map<string, TeamUsage>();
  for (const r of res.rows) {
    const t = out.get(r.team) ?? { gpuHours: 0, queuedHours: 0, jobs: 0 };
    t.gpuHours += r.gpuHours;
    t.queuedHours += r.queuedHours;
    t.jobs += r.jobs;
    out.set(r.team, t);
  }
  return out;
}

export function UsageSection() {
  const { api } = useSession();
  const p = usePolling(async (signal) => {
    // The windows and the days share `since` values (1d, 7d): each is asked for once.
    const asked = new Map<string, Promise<Map<string, TeamUsage>>>();
    const get = (since: string) => asked.get(since) ?? asked.set(since, api.queues.getUsage({ since }, { signal }).then(byTeam)).get(since)!;
    const [windows, days] = await Promise.all([Promise.all(WINDOWS.map((w) => get(w.since))), Promise.all(Array.from({ length: DAYS }, (_, k) => get(`${k + 1}d`)))]);
    return { windows, days };
  }, REFRESH_MS);
  const teams = p.data ? [...new Set(p.data.windows.flatMap((w) => [...w.keys()]))].sort() : [];
  return (
    <section aria-labelledby="usage-title">
      <h2 id="usage-title">Usage per team</h2>
      {p.error ? (
        <p role="alert" className="error">
          Could not load the usage: {p.error}
        </p>
      ) : null}
      {!p.data ? (
        p.error ? null : <p role="status">Loading usage…</p>
      ) : teams.length === 0 ? (
        <p className="dash-empty">No job in the teams you can see has run or waited in the last 30 days.</p>
      ) : (
        <>
          <div className="dash-scroll">
            <table className="usage-table">
              <caption className="visually-hidden">GPU-hours and hours queued per team, over four windows</caption>
              <thead>
                <tr>
                  <td />
                  <th scope="colgroup" colSpan={WINDOWS.length}>
                    GPU-hours
                  </th>
                  <th scope="colgroup" colSpan={WINDOWS.length}>
                    Hours queued
                  </th>
                </tr>
                <tr>
                  <th scope="col">Team</th>
                  {[...WINDOWS, ...WINDOWS].map((w, i) => (
                    <th scope="col" key={i} className="num">
                      {w.label}
                    </th>
                  ))}
                </tr>
              </thead>
              <tbody>
                {teams.map((team) => (
                  <tr key={team}>
                    <th scope="row">{team}</th>
                    {p.data!.windows.map((w, i) => (
                      <td key={`g${i}`} className="num">
                        {hoursText(w.get(team)?.gpuHours ?? 0)}
                      </td>
                    ))}
                    {p.data!.windows.map((w, i) => (
                      <td key={`q${i}`} className="num">
                        {hoursText(w.get(team)?.queuedHours ?? 0)}
                      </td>
                    ))}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <p className="help">GPU-hours count only the time inside each window; hours queued are those of the jobs that ran or waited in it.</p>
          <LineChart title={`GPU-hours per day, last ${DAYS} days`} xLabel="day (0 = the last 24 h)" yLabel="GPU-hours" series={dailySeries(p.data.days, teams)} />
        </>
      )}
    </section>
  );
}

/** Per team, the GPU-hours of each day: the window of k days less the window of k − 1 (x = 1 − k, so today is 0). */
function dailySeries(days: readonly Map<string, TeamUsage>[], teams: readonly string[]): ChartSeries[] {
  const total = (team: string) => days[days.length - 1]?.get(team)?.gpuHours ?? 0;
  return [...teams]
    .sort((a, b) => total(b) - total(a))
    .slice(0, MAX_CHART_TEAMS)
    .map((team) => ({
      label: team,
      points: days.map((d, k) => {
        const before = k === 0 ? 0 : (days[k - 1]?.get(team)?.gpuHours ?? 0);
        return [-k, Math.max(0, (d.get(team)?.gpuHours ?? 0) - before)] as const;
      }),
    }));
}
