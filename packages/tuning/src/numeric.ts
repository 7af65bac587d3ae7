// Numerical building blocks shared by the models: the normal distribution (erfc, Φ, log Φ, Φ⁻¹, log of a
// Gaussian mass between two bounds), Cholesky with jitter and triangular solves on row-major Float64Arrays.

const LOG_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);
const SQRT1_2 = Math.SQRT1_2;

/** log(erfc(z)) for z ≥ 0 (Numerical Recipes' Chebyshev fit, fractional error < 1.2e-7, no underflow). */
function logErfcNonNegative(z: number): number {
  const t = 1 / (1 + 0.5 * z);
  const poly =
    -1.26551223 +
    t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))))))));
  return Math.log(t) - z * z + poly;
}

export function erfc(x: number): number {
  const r = Math.exp(logErfcNonNegative(Math.abs(x)));
  return x >= 0 ? r : 2 - r;
}

/** Standard normal CDF. */
export function normCdf(x: number): number {
  return 0.5 * erfc(-x * SQRT1_2);
}

/** log Φ(x), accurate far into the lower tail. */
export function logNormCdf(x: number): number {
  if (x < 0) return Math.log(0.5) + logErfcNonNegative(-x * SQRT1_2);
  return Math.log1p(-0.5 * erfc(x * SQRT1_2));
}

export function normPdf(x: number): number {
  return Math.exp(-0.5 * x * x - LOG_SQRT_2PI);
}

export function logNormPdf(x: number): number {
  return -0.5 * x * x - LOG_SQRT_2PI;
}

/** log(Φ(b) − Φ(a)) for a < b, stable in both tails. */
export function logGaussMass(a: number, b: number): number {
  if (!(b > a)) return -Infinity;
  if (a >= 0) return logDiff(logNormCdf(-a), logNormCdf(-b));
  if (b <= 0) return logDiff(logNormCdf(b), logNormCdf(a));
  return Math.log1p(-normCdf(a) - normCdf(-b));
}

/** log(e^x − e^y) for x ≥ y. */
function logDiff(x: number, y: number): number {
  if (y === -Infinity) return x;
  const d = y - x;
  return d >= 0 ? -Infinity : x + Math.log1p(-Math.exp(d));
}

/** Φ⁻¹(p) (Acklam's rational approximation, relative error < 1.2e-9). */
export function normInv(p: number): number {
  if (p <= 0) return -Infinity;
  if (p >= 1) return Infinity;
  const a = [-3.969683028665376e1, 2.209460984245205e2, -2.759285104469687e2, 1.38357751867269e2, -3.066479806614716e1, 2.506628277459239];
  const b = [-5.447609879822406e1, 1.615858368580409e2, -1.556989798598866e2, 6.680131188771972e1, -1.328068155288572e1];
  const c = [-7.784894002430293e-3, -3.223964580411365e-1, -2.400758277161838, -2.549732539343734, 4.374664141464968, 2.938163982698783];
  const d = [7.784695709041462e-3, 3.224671290700398e-1, 2.445134137142996, 3.754408661907416];
  const plow = 0.02425;
  if (p < plow) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0]! * q + c[1]!) * q + c[2]!) * q + c[3]!) * q + c[4]!) * q + c[5]!) / ((((d[0]! * q + d[1]!) * q + d[2]!) * q + d[3]!) * q + 1);
  }
  if (p > 1 - plow) return -normInv(1 - p);
  const q = p - 0.5;
  const r = q * q;
  return ((((((a[0]! * r + a[1]!) * r + a[2]!) * r + a[3]!) * r + a[4]!) * r + a[5]!) * q) / (((((b[0]! * r + b[1]!) * r + b[2]!) * r + b[3]!) * r + b[4]!) * r + 1);
}

/** A draw from N(mu, sigma²) truncated to [lo, hi] by inverse transform (one uniform `u`). */
export function truncNormal(u: number, mu: number, sigma: number, lo: number, hi: number): number {
  const a = (lo - mu) / sigma;
  const b = (hi - mu) / sigma;
  let x: number;
  if (a >= 0) {
    // Both bounds in the upper tail: draw the mirror image from the lower tail, where Φ keeps its precision.
    const pa = normCdf(-b);
    const pb = normCdf(-a);
    x = -normInv(pa + u * (pb - pa));
  } else {
    const pa = normCdf(a);
    const pb = normCdf(b);
    x = normInv(pa + u * (pb - pa));
  }
  const v = mu + sigma * x;
  return Number.isFinite(v) ? Math.min(hi, Math.max(lo, v)) : Math.min(hi, Math.max(lo, mu));
}

/** log Σ exp(xs[i]). */
export function logSumExp(xs: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < xs.length; i++) if (xs[i]! > max) max = xs[i]!;
  if (max === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += Math.exp(xs[i]! - max);
  return max + Math.log(s);
}

export function median(values: readonly number[]): number {
  const s = values.slice().sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/**
 * In-place lower Cholesky factor of the n×n row-major matrix `a` (only its lower triangle is read). Returns false if
 * it is not numerically positive definite.
 */
export function cholesky(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    const rj = j * n;
    let d = a[rj + j]!;
    for (let k = 0; k < j; k++) d -= a[rj + k]! * a[rj + k]!;
    if (!(d > 0)) return false;
    const ljj = Math.sqrt(d);
    a[rj + j] = ljj;
    for (let i = j + 1; i < n; i++) {
      const ri = i * n;
      let s = a[ri + j]!;
      for (let k = 0; k < j; k++) s -= a[ri + k]! * a[rj + k]!;
      a[ri + j] = s / ljj;
    }
    for (let k = j + 1; k < n; k++) a[rj + k] = 0;
  }
  return true;
}

/**
 * Cholesky of K + jitter·I, raising the jitter tenfold from `jitter` until it factors (at most 6 times). Returns the
 * factor (a new array) and the jitter used, or undefined.
 */
export function choleskyWithJitter(k: Float64Array, n: number, jitter: number): { l: Float64Array; jitter: number } | undefined {
  let j = jitter;
  for (let attempt = 0; attempt < 7; attempt++) {
    const l = Float64Array.from(k);
    for (let i = 0; i < n; i++) l[i * n + i] = l[i * n + i]! + j;
    if (cholesky(l, n)) return { l, jitter: j };
    j = j === 0 ? 1e-10 : j * 10;
  }
  return undefined;
}

/** Solves L x = b (L lower, row-major), into `out`. */
export function solveLower(l: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    const ri = i * n;
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= l[ri + k]! * out[k]!;
    out[i] = s / l[ri + i]!;
  }
  return out;
}

/** Solves Lᵀ x = b (L lower, row-major), into `out`. */
export function solveUpperT(l: Float64Array, n: number, b: ArrayLike<number>, out: Float64Array): Float64Array {
  for (let i = n - 1; i >= 0; i--) {
    let s = b[i]!;
    for (let k = i + 1; k < n; k++) s -= l[k * n + i]! * out[k]!;
    out[i] = s / l[i * n + i]!;
  }
  return out;
}

/** K⁻¹ from its Cholesky factor L (row-major n×n, full symmetric result). */
export function inverseFromCholesky(l: Float64Array, n: number): Float64Array {
  // L⁻¹ by forward substitution, then K⁻¹ = L⁻ᵀ L⁻¹.
  const li = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    li[i * n + i] = 1 / l[i * n + i]!;
    for (let j = 0; j < i; j++) {
      let s = 0;
      for (let k = j; k < i; k++) s -= l[i * n + k]! * li[k * n + j]!;
      li[i * n + j] = s / l[i * n + i]!;
    }
  }
  const inv = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = 0;
      for (let k = i; k < n; k++) s += li[k * n + i]! * li[k * n + j]!;
      inv[i * n + j] = s;
      inv[j * n + i] = s;
    }
  }
  return inv;
}
