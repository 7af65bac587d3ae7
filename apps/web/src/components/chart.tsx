// A line chart drawn by uPlot, for any numeric series over a shared numeric x (steps, trials, time in seconds).
// Import it only from lazily loaded pages: uPlot then stays out of the first bundle.
//
//   <LineChart title="Loss" xLabel="step" series={[{ label: "loss", points: [[1, 0.9], [2, 0.7]] }]} />
//
// Accessibility: the plot is one image (role="img") whose name says each series' latest value, the legend tells the
// series apart by line style as well as by colour, and the numbers are a table in a disclosure under the chart.
// The figure carries data-title and data-points (the number of points drawn) for tests and scripts.
import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import "./chart.css";

/** One point: [x, y]. */
export type ChartPoint = readonly [x: number, y: number];

export interface ChartSeries {
  /** Shown in the legend, the accessible name and the table's header. */
  label: string;
  /** Points in any order; one y per x (a later point with the same x wins). */
  points: readonly ChartPoint[];
}

export interface LineChartProps {
  /** The figure's caption and the start of the plot's accessible name. */
  title: string;
  /** Series drawn on one y axis; give related ones (loss and val_loss) together and unrelated ones their own chart. */
  series: readonly ChartSeries[];
  /** The x axis's name, in the table header and the accessible name (default "step"). */
  xLabel?: string;
  /** The y axis's name, under the axis (default: none). */
  yLabel?: string;
  /** Plot height in CSS pixels (default 220); the width follows the container. */
  height?: number;
  /** How values read in the legend, the name and the table (default: up to 4 significant digits). */
  format?: (value: number) => string;
}

const DASHES: readonly number[][] = [[], [8, 4], [2, 3], [10, 3, 2, 3]];
/** Tick spacings for an x of whole numbers (steps, trials): no "step 0.5". */
const INTEGER_INCRS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8, 1e9];
const integral = (xs: ArrayLike<number>) => Array.prototype.every.call(xs, (x: number) => Number.isInteger(x));
const defaultFormat = (v: number) => (Number.isInteger(v) ? String(v) : Number(v.toPrecision(4)).toString());

export function LineChart({ title, series, xLabel = "step", yLabel, height = 220, format = defaultFormat }: LineChartProps) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | undefined>(undefined);
  const scheme = useColorScheme();
  const data = useMemo(() => align(series), [series]);
  const labels = series.map((s) => s.label).join("\u0000");
  const total = series.reduce((n, s) => n + s.points.length, 0);

  // (Re)built when the series set, the colour scheme or the height changes; new points only replace the data.
  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const css = getComputedStyle(el);
    const color = (name: string, fallback: string) => css.getPropertyValue(name).trim() || fallback;
    const fg = color("--fg", "#1a1a1a");
    const grid = color("--border", "#c9ccd1");
    const axis: uPlot.Axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const u = new uPlot(
      {
        width: Math.max(200, el.clientWidth),
        height,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false } },
        axes: [{ ...axis, label: xLabel, ...(integral(data[0]) ? { incrs: INTEGER_INCRS } : {}) }, { ...axis, ...(yLabel ? { label: yLabel } : {}), values: (_u, vals) => vals.map(format) }],
        series: [{ label: xLabel }, ...series.map((s, i) => ({ label: s.label, stroke: color(`--chart-${(i % 4) + 1}`, fg), width: 2, dash: DASHES[i % DASHES.length]!, spanGaps: true, points: { show: false } }))],
      },
      data,
      el,
    );
    plot.current = u;
    const ro = new ResizeObserver(() => u.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      u.destroy();
      plot.current = undefined;
    };
    // Not rebuilt for new data (set below) nor for format or axis names, which callers pass as new values each render.
  }, [labels, scheme, height]);

  useEffect(() => plot.current?.setData(data), [data]);

  const latest = series.map((s) => ({ label: s.label, last: lastPoint(s.points) }));
  const name = `${title}: ${latest.map((l) => (l.last ? `${l.label} ${format(l.last[1])} at ${xLabel} ${format(l.last[0])}` : `${l.label} no points yet`)).join("; ")}.`;
  return (
    <figure className="chart" data-title={title} data-points={total}>
      <figcaption>{title}</figcaption>
      <div className="chart-plot" role="img" aria-label={name} ref={host} />
      <ul className="chart-legend">
        {latest.map((l, i) => (
          <li key={l.label}>
            <svg width="28" height="10" aria-hidden="true" className={`chart-swatch chart-swatch-${(i % 4) + 1}`}>
              <line x1="0" y1="5" x2="28" y2="5" strokeWidth="2" strokeDasharray={DASHES[i % DASHES.length]!.join(" ") || undefined} />
            </svg>
            {l.label}
            {l.last ? `: ${format(l.last[1])}` : ""}
          </li>
        ))}
      </ul>
      <DataTable title={title} xLabel={xLabel} series={series} data={data} format={format} />
    </figure>
  );
}

/** The numbers behind the chart, rendered only while open (a long series would otherwise be thousands of rows). */
function DataTable({ title, xLabel, series, data, format }: { title: string; xLabel: string; series: readonly ChartSeries[]; data: uPlot.AlignedData; format(v: number): string }) {
  const [open, setOpen] = useState(false);
  const xs = data[0] as number[];
  const MAX_ROWS = 500;
  const from = Math.max(0, xs.length - MAX_ROWS);
  return (
    <details className="chart-data" onToggle={(e) => setOpen(e.currentTarget.open)}>
      <summary>Data table: {title}</summary>
      {open ? (
        <table>
          <caption>
            {title}
            {from > 0 ? ` (the last ${MAX_ROWS} of ${xs.length} ${xLabel}s)` : ""}
          </caption>
          <thead>
            <tr>
              <th scope="col">{xLabel}</th>
              {series.map((s) => (
                <th scope="col" key={s.label}>
                  {s.label}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {xs.slice(from).map((x, i) => (
              <tr key={x}>
                <th scope="row">{format(x)}</th>
                {series.map((s, k) => {
                  const y = (data[k + 1] as (number | null)[])[from + i];
                  return <td key={s.label}>{y === null || y === undefined ? "" : format(y)}</td>;
                })}
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </details>
  );
}

/** uPlot's shape: one sorted x array shared by every series, with null where a series has no point at that x. */
function align(series: readonly ChartSeries[]): uPlot.AlignedData {
  const maps = series.map((s) => new Map(s.points.map(([x, y]) => [x, y])));
  const xs = [...new Set(maps.flatMap((m) => [...m.keys()]))].sort((a, b) => a - b);
  return [xs, ...maps.map((m) => xs.map((x) => m.get(x) ?? null))];
}

function lastPoint(points: readonly ChartPoint[]): ChartPoint | undefined {
  let best: ChartPoint | undefined;
  for (const p of points) if (!best || p[0] >= best[0]) best = p;
  return best;
}

/** "light" or "dark", following the system; the chart redraws in the other palette when it changes. */
function useColorScheme(): "light" | "dark" {
  const query = useMemo(() => window.matchMedia("(prefers-color-scheme: dark)"), []);
  const [dark, setDark] = useState(query.matches);
  useEffect(() => {
    const on = (e: MediaQueryListEvent) => setDark(e.matches);
    query.addEventListener("change", on);
    return () => query.removeEventListener("change", on);
  }, [query]);
  return dark ? "dark" : "light";
}
