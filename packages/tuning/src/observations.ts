// What the models see of the history: each trial's internal coordinates and its loss (sign·objective, so that every
// model minimises). Failed trials and trials whose assignment is not in the space are left out; early-stopped trials
// keep their last value and the step it was reported at; running trials are pending points.
import { encodeAssignment, type CompiledSpace } from "./space.js";
import type { TrialRecord } from "./types.js";

export type ObservationKind = "completed" | "pruned" | "running";

export interface Observation {
  /** Position in the history (chronological). */
  readonly index: number;
  readonly x: Float64Array;
  /** sign·objective; NaN for running trials, +Infinity for an early-stopped trial that reported nothing. */
  readonly loss: number;
  readonly kind: ObservationKind;
  /** pruned: the step of its last value (−Infinity if none); completed: +Infinity; running: NaN. */
  readonly step: number;
}

function lastPoint(t: TrialRecord): { step: number; value: number } | undefined {
  const c = t.curve;
  if (c === undefined) return undefined;
  for (let i = c.length - 1; i >= 0; i--) if (Number.isFinite(c[i]!.value)) return c[i];
  return undefined;
}

export function observe(space: CompiledSpace, history: readonly TrialRecord[]): Observation[] {
  const out: Observation[] = [];
  history.forEach((t, index) => {
    if (t.state === "failed") return;
    const x = encodeAssignment(space, t.assignment);
    if (x === undefined) return;
    if (t.state === "running") {
      out.push({ index, x, loss: Number.NaN, kind: "running", step: Number.NaN });
      return;
    }
    const last = lastPoint(t);
    if (t.state === "succeeded") {
      const v = typeof t.objective === "number" && Number.isFinite(t.objective) ? t.objective : last?.value;
      if (v === undefined) return;
      out.push({ index, x, loss: space.sign * v, kind: "completed", step: Infinity });
      return;
    }
    // early-stopped
    const v = typeof t.objective === "number" && Number.isFinite(t.objective) ? t.objective : last?.value;
    out.push({ index, x, loss: v === undefined ? Infinity : space.sign * v, kind: "pruned", step: last?.step ?? -Infinity });
  });
  return out;
}

const KIND_RANK: Record<ObservationKind, number> = { completed: 0, pruned: 1, running: 2 };

/**
 * Optuna's ranking: completed trials by loss, then early-stopped ones (a later last step first, then by loss), then
 * running ones (the constant liar: worst of all). Ties keep chronological order.
 */
export function compareObservations(a: Observation, b: Observation): number {
  const k = KIND_RANK[a.kind] - KIND_RANK[b.kind];
  if (k !== 0) return k;
  if (a.kind === "pruned" && a.step !== b.step) return b.step - a.step > 0 ? 1 : -1;
  if (a.kind !== "running" && a.loss !== b.loss) return a.loss < b.loss ? -1 : 1;
  return a.index - b.index;
}
