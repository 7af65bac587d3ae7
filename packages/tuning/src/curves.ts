// Reading trials' learning curves, for the stopping rules.
import type { CurvePoint, TrialRecord } from "./types.js";

/** The curve's points with finite steps and values (a NaN reported by a trainer is skipped). */
export function finitePoints(t: TrialRecord): CurvePoint[] {
  return (t.curve ?? []).filter((p) => Number.isFinite(p.step) && Number.isFinite(p.value));
}

/** A number for a reason: integers as they are, others to four significant figures. */
export function fmt(v: number): string {
  return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
}
