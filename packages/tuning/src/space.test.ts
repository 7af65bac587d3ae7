import { describe, it } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { ALGORITHMS, createSuggester } from "./registry.js";
import { createRng } from "./prng.js";
import { assignmentKey, checkSpace, compileSpace } from "./space.js";
import type { Assignment, ParameterSpec, SearchSpace, TrialRecord } from "./types.js";

/** Is every value of the assignment one the parameter allows (bounds, integer, step, list)? Returns the problem. */
function outsideSpace(space: SearchSpace, a: Assignment): string | undefined {
  for (const p of space.parameters) {
    const v = a[p.name];
    if (p.type === "categorical") {
      if (typeof v !== "string" || !p.list!.includes(v)) return `${p.name}=${String(v)} not in ${p.list!.join(",")}`;
      continue;
    }
    if (typeof v !== "number" || !Number.isFinite(v)) return `${p.name}=${String(v)} is not a number`;
    if (p.type === "discrete") {
      if (!p.list!.map(Number).includes(v)) return `${p.name}=${v} not in ${p.list!.join(",")}`;
      continue;
    }
    if (v < p.min! - 1e-9 || v > p.max! + 1e-9) return `${p.name}=${v} outside [${p.min}, ${p.max}]`;
    if (p.type === "int" && !Number.isInteger(v)) return `${p.name}=${v} is not an integer`;
    if (p.step !== undefined) {
      const k = (v - p.min!) / p.step;
      if (Math.abs(k - Math.round(k)) > 1e-6) return `${p.name}=${v} is off the step ${p.step} from ${p.min}`;
    }
  }
  return undefined;
}

const parameterArb: fc.Arbitrary<Omit<ParameterSpec, "name">> = fc.oneof(
  fc.record({ lo: fc.double({ min: -1e3, max: 1e3, noNaN: true }), w: fc.double({ min: 1e-3, max: 1e3, noNaN: true }), log: fc.boolean(), step: fc.option(fc.double({ min: 1e-3, max: 10, noNaN: true }), { nil: undefined }) }).map(({ lo, w, log, step }) =>
    log ? { type: "double" as const, min: Math.abs(lo) + 1e-3, max: Math.abs(lo) + 1e-3 + w, log: true } : { type: "double" as const, min: lo, max: lo + w, ...(step !== undefined ? { step } : {}) },
  ),
  fc.record({ lo: fc.integer({ min: -100, max: 100 }), w: fc.integer({ min: 0, max: 300 }), log: fc.boolean(), step: fc.integer({ min: 1, max: 7 }) }).map(({ lo, w, log, step }) =>
    log ? { type: "int" as const, min: Math.abs(lo) + 1, max: Math.abs(lo) + 1 + w, log: true } : { type: "int" as const, min: lo, max: lo + w, step },
  ),
  fc.uniqueArray(fc.integer({ min: -50, max: 50 }), { minLength: 1, maxLength: 6 }).map((xs) => ({ type: "discrete" as const, list: xs.map((x) => String(x / 4)) })),
  fc.uniqueArray(fc.string({ minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 5 }).map((list) => ({ type: "categorical" as const, list })),
);

const spaceArb: fc.Arbitrary<SearchSpace> = fc.record({
  parameters: fc.array(parameterArb, { minLength: 1, maxLength: 4 }).map((ps) => ps.map((p, i) => ({ ...p, name: `p${i}` }) as ParameterSpec)),
  direction: fc.constantFrom("minimize" as const, "maximize" as const),
});

describe("search space", () => {
  it("puts every suggestion of every model-free and model-based algorithm inside the space", () => {
    fc.assert(
      fc.property(spaceArb, fc.integer({ min: 0, max: 1000 }), (space, seed) => {
        const rng = createRng(seed, 1);
        for (const alg of ["random", "tpe", "bayesianoptimization", "asha"]) {
          const settings: Record<string, string> = alg === "tpe" ? { n_startup_trials: "3" } : alg === "bayesianoptimization" ? { n_initial_points: "3" } : {};
          const s = createSuggester(alg, space, settings, seed);
          const history: TrialRecord[] = [];
          for (let i = 0; i < 8; i++) {
            for (const next of s.suggest(history, 2)) {
              const bad = outsideSpace(space, next.assignment);
              assert.equal(bad, undefined, `${alg}: ${bad}`);
              history.push({ name: `t${history.length}`, assignment: next.assignment, state: i % 4 === 3 ? "failed" : "succeeded", objective: rng.normal() });
            }
          }
        }
      }),
      { numRuns: 25 },
    );
  });

  it("puts grid and hyperband suggestions inside the space too", () => {
    fc.assert(
      fc.property(spaceArb, (space) => {
        const grid = createSuggester("grid", space, { points_per_double: "3" }, 1);
        for (const g of grid.suggest([], 50)) assert.equal(outsideSpace(space, g.assignment), undefined);
        const withEpochs: SearchSpace = { ...space, parameters: [...space.parameters, { name: "epochs", type: "int", min: 1, max: 27 }] };
        const hb = createSuggester("hyperband", withEpochs, { resource_name: "epochs", r_l: "27" }, 1);
        for (const h of hb.suggest([], 30)) assert.equal(outsideSpace(withEpochs, h.assignment), undefined);
      }),
      { numRuns: 50 },
    );
  });

  it("samples log-scale parameters uniformly in the log and int parameters uniformly over their integers", () => {
    const space: SearchSpace = {
      direction: "minimize",
      parameters: [
        { name: "lr", type: "double", min: 1e-5, max: 1, log: true },
        { name: "k", type: "int", min: 1, max: 4 },
        { name: "c", type: "categorical", list: ["a", "b"] },
        { name: "d", type: "discrete", list: ["0.5", "2", "8"] },
      ],
    };
    const s = createSuggester("random", space, {}, 7);
    const history: TrialRecord[] = [];
    for (let i = 0; i < 4000; i++) history.push({ name: `t${i}`, assignment: s.suggest(history, 1)[0]!.assignment, state: "running" });
    const logs = history.map((t) => Math.log10(t.assignment["lr"] as number)).sort((a, b) => a - b);
    assert.ok(Math.abs(logs[2000]! - -2.5) < 0.15, `median of log10(lr) ${logs[2000]} should be near −2.5`);
    const count = (name: string, v: number | string): number => history.filter((t) => t.assignment[name] === v).length;
    for (const k of [1, 2, 3, 4]) assert.ok(Math.abs(count("k", k) - 1000) < 120, `k=${k}: ${count("k", k)} of 4000`);
    assert.ok(Math.abs(count("c", "a") - 2000) < 150);
    for (const d of [0.5, 2, 8]) assert.ok(Math.abs(count("d", d) - 4000 / 3) < 130, `d=${d}: ${count("d", d)}`);
  });

  it("quantises a double with a step and rounds an int with a step from its min", () => {
    const space = compileSpace({ direction: "minimize", parameters: [{ name: "x", type: "double", min: 0.1, max: 1, step: 0.2 }, { name: "n", type: "int", min: 2, max: 20, step: 5 }] });
    const [x, n] = space.parameters;
    assert.deepEqual([0, 0.35, 0.52, 0.8, 2].map((v) => x!.fromInternal(v)), [0.1, 0.3, 0.5, 0.9, 0.9]);
    assert.deepEqual([0, 4.4, 4.6, 30].map((v) => n!.fromInternal(v)), [2, 2, 7, 17]);
    assert.equal(x!.toInternal(0.95), undefined, "0.95 is beyond the last step value 0.9");
  });

  it("keys assignments equally when they differ only by binary noise", () => {
    const space = compileSpace({ direction: "minimize", parameters: [{ name: "x", type: "double", min: 0, max: 1 }, { name: "c", type: "categorical", list: ["a"] }] });
    assert.equal(assignmentKey(space, { x: 0.1 + 0.2, c: "a" }), assignmentKey(space, { c: "a", x: 0.3 }));
    assert.notEqual(assignmentKey(space, { x: 0.3, c: "a" }), assignmentKey(space, { x: 0.31, c: "a" }));
  });

  it("refuses spaces it cannot search, naming the parameter", () => {
    const bad: SearchSpace = {
      direction: "minimize",
      parameters: [
        { name: "a", type: "double", min: 1, max: 0 },
        { name: "b", type: "double", min: 0, max: 1, log: true },
        { name: "c", type: "discrete", list: ["1", "x"] },
        { name: "c", type: "categorical", list: [] },
        { name: "e", type: "int", min: 0.5, max: 3 },
      ],
    };
    const problems = checkSpace(bad).map((p) => `${p.setting}: ${p.message}`);
    assert.deepEqual(problems, [
      "parameters[0] (a): expected finite min ≤ max, got min 1 and max 0",
      "parameters[1] (b): a log-scale parameter needs min > 0, got 0",
      'parameters[2] (c): a discrete parameter\'s list holds numbers, got "x"',
      "parameters[3] (c): the name c is used twice",
      "parameters[3] (c): a categorical parameter needs a non-empty list",
      "parameters[4] (e): an int parameter needs integer bounds, got 0.5 and 3",
    ]);
    assert.throws(() => createSuggester("random", bad, {}, 1), /invalid search space/);
  });

  it("lists every algorithm it registers", () => {
    assert.deepEqual([...ALGORITHMS].sort(), ["asha", "bayesianoptimization", "grid", "hyperband", "random", "tpe"]);
  });
});
