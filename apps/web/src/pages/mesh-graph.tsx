// Who calls whom, from the client side of the RED metrics: the services on a circle (the gateway on top), an arrow per
// caller → destination, thicker for more calls, dashed and in the error colour when some failed. The SVG is one image
// with a title and a description; the same edges are a table below it, for reading the numbers and for screen readers.
import { useId } from "react";
import type { Edge } from "./mesh-stats.js";
import { num } from "./queues-text.js";

const W = 640;
const H = 400;
const NODE_H = 30;

interface Placed {
  name: string;
  x: number;
  y: number;
  hw: number;
}

/** The nodes on a circle, in a stable order, starting at the top with the gateway when there is one. */
export function circleLayout(names: readonly string[]): Placed[] {
  const sorted = [...new Set(names)].sort((a, b) => (a === "gateway" ? -1 : b === "gateway" ? 1 : a.localeCompare(b)));
  const r = Math.min(W, H) / 2 - NODE_H - 10;
  return sorted.map((name, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(1, sorted.length);
    return { name, x: W / 2 + (sorted.length === 1 ? 0 : r * 1.35 * Math.cos(a)), y: H / 2 + (sorted.length === 1 ? 0 : r * Math.sin(a)), hw: 8 + name.length * 4.2 };
  });
}

/** Where the line from a node's centre towards (tx, ty) leaves the node's box. */
function boxExit(n: Placed, tx: number, ty: number): [number, number] {
  const dx = tx - n.x;
  const dy = ty - n.y;
  const t = Math.min(dx === 0 ? Infinity : n.hw / Math.abs(dx), dy === 0 ? Infinity : NODE_H / 2 / Math.abs(dy));
  return Number.isFinite(t) ? [n.x + dx * Math.min(1, t + 0.04), n.y + dy * Math.min(1, t + 0.04)] : [n.x, n.y];
}

export function CallGraph({ edges, services }: { edges: readonly Edge[]; services: readonly string[] }) {
  const id = useId().replace(/:/g, "");
  const nodes = circleLayout([...services, ...edges.flatMap((e) => [e.from, e.to])]);
  const at = new Map(nodes.map((n) => [n.name, n]));
  const maxCalls = Math.max(1, ...edges.map((e) => e.calls));
  const failing = edges.filter((e) => e.errors > 0).length;
  const desc =
    edges.length === 0
      ? "No calls between services recorded yet."
      : `${edges.length} caller-to-destination pairs among ${nodes.length} services${failing ? `; ${failing} with errors, drawn dashed` : ""}. The table after the graph lists them.`;
  return (
    <>
      <svg className="mesh-graph" viewBox={`0 0 ${W} ${H}`} role="img" aria-labelledby={`${id}-t ${id}-d`}>
        <title id={`${id}-t`}>Who calls whom</title>
        <desc id={`${id}-d`}>{desc}</desc>
        <defs>
          {(["ok", "bad"] as const).map((k) => (
            <marker key={k} id={`${id}-arrow-${k}`} className={`mesh-arrow-${k}`} viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="10" markerHeight="10" orient="auto-start-reverse">
              <path d="M0,0 L10,5 L0,10 z" />
            </marker>
          ))}
        </defs>
        {edges.map((e) => {
          const a = at.get(e.from);
          const b = at.get(e.to);
          if (!a || !b) return null;
          // A gentle curve to the left of the direction of travel, so A → B and B → A do not overlap.
          const mx = (a.x + b.x) / 2;
          const my = (a.y + b.y) / 2;
          const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
          const cx = mx + ((b.y - a.y) / len) * 28;
          const cy = my - ((b.x - a.x) / len) * 28;
          const [x1, y1] = boxExit(a, cx, cy);
          const [x2, y2] = boxExit(b, cx, cy);
          const bad = e.errors > 0;
          const width = 1.5 + (3.5 * Math.log1p(e.calls)) / Math.log1p(maxCalls);
          return (
            <g key={`${e.from}->${e.to}`} className={bad ? "mesh-edge mesh-edge-bad" : "mesh-edge"}>
              <title>{edgeText(e)}</title>
              <path d={`M${x1},${y1} Q${cx},${cy} ${x2},${y2}`} strokeWidth={width} strokeDasharray={bad ? "6 4" : undefined} markerEnd={`url(#${id}-arrow-${bad ? "bad" : "ok"})`} />
            </g>
          );
        })}
        {nodes.map((n) => (
          <g key={n.name} className="mesh-node">
            <rect x={n.x - n.hw} y={n.y - NODE_H / 2} width={2 * n.hw} height={NODE_H} rx="8" />
            <text x={n.x} y={n.y} dominantBaseline="central" textAnchor="middle">
              {n.name}
            </text>
          </g>
        ))}
      </svg>
      {edges.length > 0 ? <EdgeTable edges={edges} /> : <p className="dash-empty">No service has called another yet.</p>}
    </>
  );
}

function edgeText(e: Edge): string {
  return `${e.from} calls ${e.to}: ${e.calls.toLocaleString()} calls${e.callsPerSec !== undefined ? ` (${num(e.callsPerSec)}/s now)` : ""}, ${e.errors === 0 ? "no errors" : `${e.errors.toLocaleString()} errors`}`;
}

function EdgeTable({ edges }: { edges: readonly Edge[] }) {
  return (
    <div className="dash-scroll">
      <table>
        <caption>Calls between services (client side, since each service started)</caption>
        <thead>
          <tr>
            <th scope="col">Caller</th>
            <th scope="col">Destination</th>
            <th scope="col" className="num">
              Calls
            </th>
            <th scope="col" className="num">
              Calls/s
            </th>
            <th scope="col" className="num">
              Errors
            </th>
            <th scope="col" className="num">
              Error rate
            </th>
          </tr>
        </thead>
        <tbody>
          {edges.map((e) => (
            <tr key={`${e.from}->${e.to}`}>
              <th scope="row">{e.from}</th>
              <td>{e.to}</td>
              <td className="num">{e.calls.toLocaleString()}</td>
              <td className="num">{e.callsPerSec === undefined ? "—" : num(e.callsPerSec)}</td>
              <td className={e.errors > 0 ? "num state-bad" : "num"}>{e.errors.toLocaleString()}</td>
              <td className="num">{e.calls > 0 ? `${num((100 * e.errors) / e.calls, 1)}%` : "—"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
