/** The p-th percentile (0..100) by linear interpolation between closest ranks; NaN for no values. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const pos = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export function mean(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  let s = 0;
  for (const x of xs) s += x;
  return s / xs.length;
}

/** Jain's fairness index: (Σx)² / (n·Σx²); 1 when all equal, 1/n when one takes all. */
export function jain(xs: readonly number[]): number {
  if (xs.length === 0) return 1;
  let s = 0;
  let s2 = 0;
  for (const x of xs) [s, s2] = [s + x, s2 + x * x];
  return s2 === 0 ? 1 : (s * s) / (xs.length * s2);
}
