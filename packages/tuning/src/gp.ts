// A Gaussian process on the unit cube: Matérn 5/2 with one lengthscale per input (ARD), a signal variance and a
// noise variance, fitted by maximising the marginal likelihood (with a Gamma(3, 6) prior on each lengthscale, as
// BoTorch's classic default) with a projected L-BFGS from the best of three isotropic starts. Outputs are standardised by the caller.
import { cholesky, choleskyWithJitter, solveLower, solveUpperT } from "./numeric.js";

const SQRT5 = Math.sqrt(5);
const LOG_2PI = Math.log(2 * Math.PI);

export interface GpHyper {
  /** log lengthscales, then log signal variance, then log noise variance. */
  readonly theta: Float64Array;
}

/** Box bounds of the hyperparameters (log space). */
function bounds(d: number): { lo: Float64Array; hi: Float64Array } {
  const lo = new Float64Array(d + 2);
  const hi = new Float64Array(d + 2);
  for (let i = 0; i < d; i++) {
    lo[i] = Math.log(0.01);
    hi[i] = Math.log(20);
  }
  lo[d] = Math.log(0.05);
  hi[d] = Math.log(20);
  lo[d + 1] = Math.log(1e-6);
  hi[d + 1] = Math.log(1);
  return { lo, hi };
}

/** Matérn 5/2 correlation at distance r. */
function matern52(r: number): number {
  const sr = SQRT5 * r;
  return (1 + sr + (sr * sr) / 3) * Math.exp(-sr);
}

export class GaussianProcess {
  /** The factor of K = k(X, X) + noise·I, and α = K⁻¹y. */
  private readonly l: Float64Array;
  private readonly alpha: Float64Array;
  private readonly invLengths: Float64Array;
  readonly signal: number;
  readonly noise: number;
  private readonly tmpK: Float64Array;
  private readonly tmpV: Float64Array;

  private constructor(
    readonly x: Float64Array,
    readonly n: number,
    readonly d: number,
    readonly y: Float64Array,
    readonly hyper: GpHyper,
    l: Float64Array,
  ) {
    this.l = l;
    this.invLengths = new Float64Array(d);
    for (let k = 0; k < d; k++) this.invLengths[k] = Math.exp(-hyper.theta[k]!);
    this.signal = Math.exp(hyper.theta[d]!);
    this.noise = Math.exp(hyper.theta[d + 1]!);
    this.alpha = solveUpperT(l, n, solveLower(l, n, y, new Float64Array(n)), new Float64Array(n));
    this.tmpK = new Float64Array(n);
    this.tmpV = new Float64Array(n);
  }

  /** The posterior given the hyperparameters (no fitting); undefined if K cannot be factored. */
  static condition(x: Float64Array, n: number, d: number, y: Float64Array, hyper: GpHyper): GaussianProcess | undefined {
    const k = covariance(x, n, d, hyper.theta);
    const c = choleskyWithJitter(k, n, 1e-8);
    return c === undefined ? undefined : new GaussianProcess(x, n, d, y, hyper, c.l);
  }

  /** Fits the hyperparameters to (x, y) and conditions on them. */
  static fit(x: Float64Array, n: number, d: number, y: Float64Array, maxIterations = 30): GaussianProcess | undefined {
    const hyper = fitHyper(x, n, d, y, maxIterations);
    return GaussianProcess.condition(x, n, d, y, hyper);
  }

  /** Posterior mean and variance of the latent function at the point u (length d). */
  predict(u: ArrayLike<number>): { mean: number; variance: number } {
    const { n, d, x, invLengths } = this;
    const ks = this.tmpK;
    for (let i = 0; i < n; i++) {
      let r2 = 0;
      const row = i * d;
      for (let k = 0; k < d; k++) {
        const t = (x[row + k]! - u[k]!) * invLengths[k]!;
        r2 += t * t;
      }
      ks[i] = this.signal * matern52(Math.sqrt(r2));
    }
    let mean = 0;
    for (let i = 0; i < n; i++) mean += ks[i]! * this.alpha[i]!;
    const v = solveLower(this.l, n, ks, this.tmpV);
    let q = 0;
    for (let i = 0; i < n; i++) q += v[i]! * v[i]!;
    return { mean, variance: Math.max(1e-12, this.signal - q) };
  }

  /** Lengthscales, for tests and explanations. */
  lengthscales(): number[] {
    return Array.from(this.invLengths, (v) => 1 / v);
  }
}

/** k(X, X) + noise·I for hyperparameters theta. */
function covariance(x: Float64Array, n: number, d: number, theta: Float64Array): Float64Array {
  const inv = new Float64Array(d);
  for (let k = 0; k < d; k++) inv[k] = Math.exp(-theta[k]!);
  const s2 = Math.exp(theta[d]!);
  const sn2 = Math.exp(theta[d + 1]!);
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    out[i * n + i] = s2 + sn2;
    for (let j = 0; j < i; j++) {
      let r2 = 0;
      for (let k = 0; k < d; k++) {
        const t = (x[i * d + k]! - x[j * d + k]!) * inv[k]!;
        r2 += t * t;
      }
      const v = s2 * matern52(Math.sqrt(r2));
      out[i * n + j] = v;
      out[j * n + i] = v;
    }
  }
  return out;
}

/** Buffers for one fit's likelihood evaluations (n×n each), so that an evaluation allocates nothing large. */
interface Workspace {
  readonly k: Float64Array;
  readonly g: Float64Array;
  readonly l: Float64Array;
  readonly inv: Float64Array;
  readonly alpha: Float64Array;
  readonly tmp: Float64Array;
}

function workspace(n: number): Workspace {
  return { k: new Float64Array(n * n), g: new Float64Array(n * n), l: new Float64Array(n * n), inv: new Float64Array(n * n), alpha: new Float64Array(n), tmp: new Float64Array(n) };
}

/** Negative log marginal likelihood minus log prior, and its gradient in theta. */
export function negLogPosterior(n: number, d: number, y: Float64Array, theta: Float64Array, diff2: Float64Array, ws: Workspace = workspace(n)): { f: number; grad: Float64Array } {
  const inv2 = new Float64Array(d);
  for (let q = 0; q < d; q++) inv2[q] = Math.exp(-2 * theta[q]!);
  const s2 = Math.exp(theta[d]!);
  const sn2 = Math.exp(theta[d + 1]!);
  const { k, g, l, inv, alpha, tmp } = ws;
  // g keeps s2·(5/3)(1+√5r)e^{−√5r} per pair: ∂K/∂logℓ_q = g·Δ_q²/ℓ_q².
  for (let i = 0; i < n; i++) {
    k[i * n + i] = s2 + sn2;
    const rowBase = (i * (i - 1)) / 2;
    for (let j = 0; j < i; j++) {
      let r2 = 0;
      const base = (rowBase + j) * d;
      for (let q = 0; q < d; q++) r2 += diff2[base + q]! * inv2[q]!;
      const sr = SQRT5 * Math.sqrt(r2);
      const e = Math.exp(-sr);
      const kv = s2 * (1 + sr + (sr * sr) / 3) * e;
      k[i * n + j] = kv;
      k[j * n + i] = kv;
      g[i * n + j] = s2 * (5 / 3) * (1 + sr) * e;
    }
  }
  const grad = new Float64Array(d + 2);
  let jitter = 1e-8;
  let factored = false;
  for (let attempt = 0; attempt < 7 && !factored; attempt++, jitter *= 10) {
    l.set(k);
    for (let i = 0; i < n; i++) l[i * n + i] = l[i * n + i]! + jitter;
    factored = cholesky(l, n);
  }
  if (!factored) return { f: Infinity, grad };
  solveUpperT(l, n, solveLower(l, n, y, tmp), alpha);
  let f = 0.5 * n * LOG_2PI;
  for (let i = 0; i < n; i++) f += 0.5 * y[i]! * alpha[i]! + Math.log(l[i * n + i]!);
  inverseLowerTriangular(l, n, inv);
  // dF/dθ = −½ tr(W ∂K/∂θ) with W = ααᵀ − K⁻¹ and K⁻¹ = L⁻ᵀL⁻¹: K⁻¹_ij = Σ_{m ≥ max(i,j)} L⁻¹_mi L⁻¹_mj.
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let m = i; m < n; m++) s += inv[m * n + i]! * inv[m * n + j]!;
      const w = alpha[i]! * alpha[j]! - s;
      if (i === j) {
        grad[d] = grad[d]! - 0.5 * w * s2;
        grad[d + 1] = grad[d + 1]! - 0.5 * w * sn2;
        continue;
      }
      grad[d] = grad[d]! - w * k[i * n + j]!;
      const gw = w * g[i * n + j]!;
      const base = ((i * (i - 1)) / 2 + j) * d;
      for (let q = 0; q < d; q++) grad[q] = grad[q]! - gw * diff2[base + q]! * inv2[q]!;
    }
  }
  // Gamma(3, 6) prior on each lengthscale ℓ = e^θ, in θ-space: log p = 3θ − 6e^θ + const.
  for (let q = 0; q < d; q++) {
    const ell = Math.exp(theta[q]!);
    f -= 3 * theta[q]! - 6 * ell;
    grad[q] = grad[q]! - (3 - 6 * ell);
  }
  return { f, grad };
}

/** L⁻¹ of a lower-triangular L (row-major), into `out` (lower triangle written, the rest left as is). */
function inverseLowerTriangular(l: Float64Array, n: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    const d = 1 / l[ri + i]!;
    out[ri + i] = d;
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[ri + k]! * out[k * n + j]!;
      out[ri + j] = s * d;
    }
  }
}

/** Squared differences per input of every pair i > j, packed: [(i(i−1)/2 + j)·d + k]. */
function pairDiffs(x: Float64Array, n: number, d: number): Float64Array {
  const out = new Float64Array(((n * (n - 1)) / 2) * d);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < i; j++) {
      const base = ((i * (i - 1)) / 2 + j) * d;
      for (let k = 0; k < d; k++) {
        const t = x[i * d + k]! - x[j * d + k]!;
        out[base + k] = t * t;
      }
    }
  }
  return out;
}

/**
 * Maximum a posteriori hyperparameters: the best of a few isotropic starting points (lengthscale 0.1, 0.3, 1 on the
 * unit cube; one likelihood evaluation each), then projected L-BFGS from it.
 */
export function fitHyper(x: Float64Array, n: number, d: number, y: Float64Array, maxIterations: number): GpHyper {
  const diff2 = pairDiffs(x, n, d);
  const { lo, hi } = bounds(d);
  const ws = workspace(n);
  const objective = (t: Float64Array): { f: number; grad: Float64Array } => negLogPosterior(n, d, y, t, diff2, ws);
  let start: { theta: Float64Array; f: number } | undefined;
  for (const ell of [0.1, 0.3, 1]) {
    const t0 = new Float64Array(d + 2);
    t0.fill(Math.log(ell), 0, d);
    t0[d] = 0;
    t0[d + 1] = Math.log(1e-3);
    const f = objective(t0).f;
    if (start === undefined || f < start.f) start = { theta: t0, f };
  }
  return { theta: lbfgs(objective, start!.theta, lo, hi, maxIterations).theta };
}

/** Projected L-BFGS (memory 6) with a backtracking Armijo line search, inside the box [lo, hi]. */
export function lbfgs(
  fn: (x: Float64Array) => { f: number; grad: Float64Array },
  x0: Float64Array,
  lo: Float64Array,
  hi: Float64Array,
  maxIterations: number,
): { theta: Float64Array; f: number } {
  const dim = x0.length;
  const clip = (v: Float64Array): Float64Array => v.map((e, i) => Math.min(hi[i]!, Math.max(lo[i]!, e)));
  let x = clip(Float64Array.from(x0));
  let { f, grad } = fn(x);
  if (!Number.isFinite(f)) return { theta: x, f };
  const ss: Float64Array[] = [];
  const ys: Float64Array[] = [];
  const dot = (a: Float64Array, b: Float64Array): number => {
    let s = 0;
    for (let i = 0; i < dim; i++) s += a[i]! * b[i]!;
    return s;
  };
  for (let it = 0; it < maxIterations; it++) {
    // Two-loop recursion for the direction −H·g.
    const q = Float64Array.from(grad);
    const alphas: number[] = [];
    for (let k = ss.length - 1; k >= 0; k--) {
      const a = dot(ss[k]!, q) / dot(ys[k]!, ss[k]!);
      alphas[k] = a;
      for (let i = 0; i < dim; i++) q[i] = q[i]! - a * ys[k]![i]!;
    }
    if (ss.length > 0) {
      const last = ss.length - 1;
      const gamma = dot(ss[last]!, ys[last]!) / dot(ys[last]!, ys[last]!);
      for (let i = 0; i < dim; i++) q[i] = q[i]! * gamma;
    } else {
      const gn = Math.sqrt(dot(grad, grad));
      for (let i = 0; i < dim; i++) q[i] = q[i]! / Math.max(1, gn);
    }
    for (let k = 0; k < ss.length; k++) {
      const b = dot(ys[k]!, q) / dot(ys[k]!, ss[k]!);
      for (let i = 0; i < dim; i++) q[i] = q[i]! + ss[k]![i]! * (alphas[k]! - b);
    }
    let dir = q.map((v) => -v);
    if (dot(dir, grad) >= 0) dir = grad.map((v) => -v / Math.max(1, Math.sqrt(dot(grad, grad))));
    let step = 1;
    let accepted: { x: Float64Array; f: number; grad: Float64Array } | undefined;
    for (let ls = 0; ls < 20; ls++) {
      const xn = clip(x.map((v, i) => v + step * dir[i]!));
      const moved = xn.map((v, i) => v - x[i]!);
      const r = fn(xn);
      if (Number.isFinite(r.f) && r.f <= f + 1e-4 * dot(grad, moved)) {
        accepted = { x: xn, f: r.f, grad: r.grad };
        break;
      }
      step *= 0.5;
    }
    if (accepted === undefined) break;
    const s = accepted.x.map((v, i) => v - x[i]!);
    const yv = accepted.grad.map((v, i) => v - grad[i]!);
    const converged = Math.abs(f - accepted.f) < 1e-7 * (1 + Math.abs(f)) || Math.sqrt(dot(s, s)) < 1e-8;
    x = accepted.x;
    f = accepted.f;
    grad = accepted.grad;
    if (dot(s, yv) > 1e-10) {
      ss.push(s);
      ys.push(yv);
      if (ss.length > 6) {
        ss.shift();
        ys.shift();
      }
    }
    if (converged) break;
  }
  return { theta: x, f };
}
