// grid: Katib's grid over every parameter. A double needs a `step`, or the setting `points_per_double` (evenly
// spaced points from min to max, geometric for log-scale ones); ints step from min by their step (default 1);
// discrete and categorical take their lists. Points are enumerated in product order, the last parameter fastest;
// each call returns the first points not yet in the history (any state: a failed point is not retried), [] at the end.
import type { AlgorithmDefinition } from "./algorithm.js";
import { tidy, assignmentKey, type CompiledSpace } from "./space.js";
import type { ParameterSpec, SearchSpace, SettingProblem, Suggestion } from "./types.js";

/** The most points a grid may have (its index must stay an exact integer). */
export const MAX_GRID_POINTS = 1e15;

export function gridValues(p: ParameterSpec, pointsPerDouble: number | undefined): (number | string)[] | undefined {
  switch (p.type) {
    case "categorical":
      return (p.list ?? []).slice();
    case "discrete":
      return [...new Set((p.list ?? []).map(Number))].sort((a, b) => a - b);
    case "int":
    case "double": {
      const min = p.min!;
      const max = p.max!;
      const step = p.step ?? (p.type === "int" ? 1 : undefined);
      if (step !== undefined) {
        const n = Math.floor((max - min) / step + 1e-9) + 1;
        return Array.from({ length: n }, (_, k) => (p.type === "int" ? Math.round(min + k * step) : tidy(min + k * step)));
      }
      if (pointsPerDouble === undefined) return undefined;
      if (min === max) return [min];
      const n = pointsPerDouble;
      return Array.from({ length: n }, (_, k) =>
        k === n - 1 ? max : p.log === true ? tidy(Math.exp(Math.log(min) + ((Math.log(max) - Math.log(min)) * k) / (n - 1))) : tidy(min + ((max - min) * k) / (n - 1)),
      );
    }
  }
}

function checkGrid(space: SearchSpace, pointsPerDouble: number | undefined): SettingProblem[] {
  const out: SettingProblem[] = [];
  let total = 1;
  for (const p of space.parameters) {
    const values = gridValues(p, pointsPerDouble);
    if (values === undefined) {
      out.push({ setting: "points_per_double", message: `grid needs a step for the double parameter ${p.name}: give it a step, or set points_per_double (an integer ≥ 2) for every double without one` });
      continue;
    }
    total *= values.length;
  }
  if (out.length === 0 && total > MAX_GRID_POINTS) out.push({ message: `the grid has ${total.toExponential(2)} points; at most ${MAX_GRID_POINTS.toExponential(0)} are supported: use coarser steps or fewer parameters` });
  return out;
}

export const gridAlgorithm: AlgorithmDefinition = {
  name: "grid",
  settings: [{ name: "points_per_double", kind: "int", min: 2, max: 1_000_000, description: "points from min to max for a double without a step" }],
  check: (space, settings) => checkGrid(space, settings["points_per_double"] as number | undefined),
  create: ({ space, settings }) => {
    const ppd = settings["points_per_double"] as number | undefined;
    const axes = space.parameters.map((p) => gridValues(specOf(space, p.name), ppd)!);
    const total = axes.reduce((n, a) => n * a.length, 1);
    return {
      suggest: (history, count) => {
        const seen = new Set(history.map((t) => assignmentKey(space, t.assignment)));
        const out: Suggestion[] = [];
        for (let idx = 0; idx < total && out.length < count; idx++) {
          const a = pointAt(space, axes, idx);
          if (!seen.has(assignmentKey(space, a))) out.push({ assignment: a });
        }
        return out;
      },
    };
  },
};

/** The grid point with product index `idx` (mixed radix, last parameter fastest). */
function pointAt(space: CompiledSpace, axes: readonly (readonly (number | string)[])[], idx: number): Record<string, number | string> {
  const a: Record<string, number | string> = {};
  let rest = idx;
  for (let i = axes.length - 1; i >= 0; i--) {
    const axis = axes[i]!;
    a[space.parameters[i]!.name] = axis[rest % axis.length]!;
    rest = Math.floor(rest / axis.length);
  }
  return a;
}

function specOf(space: CompiledSpace, name: string): ParameterSpec {
  return space.spec.parameters.find((p) => p.name === name)!;
}
