// The algorithm-quality half of the tuning benchmark (bench/README.md, "## tune"): @switchyard/tuning against Optuna 3.1
// on the same objectives, budgets and seeds (Optuna through bench/tune_optuna_anchor.py on /usr/bin/python3, two
// processes at a time), and the cost of one suggestion at 1,000 trials.
import { spawn, spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { createStoppingRule, createSuggester, type Assignment, type SearchSpace, type TrialRecord } from "@switchyard/tuning";

const PYTHON = "/usr/bin/python3";
const SCRIPT = fileURLToPath(new URL("./tune_optuna_anchor.py", import.meta.url));
const FUNCTION_BUDGETS = [50, 100, 200] as const;
const BAYES_BUDGET = 50;
const CURVE_EPOCHS = 27;
const CURVE_BUDGET = 810;
const CURVE_NOISE = 0.01;

// ---- objectives (the same formulas as tune_optuna_anchor.py; checked against it before anything is measured) ----

export function branin(x1: number, x2: number): number {
  const b = 5.1 / (4 * Math.PI ** 2);
  const c = 5 / Math.PI;
  const t = 1 / (8 * Math.PI);
  return (x2 - b * x1 ** 2 + c * x1 - 6) ** 2 + 10 * (1 - t) * Math.cos(x1) + 10;
}

const H_ALPHA = [1.0, 1.2, 3.0, 3.2];
const H_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]];
const H_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991], [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]];

export function hartmann6(x: readonly number[]): number {
  let total = 0;
  for (let i = 0; i < 4; i++) {
    let inner = 0;
    for (let j = 0; j < 6; j++) inner += H_A[i]![j]! * (x[j]! - H_P[i]![j]! * 1e-4) ** 2;
    total -= H_ALPHA[i]! * Math.exp(-inner);
  }
  return total;
}

const OPT_FLOOR: Record<string, number> = { sgd: 0.04, adam: 0, rmsprop: 0.02 };
const OPT_SPEED: Record<string, number> = { sgd: 0.7, adam: 1.2, rmsprop: 1.0 };

export function curve(lr: number, momentum: number, layers: number, optimizer: string, t: number): number {
  const u = Math.log10(lr);
  const a = 0.05 + 0.25 * ((u + 2.5) / 1.5) ** 2 + 0.15 * (momentum - 0.8) ** 2 + 0.02 * Math.abs(layers - 5) + OPT_FLOOR[optimizer]!;
  const c = 0.6 * 10 ** ((u + 1) / 2) * ((1 + momentum) / 2) * OPT_SPEED[optimizer]!;
  const b = 1 + (0.3 * layers) / 8;
  return a + b * Math.exp(-c * t);
}

interface FunctionObjective {
  readonly name: "branin" | "hartmann6";
  readonly minimum: number;
  readonly space: SearchSpace;
  readonly f: (a: Assignment) => number;
}

export const OBJECTIVES: readonly FunctionObjective[] = [
  {
    name: "branin",
    minimum: 0.397887,
    space: { direction: "minimize", parameters: [{ name: "x1", type: "double", min: -5, max: 10 }, { name: "x2", type: "double", min: 0, max: 15 }] },
    f: (a) => branin(a["x1"] as number, a["x2"] as number),
  },
  {
    name: "hartmann6",
    minimum: -3.32237,
    space: { direction: "minimize", parameters: Array.from({ length: 6 }, (_, j) => ({ name: `x${j}`, type: "double" as const, min: 0, max: 1 })) },
    f: (a) => hartmann6(Array.from({ length: 6 }, (_, j) => a[`x${j}`] as number)),
  },
];

export const CURVE_SPACE: SearchSpace = {
  direction: "minimize",
  parameters: [
    { name: "lr", type: "double", min: 1e-4, max: 1, log: true },
    { name: "momentum", type: "double", min: 0, max: 0.99 },
    { name: "layers", type: "int", min: 1, max: 8 },
    { name: "optimizer", type: "categorical", list: ["sgd", "adam", "rmsprop"] },
  ],
};

/** The family's smallest noise-free final value over the space: a dense grid, then a finer one around its best. */
export function curveMinimum(): number {
  const final = (u: number, m: number, l: number, o: string): number => curve(10 ** u, m, l, o, CURVE_EPOCHS);
  let best = { v: Infinity, u: 0, m: 0, l: 1, o: "sgd" };
  for (const o of ["sgd", "adam", "rmsprop"])
    for (let l = 1; l <= 8; l++)
      for (let ui = 0; ui <= 400; ui++)
        for (let mi = 0; mi <= 99; mi++) {
          const v = final(-4 + ui * 0.01, mi * 0.01, l, o);
          if (v < best.v) best = { v, u: -4 + ui * 0.01, m: mi * 0.01, l, o };
        }
  for (let ui = -40; ui <= 40; ui++)
    for (let mi = -40; mi <= 40; mi++) {
      const u = Math.min(0, Math.max(-4, best.u + ui * 0.00025));
      const m = Math.min(0.99, Math.max(0, best.m + mi * 0.00025));
      best = { ...best, v: Math.min(best.v, final(u, m, best.l, best.o)) };
    }
  return best.v;
}

// ---- our side ----

/** Best-so-far after each trial of `budget` sequential trials. */
export function runFunction(algorithm: string, settings: Record<string, string>, objective: FunctionObjective, budget: number, seed: number): number[] {
  const s = createSuggester(algorithm, objective.space, settings, seed);
  const history: TrialRecord[] = [];
  const best: number[] = [];
  let current = Infinity;
  for (let i = 0; i < budget; i++) {
    const [sug] = s.suggest(history, 1);
    if (sug === undefined) throw new Error(`${algorithm} stopped suggesting after ${i} trials`);
    const v = objective.f(sug.assignment);
    history.push({ name: `t${i}`, assignment: sug.assignment, state: "succeeded", objective: v });
    current = Math.min(current, v);
    best.push(current);
  }
  return best;
}

/** A seeded normal generator for the curves' noise (mulberry32 + Box–Muller). */
function noiseSource(seed: number): () => number {
  let a = (seed * 2654435761 + 104729) >>> 0;
  const u = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return () => Math.sqrt(-2 * Math.log(1 - u())) * Math.cos(2 * Math.PI * u());
}

export interface CurveRun {
  final: number | undefined;
  trials: number;
  completed: number;
}

/** One learning-curve run of `budget` total epochs with our suggester and stopping rule (the protocol of the README). */
export function runCurves(rule: "asha" | "medianstop", seed: number, budget = CURVE_BUDGET): CurveRun {
  const suggester = createSuggester(rule === "asha" ? "asha" : "random", CURVE_SPACE, {}, seed);
  const stopper = createStoppingRule(rule, CURVE_SPACE, rule === "asha" ? { min_resource: "1", reduction_factor: "3", max_resource: String(CURVE_EPOCHS) } : { min_trials_required: "3", start_step: "4" });
  const noise = noiseSource(seed);
  const history: TrialRecord[] = [];
  let used = 0;
  let completed = 0;
  let bestReported = Infinity;
  let bestTrue: number | undefined;
  while (used < budget) {
    const [sug] = suggester.suggest(history, 1);
    const a = sug!.assignment;
    const name = `t${history.length}`;
    const points: { step: number; value: number }[] = [];
    const args = [a["lr"] as number, a["momentum"] as number, a["layers"] as number, a["optimizer"] as string] as const;
    let state: TrialRecord["state"] = "failed";
    for (let t = 1; t <= CURVE_EPOCHS; t++) {
      if (used >= budget) break;
      used++;
      points.push({ step: t, value: curve(...args, t) + CURVE_NOISE * noise() });
      if (t === CURVE_EPOCHS) state = "succeeded";
      else if (stopper.shouldStop({ name, assignment: a, state: "running", curve: points }, history).stop) {
        state = "early-stopped";
        break;
      }
    }
    const last = points[points.length - 1];
    history.push({ name, assignment: a, state, curve: points, ...(last !== undefined && state !== "failed" ? { objective: last.value } : {}) });
    if (state === "succeeded") {
      completed++;
      if (last!.value < bestReported) {
        bestReported = last!.value;
        bestTrue = curve(...args, CURVE_EPOCHS);
      }
    }
  }
  return { final: bestTrue, trials: history.length, completed };
}

// ---- Optuna's side ----

export function optunaVersion(): string {
  const r = spawnSync(PYTHON, ["-c", "import optuna; print(optuna.__version__)"], { encoding: "utf8" });
  if (r.status !== 0) {
    throw new Error(`the tuning benchmark needs Optuna for ${PYTHON}, and it is not there (${(r.stderr || r.error?.message || "").trim().split("\n").pop()}): install it with  apt-get install -y python3-optuna`);
  }
  return r.stdout.trim();
}

/** Runs the anchor script; resolves with its JSON lines. */
export function optuna(objective: string, method: string, budget: number, seeds: string): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [SCRIPT, objective, method, String(budget), seeds], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    child.on("error", reject);
    child.on("close", (code) => {
      if (code !== 0) reject(new Error(`tune_optuna_anchor.py ${objective} ${method} ${budget} ${seeds} exited ${code}: ${err.trim()}`));
      else resolve(out.trim().split("\n").filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>));
    });
  });
}

/** Runs the jobs two at a time. */
async function pool<T>(jobs: readonly (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, jobs.length) }, worker));
  return results;
}

function checkFormulas(): void {
  const r = spawnSync(PYTHON, [SCRIPT, "check"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`tune_optuna_anchor.py check failed: ${r.stderr}`);
  const { points, values } = JSON.parse(r.stdout) as { points: Record<string, unknown[][]>; values: Record<string, number[]> };
  const ours: Record<string, number[]> = {
    branin: points["branin"]!.map((p) => branin(p[0] as number, p[1] as number)),
    hartmann6: points["hartmann6"]!.map((p) => hartmann6(p as number[])),
    curves: points["curves"]!.map((p) => curve(p[0] as number, p[1] as number, p[2] as number, p[3] as string, p[4] as number)),
  };
  for (const [k, vs] of Object.entries(values)) {
    vs.forEach((v, i) => {
      const o = ours[k]![i]!;
      if (Math.abs(o - v) > 1e-9 * Math.max(1, Math.abs(v))) throw new Error(`the objective ${k} differs between TypeScript (${o}) and Python (${v}) at ${JSON.stringify(points[k]![i])}`);
    });
  }
}

// ---- figures ----

export function median(xs: readonly number[]): number {
  const s = xs.slice().sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

function percentile(xs: readonly number[], p: number): number {
  const s = xs.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

const round = (v: number, d = 3): number => Number(v.toFixed(d));
/** a ÷ b to three significant figures (a GP's 1e-4 ÷ random's 0.5 must not print as 0). */
const ratio = (a: number, b: number): number | null => (b > 0 ? Number((a / b).toPrecision(3)) : null);
const fmt = (v: number): string => (Math.abs(v) >= 0.01 ? v.toFixed(4) : v.toExponential(2));
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/** p99 of `fn()` in ms over `calls` calls after `warm` unmeasured ones. */
function p99Ms(fn: () => unknown, calls = 100, warm = 5): number {
  for (let i = 0; i < warm; i++) fn();
  const ts: number[] = [];
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint();
    fn();
    ts.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return round(percentile(ts, 99), 2);
}

/** Histories of 1,000 finished trials and the p99 of one suggestion (and one stop decision) on them. */
export function measureCost(log: (line: string) => void): { suggestionP99Ms: Record<string, number>; stoppingP99Ms: Record<string, number> } {
  const h6 = OBJECTIVES[1]!;
  const randomHistory = (space: SearchSpace, n: number, value: (a: Assignment) => number): TrialRecord[] => {
    const s = createSuggester("random", space, {}, 99);
    const out: TrialRecord[] = [];
    for (let i = 0; i < n; i++) {
      const a = s.suggest(out, 1)[0]!.assignment;
      out.push({ name: `t${i}`, assignment: a, state: "succeeded", objective: value(a) });
    }
    return out;
  };
  const hist = randomHistory(h6.space, 1000, h6.f);
  const suggestionP99Ms: Record<string, number> = {};
  for (const alg of ["random", "tpe", "bayesianoptimization"]) {
    const s = createSuggester(alg, h6.space, {}, 1);
    suggestionP99Ms[alg] = p99Ms(() => s.suggest(hist, 1), alg === "bayesianoptimization" ? 50 : 100);
  }
  // grid: Hartmann-6 at step 0.1 (11⁶ points), 1,000 of them done.
  const gridSpace: SearchSpace = { ...h6.space, parameters: h6.space.parameters.map((p) => ({ ...p, step: 0.1 })) };
  const grid = createSuggester("grid", gridSpace, {}, 1);
  const gridHist: TrialRecord[] = [];
  while (gridHist.length < 1000) for (const g of grid.suggest(gridHist, 100)) gridHist.push({ name: `g${gridHist.length}`, assignment: g.assignment, state: "succeeded", objective: h6.f(g.assignment) });
  suggestionP99Ms["grid"] = p99Ms(() => grid.suggest(gridHist, 1));
  // hyperband: its own 1,000 trials (r_l 729, η 3: the first brackets hold more than 1,000).
  const hbSpace: SearchSpace = { ...h6.space, parameters: [...h6.space.parameters, { name: "epochs", type: "int", min: 1, max: 729 }] };
  const hb = createSuggester("hyperband", hbSpace, { resource_name: "epochs", r_l: "729", eta: "3" }, 1);
  const hbHist: TrialRecord[] = [];
  while (hbHist.length < 1000) {
    const batch = hb.suggest(hbHist, 1000 - hbHist.length);
    if (batch.length === 0) break;
    for (const g of batch) hbHist.push({ name: `h${hbHist.length}`, assignment: g.assignment, budget: g.budget, state: "succeeded", objective: h6.f(g.assignment) });
  }
  suggestionP99Ms["hyperband"] = p99Ms(() => hb.suggest(hbHist, 1));
  // asha (random and TPE samplers) and the stopping rules: 1,000 trials with 27-point curves.
  const noise = noiseSource(5);
  const curveHist = randomHistory(CURVE_SPACE, 1000, () => 0).map((t, i): TrialRecord => {
    const a = t.assignment;
    const len = i % 3 === 0 ? CURVE_EPOCHS : 1 + (i % 9);
    const pts = Array.from({ length: len }, (_, k) => ({ step: k + 1, value: curve(a["lr"] as number, a["momentum"] as number, a["layers"] as number, a["optimizer"] as string, k + 1) + CURVE_NOISE * noise() }));
    return { ...t, state: len === CURVE_EPOCHS ? "succeeded" : "early-stopped", curve: pts, objective: pts[pts.length - 1]!.value };
  });
  suggestionP99Ms["asha"] = p99Ms(() => createSuggester("asha", CURVE_SPACE, {}, 1).suggest(curveHist, 1));
  suggestionP99Ms["asha+tpe"] = p99Ms(() => createSuggester("asha", CURVE_SPACE, { sampler: "tpe" }, 1).suggest(curveHist, 1));
  const probe: TrialRecord = { ...curveHist[0]!, name: "probe", state: "running", curve: curveHist[0]!.curve!.slice(0, 10) };
  const stoppingP99Ms: Record<string, number> = {};
  for (const rule of ["medianstop", "asha"]) {
    const r = createStoppingRule(rule, CURVE_SPACE, {});
    stoppingP99Ms[rule] = p99Ms(() => r.shouldStop(probe, curveHist));
  }
  log(`  suggestion p99 at 1,000 trials: ${Object.entries(suggestionP99Ms).map(([k, v]) => `${k} ${v} ms`).join(", ")} (goal ≤ 50)`);
  log(`  stop decision p99 at 1,000 trials: ${Object.entries(stoppingP99Ms).map(([k, v]) => `${k} ${v} ms`).join(", ")}`);
  return { suggestionP99Ms, stoppingP99Ms };
}

export async function measureTuneQuality(opts: { seeds?: number; log: (line: string) => void }): Promise<Record<string, unknown>> {
  const { log } = opts;
  const nSeeds = opts.seeds ?? 20;
  const started = Date.now();
  const version = optunaVersion();
  checkFormulas();
  const seeds = Array.from({ length: nSeeds }, (_, i) => i);
  // The learning-curve runs are cheap and their regrets scatter widely: five times the seeds.
  const nCurveSeeds = 5 * nSeeds;
  const curveSeeds = Array.from({ length: nCurveSeeds }, (_, i) => i);
  const range = (a: number, b: number): string => (b < a ? "" : `${a}-${b}`);
  const halves = (n: number): string[] => [range(0, Math.ceil(n / 2) - 1), range(Math.ceil(n / 2), n - 1)].filter(Boolean);
  log(`tune quality: ${nSeeds} seeds (${nCurveSeeds} for the learning curves); Optuna ${version} on ${PYTHON}, two processes at a time`);

  // Optuna runs in the background while our side runs here.
  const jobs: (() => Promise<{ key: string; rows: Record<string, unknown>[] }>)[] = [];
  for (const o of OBJECTIVES) for (const h of halves(nSeeds)) jobs.push(async () => ({ key: `${o.name}/tpe`, rows: await optuna(o.name, "tpe", 200, h) }));
  for (const m of ["asha", "median"]) for (const h of halves(nCurveSeeds)) jobs.push(async () => ({ key: `curves/${m}`, rows: await optuna("curves", m, CURVE_BUDGET, h) }));
  const optunaDone = pool(jobs, 2);
  optunaDone.catch(() => undefined);

  const ours: Record<string, number[][]> = {};
  for (const o of OBJECTIVES) {
    ours[`${o.name}/tpe`] = [];
    ours[`${o.name}/bayes`] = [];
    ours[`${o.name}/random`] = [];
    for (const seed of seeds) {
      ours[`${o.name}/tpe`]!.push(runFunction("tpe", {}, o, 200, seed));
      await yieldToLoop();
      ours[`${o.name}/bayes`]!.push(runFunction("bayesianoptimization", {}, o, BAYES_BUDGET, seed));
      await yieldToLoop();
      ours[`${o.name}/random`]!.push(runFunction("random", {}, o, BAYES_BUDGET, seed));
    }
  }
  const curveRuns: Record<string, CurveRun[]> = { asha: [], medianstop: [] };
  for (const seed of curveSeeds) {
    curveRuns["asha"]!.push(runCurves("asha", seed));
    curveRuns["medianstop"]!.push(runCurves("medianstop", seed));
    await yieldToLoop();
  }
  const ourMs = Date.now() - started;
  const optunaRows = await optunaDone;
  const byKey = new Map<string, Record<string, unknown>[]>();
  for (const { key, rows } of optunaRows) byKey.set(key, [...(byKey.get(key) ?? []), ...rows]);

  const tpeVsOptuna: Record<string, Record<string, number | null>> = {};
  const medians: Record<string, unknown> = {};
  for (const o of OBJECTIVES) {
    const optunaTraces = byKey.get(`${o.name}/tpe`)!.map((r) => r["best"] as number[]);
    tpeVsOptuna[o.name] = {};
    for (const b of FUNCTION_BUDGETS) {
      const ourMed = median(ours[`${o.name}/tpe`]!.map((t) => t[b - 1]! - o.minimum));
      const theirMed = median(optunaTraces.map((t) => t[b - 1]! - o.minimum));
      tpeVsOptuna[o.name]![String(b)] = ratio(ourMed, theirMed);
      medians[`${o.name}/tpe@${b}`] = { ours: ourMed, optuna: theirMed };
      log(`  tpe ${o.name.padEnd(9)} @${String(b).padEnd(3)}  median regret: ours ${fmt(ourMed)}   Optuna TPESampler ${fmt(theirMed)}   ratio ${tpeVsOptuna[o.name]![String(b)]} (goal ≤ 1${b === 200 ? ", < 1" : ""})`);
    }
  }
  const bayesVsRandom: Record<string, number | null> = {};
  for (const o of OBJECTIVES) {
    const gp = median(ours[`${o.name}/bayes`]!.map((t) => t[BAYES_BUDGET - 1]! - o.minimum));
    const rnd = median(ours[`${o.name}/random`]!.map((t) => t[BAYES_BUDGET - 1]! - o.minimum));
    bayesVsRandom[o.name] = ratio(gp, rnd);
    medians[`${o.name}/bayes@${BAYES_BUDGET}`] = { gp, random: rnd };
    log(`  bayesianoptimization ${o.name.padEnd(9)} @${BAYES_BUDGET}  median regret: GP-EI ${fmt(gp)}   random ${fmt(rnd)}   ratio ${bayesVsRandom[o.name]} (goal ≤ 0.5)`);
  }
  const best = curveMinimum();
  const ashaVsOptuna: Record<string, number | null> = {};
  for (const [ourRule, theirs, label] of [["asha", "asha", "SuccessiveHalvingPruner"], ["medianstop", "median", "MedianPruner"]] as const) {
    const runs = curveRuns[ourRule]!;
    const rows = byKey.get(`curves/${theirs}`)!;
    const ourMed = median(runs.map((r) => (r.final ?? Infinity) - best));
    const theirMed = median(rows.map((r) => ((r["final"] as number | null) ?? Infinity) - best));
    ashaVsOptuna[ourRule] = ratio(ourMed, theirMed);
    const trials = (xs: number[]): number => round(median(xs), 0);
    medians[`curves/${ourRule}`] = { ours: ourMed, optuna: theirMed, trials: { ours: trials(runs.map((r) => r.trials)), optuna: trials(rows.map((r) => r["trials"] as number)) }, completed: { ours: trials(runs.map((r) => r.completed)), optuna: trials(rows.map((r) => r["completed"] as number)) } };
    log(`  curves ${ourRule.padEnd(10)} ${CURVE_BUDGET} epochs  median regret: ours ${fmt(ourMed)} (${trials(runs.map((r) => r.trials))} trials, ${trials(runs.map((r) => r.completed))} completed)   Optuna ${label} ${fmt(theirMed)} (${trials(rows.map((r) => r["trials"] as number))} trials, ${trials(rows.map((r) => r["completed"] as number))} completed)   ratio ${ashaVsOptuna[ourRule]} (goal ≤ 1)`);
  }
  log(`  (curve family minimum ${best.toFixed(6)}; our side ${round(ourMs / 1000, 1)} s while Optuna ran beside it)`);
  const cost = measureCost(log);
  return {
    tpeVsOptuna,
    bayesVsRandom,
    ashaVsOptuna,
    suggestionP99Ms: cost.suggestionP99Ms,
    stoppingP99Ms: cost.stoppingP99Ms,
    medianRegrets: medians,
    seeds: nSeeds,
    curveSeeds: nCurveSeeds,
    optunaVersion: version,
    qualityMs: Date.now() - started,
  };
}
