// Known test functions for the unit tests (and their minima), and a driver that runs a suggester on one.
import { createSuggester } from "./registry.js";
import type { Assignment, SearchSpace, TrialRecord } from "./types.js";

export interface TestFunction {
  readonly name: string;
  readonly space: SearchSpace;
  readonly minimum: number;
  readonly f: (a: Assignment) => number;
}

export const BRANIN: TestFunction = {
  name: "branin",
  space: { direction: "minimize", parameters: [{ name: "x1", type: "double", min: -5, max: 10 }, { name: "x2", type: "double", min: 0, max: 15 }] },
  minimum: 0.397887,
  f: (a) => {
    const x1 = a["x1"] as number;
    const x2 = a["x2"] as number;
    return (x2 - (5.1 / (4 * Math.PI ** 2)) * x1 ** 2 + (5 / Math.PI) * x1 - 6) ** 2 + 10 * (1 - 1 / (8 * Math.PI)) * Math.cos(x1) + 10;
  },
};

const H_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]];
const H_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]];

export const HARTMANN6: TestFunction = {
  name: "hartmann6",
  space: { direction: "minimize", parameters: Array.from({ length: 6 }, (_, j) => ({ name: `x${j}`, type: "double" as const, min: 0, max: 1 })) },
  minimum: -3.32237,
  f: (a) => {
    let total = 0;
    for (let i = 0; i < 4; i++) {
      let inner = 0;
      for (let j = 0; j < 6; j++) inner += H_A[i]![j]! * ((a[`x${j}`] as number) - H_P[i]![j]! * 1e-4) ** 2;
      total -= H_ALPHA[i]! * Math.exp(-inner);
    }
    return total;
  },
};

/** A noisy quadratic over a mixed space, to be *maximised*: 10 − Σ (x − target)² plus N(0, 0.1²) noise; optimum 10. */
export function noisyQuadratic(noiseSeed: number): TestFunction {
  let state = noiseSeed >>> 0;
  const uniform = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const gauss = (): number => Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform());
  return {
    name: "noisy quadratic",
    space: {
      direction: "maximize",
      parameters: [
        { name: "lr", type: "double", min: 1e-4, max: 1, log: true },
        { name: "units", type: "int", min: 8, max: 512, log: true },
        { name: "dropout", type: "double", min: 0, max: 0.8, step: 0.1 },
        { name: "batch", type: "discrete", list: ["16", "32", "64", "128", "256"] },
        { name: "optimizer", type: "categorical", list: ["sgd", "adam", "rmsprop"] },
      ],
    },
    minimum: 10,
    f: (a) => 10 - quadraticLoss(a) + 0.1 * gauss(),
  };
}

/** The noise-free loss of the noisy quadratic (0 at its optimum). */
export function quadraticLoss(a: Assignment): number {
  const lr = Math.log10(a["lr"] as number) + 2.5;
  const units = Math.log2(a["units"] as number) - 7;
  const dropout = ((a["dropout"] as number) - 0.3) * 4;
  const batch = Math.log2(a["batch"] as number) - 6;
  const opt = a["optimizer"] === "adam" ? 0 : 1.5;
  return lr * lr + 0.5 * units * units + dropout * dropout + 0.5 * batch * batch + opt;
}

/** Runs `algorithm` for `trials` sequential trials on `fn`; returns the history. */
export function runOn(algorithm: string, fn: TestFunction, trials: number, seed: number, settings: Readonly<Record<string, string>> = {}): TrialRecord[] {
  const s = createSuggester(algorithm, fn.space, settings, seed);
  const history: TrialRecord[] = [];
  for (let i = 0; i < trials; i++) {
    const [next] = s.suggest(history, 1);
    if (next === undefined) break;
    history.push({ name: `t${i}`, assignment: next.assignment, state: "succeeded", objective: fn.f(next.assignment) });
  }
  return history;
}

/** The best objective of a history (minimum, or maximum for a maximised space). */
export function bestOf(history: readonly TrialRecord[], direction: "minimize" | "maximize" = "minimize"): number {
  const vs = history.map((t) => t.objective!).filter(Number.isFinite);
  return direction === "minimize" ? Math.min(...vs) : Math.max(...vs);
}

export function medianOf(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
