// bayesianoptimization: a Gaussian process (gp.ts) on the unit cube — numeric parameters scaled from their internal
// interval, categorical ones one-hot — over the standardised losses, and expected improvement maximised over random
// candidates, candidates near the best trials, and a local search from the best of them. The first
// n_initial_points trials (running ones included) are random. Running trials and the earlier suggestions of the same
// call are pending: a kriging believer (their value is taken to be the posterior mean) pushes the next one elsewhere.
import { oneAtATime, rngFor, type AlgorithmDefinition } from "./algorithm.js";
import { GaussianProcess, fitHyper } from "./gp.js";
import { logNormPdf, normCdf, normPdf } from "./numeric.js";
import { observe, type Observation } from "./observations.js";
import type { Rng } from "./prng.js";
import { decodeInternal, type CompiledSpace } from "./space.js";
import { sampleAssignment } from "./suggester-random.js";
import type { Assignment, SettingProblem } from "./types.js";

/** The GP's posterior uses at most this many trials (see `selectModelPoints`)… */
export const GP_MAX_POINTS = 64;
/** …and its hyperparameters are fitted to at most this many of those. */
export const GP_FIT_POINTS = 40;
const GP_FIT_ITERATIONS = 30;
const RANDOM_CANDIDATES = 768;
const LOCAL_CANDIDATES = 256;
const REFINE_STARTS = 5;
const REFINE_STEPS = 30;

/** Maps internal coordinates to the unit cube (categorical: one-hot blocks) and back. */
export class UnitCube {
  readonly dims: number;
  private readonly offsets: number[];

  constructor(private readonly space: CompiledSpace) {
    let d = 0;
    this.offsets = space.parameters.map((p) => {
      const o = d;
      d += p.categorical ? p.choices!.length : 1;
      return o;
    });
    this.dims = d;
  }

  encode(x: ArrayLike<number>, out = new Float64Array(this.dims)): Float64Array {
    this.space.parameters.forEach((p, j) => {
      const o = this.offsets[j]!;
      if (p.categorical) {
        for (let c = 0; c < p.choices!.length; c++) out[o + c] = c === x[j] ? 1 : 0;
      } else out[o] = (x[j]! - p.lo) / (p.hi - p.lo);
    });
    return out;
  }

  decode(u: ArrayLike<number>): Float64Array {
    const x = new Float64Array(this.space.parameters.length);
    this.space.parameters.forEach((p, j) => {
      const o = this.offsets[j]!;
      if (p.categorical) {
        let best = 0;
        for (let c = 1; c < p.choices!.length; c++) if (u[o + c]! > u[o + best]!) best = c;
        x[j] = best;
      } else x[j] = p.lo + Math.min(1, Math.max(0, u[o]!)) * (p.hi - p.lo);
    });
    return x;
  }

  random(rng: Rng): Float64Array {
    const u = new Float64Array(this.dims);
    this.space.parameters.forEach((p, j) => {
      const o = this.offsets[j]!;
      if (p.categorical) u[o + rng.int(p.choices!.length)] = 1;
      else u[o] = rng.next();
    });
    return u;
  }

  /** A Gaussian step of scale `s` on numeric coordinates; each categorical block changes with probability `flip`. */
  perturb(u: Float64Array, s: number, flip: number, rng: Rng): Float64Array {
    const v = Float64Array.from(u);
    this.space.parameters.forEach((p, j) => {
      const o = this.offsets[j]!;
      if (p.categorical) {
        if (rng.next() < flip) {
          for (let c = 0; c < p.choices!.length; c++) v[o + c] = 0;
          v[o + rng.int(p.choices!.length)] = 1;
        }
      } else v[o] = Math.min(1, Math.max(0, u[o]! + s * rng.normal()));
    });
    return v;
  }
}

/** log EI for minimisation at a posterior N(mean, variance) against the incumbent `best`, stable for any z. */
export function logExpectedImprovement(mean: number, variance: number, best: number): number {
  const sigma = Math.sqrt(variance);
  const z = (best - mean) / sigma;
  let logH: number;
  if (z > -5) {
    const h = normPdf(z) + z * normCdf(z);
    logH = h > 0 ? Math.log(h) : -Infinity;
  } else {
    // h(z) = φ(z)/z² · (1 − 3/z² + 15/z⁴ − 105/z⁶ + …) for z → −∞.
    const iz2 = 1 / (z * z);
    logH = logNormPdf(z) + Math.log(iz2) + Math.log1p(iz2 * (-3 + iz2 * (15 - 105 * iz2)));
  }
  return Math.log(sigma) + logH;
}

/**
 * The trials the GP is fitted to when there are more than `max`: the best third by loss, the newest third, and the
 * rest spread evenly over the remaining history — the optimum's neighbourhood, the current search, and the big picture.
 */
export function selectModelPoints(obs: readonly Observation[], max: number): Observation[] {
  if (obs.length <= max) return obs.slice();
  const chosen = new Set<Observation>();
  const third = Math.floor(max / 3);
  for (const o of obs.slice().sort((a, b) => a.loss - b.loss || a.index - b.index).slice(0, third)) chosen.add(o);
  for (const o of obs.slice(-third)) chosen.add(o);
  const rest = obs.filter((o) => !chosen.has(o));
  const want = max - chosen.size;
  for (let k = 0; k < want; k++) chosen.add(rest[Math.floor((k * rest.length) / want)]!);
  return obs.filter((o) => chosen.has(o));
}

interface FittedModel {
  readonly cube: UnitCube;
  readonly base: GaussianProcess;
  readonly xs: Float64Array[];
  readonly ys: number[];
  readonly best: number;
  readonly bestPoints: Float64Array[];
}

function fitModel(space: CompiledSpace, observed: readonly Observation[]): FittedModel | undefined {
  const points = selectModelPoints(observed, GP_MAX_POINTS);
  const n = points.length;
  let mean = 0;
  for (const o of points) mean += o.loss;
  mean /= n;
  let sd = 0;
  for (const o of points) sd += (o.loss - mean) ** 2;
  sd = Math.sqrt(sd / n);
  if (!(sd > 0)) sd = 1;
  const cube = new UnitCube(space);
  const d = cube.dims;
  const x = new Float64Array(n * d);
  const xs: Float64Array[] = [];
  const ys: number[] = [];
  points.forEach((o, i) => {
    const u = cube.encode(o.x);
    x.set(u, i * d);
    xs.push(u);
    ys.push((o.loss - mean) / sd);
  });
  // Hyperparameters from at most GP_FIT_POINTS of them (the likelihood's gradient costs O(n³) per evaluation, and a
  // fit takes some thirty), the posterior from all.
  const fitSet = selectModelPoints(points, GP_FIT_POINTS);
  const fx = new Float64Array(fitSet.length * d);
  const fy = new Float64Array(fitSet.length);
  fitSet.forEach((o, i) => {
    const k = points.indexOf(o);
    fx.set(xs[k]!, i * d);
    fy[i] = ys[k]!;
  });
  const hyper = fitHyper(fx, fitSet.length, d, fy, GP_FIT_ITERATIONS);
  const base = GaussianProcess.condition(x, n, d, Float64Array.from(ys), hyper);
  if (base === undefined) return undefined;
  const order = ys.map((_, i) => i).sort((a, b) => ys[a]! - ys[b]!);
  return { cube, base, xs, ys, best: ys[order[0]!]!, bestPoints: order.slice(0, 5).map((i) => xs[i]!) };
}

/** The model's suggestion given pending points (kriging believer), or undefined if the GP cannot be conditioned. */
function suggestFromModel(space: CompiledSpace, model: FittedModel, pending: readonly Float64Array[], rng: Rng): Assignment | undefined {
  const { cube, base } = model;
  let gp = base;
  if (pending.length > 0) {
    const us = pending.map((x) => cube.encode(x));
    const xs = [...model.xs, ...us];
    const ys = [...model.ys, ...us.map((u) => base.predict(u).mean)];
    const d = cube.dims;
    const flat = new Float64Array(xs.length * d);
    xs.forEach((u, i) => flat.set(u, i * d));
    const conditioned = GaussianProcess.condition(flat, xs.length, d, Float64Array.from(ys), base.hyper);
    if (conditioned === undefined) return undefined;
    gp = conditioned;
  }
  const acq = (u: Float64Array): number => {
    const p = gp.predict(u);
    return logExpectedImprovement(p.mean, p.variance, model.best);
  };
  const scored: { u: Float64Array; a: number }[] = [];
  for (let i = 0; i < RANDOM_CANDIDATES; i++) {
    const u = cube.random(rng);
    scored.push({ u, a: acq(u) });
  }
  for (let i = 0; i < LOCAL_CANDIDATES; i++) {
    const centre = model.bestPoints[i % model.bestPoints.length]!;
    const u = cube.perturb(centre, 0.02 + 0.08 * rng.next(), 0.1, rng);
    scored.push({ u, a: acq(u) });
  }
  scored.sort((p, q) => q.a - p.a);
  let winner = scored[0]!;
  for (const start of scored.slice(0, REFINE_STARTS)) {
    let cur = start;
    let s = 0.05;
    for (let k = 0; k < REFINE_STEPS; k++) {
      const u = cube.perturb(cur.u, s, 0.05, rng);
      const a = acq(u);
      if (a > cur.a) {
        cur = { u, a };
        s = Math.min(0.2, s * 1.5);
      } else s = Math.max(1e-4, s * 0.6);
    }
    if (cur.a > winner.a) winner = cur;
  }
  return decodeInternal(space, cube.decode(winner.u));
}

export const bayesianAlgorithm: AlgorithmDefinition = {
  name: "bayesianoptimization",
  settings: [
    { name: "n_initial_points", kind: "int", min: 1, max: 100_000, default: 10, description: "random trials before the GP is used (running ones count)" },
    { name: "acq_func", kind: "string", default: "ei", description: 'the acquisition function: only "ei" (expected improvement)' },
    { name: "base_estimator", kind: "string", default: "GP", description: 'the surrogate: only "GP"' },
    { name: "acq_optimizer", kind: "enum", values: ["auto", "sampling", "lbfgs"], default: "auto", description: "accepted for Katib compatibility; the acquisition is always maximised by sampling plus a local search" },
  ],
  check: (_space, settings) => {
    const out: SettingProblem[] = [];
    const acq = String(settings["acq_func"]);
    if (acq.toLowerCase() !== "ei") out.push({ setting: "acq_func", message: `only "ei" (expected improvement) is supported, got "${acq}"; remove the setting or set it to "ei"` });
    const est = String(settings["base_estimator"]);
    if (est.toUpperCase() !== "GP") out.push({ setting: "base_estimator", message: `only "GP" (a Gaussian process) is supported, got "${est}"` });
    return out;
  },
  create: ({ space, settings, seed }) => {
    const nInitial = settings["n_initial_points"] as number;
    return {
      suggest: (history, count) => {
        // The fit depends only on finished trials, which pending suggestions do not change: fit once per call.
        let fitted: FittedModel | undefined | null = null;
        return oneAtATime(history, count, (h) => {
          const rng = rngFor(seed, "bayesianoptimization", h.length);
          const obs = observe(space, h);
          const observed = obs.filter((o) => o.kind !== "running" && Number.isFinite(o.loss));
          if (obs.length < nInitial || observed.length < 2) return { assignment: sampleAssignment(space, rng) };
          if (fitted === null) fitted = fitModel(space, observed);
          const pending = obs.filter((o) => o.kind === "running").map((o) => o.x);
          const a = fitted === undefined ? undefined : suggestFromModel(space, fitted, pending, rng);
          return { assignment: a ?? sampleAssignment(space, rng) };
        });
      },
    };
  },
};
