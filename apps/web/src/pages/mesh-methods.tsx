// Calls, errors and latency per method: the server side (what each service answered) or the client side (what each
// service asked of another), filtered by a word, busiest first.
import { useId, useState } from "react";
import type { MethodStats, Side } from "./mesh-stats.js";
import { num } from "./queues-text.js";

/** "0.42 ms", "12.3 ms", "1.24 s". */
export function latencyText(sec: number | undefined): string {
  if (sec === undefined || !Number.isFinite(sec)) return "—";
  const ms = sec * 1000;
  if (ms < 1) return `${ms.toFixed(2)} ms`;
  if (ms < 1000) return `${num(ms, ms < 10 ? 2 : 1)} ms`;
  return `${num(sec, 2)} s`;
}

const rateText = (r: number | undefined) => (r === undefined ? "—" : r === 0 ? "0" : r < 0.01 ? "< 0.01" : num(r));

export function MethodsSection({ stats }: { stats: readonly MethodStats[] }) {
  const [side, setSide] = useState<Side>("server");
  const [filter, setFilter] = useState("");
  const id = useId();
  const words = filter.trim().toLowerCase();
  const rows = stats.filter((s) => s.side === side && (!words || `${s.service} ${s.peer} ${s.method}`.toLowerCase().includes(words)));
  const client = side === "client";
  return (
    <section aria-labelledby="methods-title">
      <h2 id="methods-title">Calls per method</h2>
      <form className="mesh-filters" onSubmit={(e) => e.preventDefault()} aria-label="Which calls to show">
        <fieldset>
          <legend>Side</legend>
          <label>
            <input type="radio" name={`${id}-side`} checked={side === "server"} onChange={() => setSide("server")} /> Answered by each service (server side)
          </label>
          <label>
            <input type="radio" name={`${id}-side`} checked={client} onChange={() => setSide("client")} /> Made by each service (client side)
          </label>
        </fieldset>
        <div className="mesh-field">
          <label htmlFor={`${id}-filter`}>Filter</label>
          <input id={`${id}-filter`} type="search" value={filter} onChange={(e) => setFilter(e.target.value)} placeholder="service or method" />
        </div>
      </form>
      <p className="help">
        Calls and errors since each service started; calls/s over the last interval between two refreshes. Latency (mean, and 95th and 99th percentiles estimated from the histogram
        buckets) is over that interval when it had calls, otherwise since the service started (marked “since start”). Errors are calls that ended with any code but OK.
      </p>
      {rows.length === 0 ? (
        <p className="dash-empty">{stats.length === 0 ? "No calls recorded yet." : "No method matches."}</p>
      ) : (
        <div className="dash-scroll">
          <table className="mesh-methods">
            <caption className="visually-hidden">{client ? "Calls each service made, per destination and method" : "Calls each service answered, per method"}</caption>
            <thead>
              <tr>
                <th scope="col">{client ? "Caller" : "Service"}</th>
                {client ? <th scope="col">Destination</th> : null}
                <th scope="col">Method</th>
                <th scope="col" className="num">
                  Calls
                </th>
                <th scope="col" className="num">
                  Calls/s
                </th>
                <th scope="col" className="num">
                  Errors
                </th>
                <th scope="col">Error codes</th>
                <th scope="col" className="num">
                  Mean
                </th>
                <th scope="col" className="num">
                  p95
                </th>
                <th scope="col" className="num">
                  p99
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.map((s) => (
                <tr key={s.key}>
                  <td>{s.service}</td>
                  {client ? <td>{s.peer}</td> : null}
                  <th scope="row" className="mesh-method">
                    <span className="help">{s.method.slice(0, s.method.lastIndexOf("/") + 1).replace(/^switchyard\.v1\./, "")}</span>
                    {s.method.slice(s.method.lastIndexOf("/") + 1)}
                  </th>
                  <td className="num">{s.calls.toLocaleString()}</td>
                  <td className="num">{rateText(s.callsPerSec)}</td>
                  <td className={s.errors > 0 ? "num state-bad" : "num"}>
                    {s.errors.toLocaleString()}
                    {s.errorsPerSec ? ` (${rateText(s.errorsPerSec)}/s)` : ""}
                  </td>
                  <td>{s.errorCodes.map((c) => `${c.code} ${c.count.toLocaleString()}`).join(", ") || "—"}</td>
                  <td className="num">{latencyText(s.meanSec)}</td>
                  <td className="num">{latencyText(s.p95Sec)}</td>
                  <td className="num">
                    {latencyText(s.p99Sec)}
                    {!s.windowed && s.meanSec !== undefined ? <span className="help mesh-since"> since start</span> : null}
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
