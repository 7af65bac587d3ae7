// Parzen estimators for TPE, as Optuna 3.1 builds them: one truncated-normal (or, for categorical parameters, one
// smoothed one-hot) component per observation plus a prior component (mean mid-range, sigma the whole range, weight
// `priorWeight`), observation weights by age (Optuna's default_weights), and per coordinate Optuna's bandwidths (the
// larger gap to a neighbour, clipped to [range/min(100, 1+n), range], "magic clip"), scaled by `bandwidthFactor`.
// Values on a grid (ints, stepped doubles, discrete) get the mass of their cell instead of a density. Unlike Optuna
// 3.1 (whose truncated-normal log-density omits −log σ), a component's density is normalised.
import { logGaussMass, logNormPdf, logSumExp, truncNormal } from "./numeric.js";
import type { Rng } from "./prng.js";
import type { CompiledSpace } from "./space.js";

export interface ParzenOptions {
  readonly priorWeight: number;
  /** Scales the kernels' widths (and their floor) from Optuna's rule. */
  readonly bandwidthFactor: number;
}

interface NumericDim {
  readonly mus: Float64Array;
  readonly sigmas: Float64Array;
  /** log of each component's mass inside [lo, hi]. */
  readonly logZ: Float64Array;
}

/** Per component, the log-probability of each category. */
type CategoricalDim = readonly Float64Array[];

/** Optuna's default_weights: flat for under 25 observations, else a ramp from 1/n up to 1 for all but the newest 25. */
export function observationWeights(n: number): Float64Array {
  const w = new Float64Array(n).fill(1);
  if (n >= 25) {
    const m = n - 25;
    for (let i = 0; i < m; i++) w[i] = m === 1 ? 1 / n : 1 / n + ((1 - 1 / n) * i) / (m - 1);
  }
  return w;
}

export class ParzenEstimator {
  /** Normalised log weights of the components (observations in the given order, then the prior). */
  readonly logWeights: Float64Array;
  private readonly weights: Float64Array;
  private readonly dims: (NumericDim | CategoricalDim)[];

  constructor(
    private readonly space: CompiledSpace,
    observations: readonly Float64Array[],
    options: ParzenOptions,
  ) {
    const n = observations.length;
    const m = n + 1;
    const w = observationWeights(n);
    const weights = new Float64Array(m);
    let total = 0;
    for (let i = 0; i < n; i++) total += weights[i] = w[i]!;
    weights[n] = options.priorWeight;
    total += options.priorWeight;
    for (let i = 0; i < m; i++) weights[i] = weights[i]! / total;
    this.weights = weights;
    this.logWeights = weights.map(Math.log);
    this.dims = space.parameters.map((p, j) => {
      if (p.categorical) {
        const k = p.choices!.length;
        const rows: Float64Array[] = [];
        const base = options.priorWeight / m;
        for (let i = 0; i < m; i++) {
          const row = new Float64Array(k).fill(base);
          if (i < n) {
            const c0 = observations[i]![j]!;
            row[c0] = row[c0]! + 1;
          }
          let s = 0;
          for (let c = 0; c < k; c++) s += row[c]!;
          for (let c = 0; c < k; c++) row[c] = Math.log(row[c]! / s);
          rows.push(row);
        }
        return rows;
      }
      const range = p.hi - p.lo;
      const mus = new Float64Array(m);
      for (let i = 0; i < n; i++) mus[i] = observations[i]![j]!;
      mus[n] = (p.lo + p.hi) / 2;
      const sigmas = new Float64Array(m);
      // Optuna's univariate rule per coordinate: the larger gap to a neighbour (the prior and the bounds included;
      // the outermost take their inner gap), clipped to [range/min(100, 1+m), range] — then scaled.
      const order = Array.from(mus.keys()).sort((a, b) => mus[a]! - mus[b]! || a - b);
      const withEnds = [p.lo, ...order.map((i) => mus[i]!), p.hi];
      for (let r = 0; r < m; r++) {
        let s = Math.max(withEnds[r + 1]! - withEnds[r]!, withEnds[r + 2]! - withEnds[r + 1]!);
        if (m >= 2 && r === 0) s = withEnds[2]! - withEnds[1]!;
        if (m >= 2 && r === m - 1) s = withEnds[m]! - withEnds[m - 1]!;
        sigmas[order[r]!] = s;
      }
      const f = options.bandwidthFactor;
      const minSigma = (f * range) / Math.min(100, 1 + m);
      for (let i = 0; i < m; i++) sigmas[i] = Math.min(range, Math.max(minSigma, f * sigmas[i]!));
      sigmas[n] = range;
      const logZ = new Float64Array(m);
      for (let i = 0; i < m; i++) logZ[i] = logGaussMass((p.lo - mus[i]!) / sigmas[i]!, (p.hi - mus[i]!) / sigmas[i]!);
      return { mus, sigmas, logZ };
    });
  }

  /** `count` draws in internal coordinates: a component by weight, then each coordinate from it. */
  sample(rng: Rng, count: number): Float64Array[] {
    const out: Float64Array[] = [];
    const cum = new Float64Array(this.weights.length);
    let acc = 0;
    this.weights.forEach((w, i) => (cum[i] = acc += w));
    for (let s = 0; s < count; s++) {
      const u = rng.next() * acc;
      let c = 0;
      while (c < cum.length - 1 && cum[c]! <= u) c++;
      const x = new Float64Array(this.dims.length);
      this.space.parameters.forEach((p, j) => {
        const dim = this.dims[j]!;
        if (p.categorical) {
          const row = (dim as CategoricalDim)[c]!;
          let r = rng.next();
          let k = 0;
          while (k < row.length - 1 && (r -= Math.exp(row[k]!)) > 0) k++;
          x[j] = k;
        } else {
          const nd = dim as NumericDim;
          x[j] = truncNormal(rng.next(), nd.mus[c]!, nd.sigmas[c]!, p.lo, p.hi);
        }
      });
      out.push(x);
    }
    return out;
  }

  /**
   * Per-component log densities of coordinate `j` at the points: out[s·m + c]. The caller adds weights and sums over
   * coordinates (multivariate) or takes the mixture per coordinate (univariate).
   */
  componentLogPdf(j: number, points: readonly Float64Array[]): Float64Array {
    const m = this.weights.length;
    const out = new Float64Array(points.length * m);
    const p = this.space.parameters[j]!;
    const dim = this.dims[j]!;
    points.forEach((pt, s) => {
      const x = pt[j]!;
      if (p.categorical) {
        const rows = dim as CategoricalDim;
        for (let c = 0; c < m; c++) out[s * m + c] = rows[c]![x]!;
        return;
      }
      const { mus, sigmas, logZ } = dim as NumericDim;
      if (p.q !== undefined) {
        const a = Math.max(p.lo, x - p.q / 2);
        const b = Math.min(p.hi, x + p.q / 2);
        for (let c = 0; c < m; c++) out[s * m + c] = logGaussMass((a - mus[c]!) / sigmas[c]!, (b - mus[c]!) / sigmas[c]!) - logZ[c]!;
      } else {
        for (let c = 0; c < m; c++) out[s * m + c] = logNormPdf((x - mus[c]!) / sigmas[c]!) - Math.log(sigmas[c]!) - logZ[c]!;
      }
    });
    return out;
  }

  /** log density of each point, jointly over all coordinates (multivariate) — or of coordinate `only`. */
  logPdf(points: readonly Float64Array[], only?: number): Float64Array {
    const m = this.weights.length;
    const acc = new Float64Array(points.length * m);
    for (let s = 0; s < points.length; s++) for (let c = 0; c < m; c++) acc[s * m + c] = this.logWeights[c]!;
    const dims = only === undefined ? this.space.parameters.map((_, j) => j) : [only];
    for (const j of dims) {
      const lp = this.componentLogPdf(j, points);
      for (let i = 0; i < acc.length; i++) acc[i] = acc[i]! + lp[i]!;
    }
    const out = new Float64Array(points.length);
    for (let s = 0; s < points.length; s++) out[s] = logSumExp(acc.subarray(s * m, (s + 1) * m));
    return out;
  }
}
