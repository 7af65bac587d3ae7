import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { GaussianProcess, fitHyper, negLogPosterior } from "./gp.js";
import { logGaussMass, normCdf, normInv, truncNormal } from "./numeric.js";
import { ParzenEstimator, observationWeights } from "./parzen.js";
import { createRng } from "./prng.js";
import { compileSpace } from "./space.js";
import { logExpectedImprovement } from "./suggester-gp.js";

describe("numerics", () => {
  it("computes Φ, Φ⁻¹ and Gaussian masses to the precision the models need, far into the tails", () => {
    assert.ok(Math.abs(normCdf(1.96) - 0.9750021) < 2e-7);
    assert.ok(Math.abs(normInv(0.975) - 1.959964) < 1e-6);
    assert.ok(Math.abs(normInv(1e-10) - -6.361341) < 1e-5);
    assert.ok(Math.abs(logGaussMass(-1, 1) - Math.log(0.6826895)) < 1e-6);
    // Φ(−38) − Φ(−40) underflows as a difference of probabilities but not as a log: ≈ log φ(38)/38.
    assert.ok(Math.abs(logGaussMass(-40, -38) - (-0.5 * 38 * 38 - 0.5 * Math.log(2 * Math.PI) - Math.log(38))) < 0.01);
    assert.ok(Math.abs(logGaussMass(38, 40) - logGaussMass(-40, -38)) < 1e-12);
  });

  it("draws truncated normals inside their bounds, with the right mean", () => {
    const rng = createRng(1);
    let sum = 0;
    for (let i = 0; i < 20000; i++) {
      const v = truncNormal(rng.next(), 0, 1, 0, Infinity);
      assert.ok(v >= 0);
      sum += v;
    }
    assert.ok(Math.abs(sum / 20000 - Math.sqrt(2 / Math.PI)) < 0.02, `half-normal mean ${sum / 20000}`);
    for (let i = 0; i < 1000; i++) {
      const v = truncNormal(rng.next(), 0.99, 0.001, 0, 0.5);
      assert.ok(v >= 0 && v <= 0.5);
    }
  });

  it("builds Parzen estimators whose densities integrate to one, with Optuna's weights", () => {
    assert.deepEqual(Array.from(observationWeights(3)), [1, 1, 1]);
    const w = observationWeights(30);
    assert.equal(w.length, 30);
    assert.ok(Math.abs(w[0]! - 1 / 30) < 1e-12 && w[4] === 1 && w[29] === 1 && w[1]! > w[0]!);
    const space = compileSpace({ direction: "minimize", parameters: [{ name: "x", type: "double", min: -2, max: 3 }] });
    const pe = new ParzenEstimator(space, [0.1, 0.2, 2.5, -1.9].map((v) => Float64Array.of(v)), { priorWeight: 1, bandwidthFactor: 0.5 });
    const pts = Array.from({ length: 5001 }, (_, i) => Float64Array.of(-2 + (5 * i) / 5000));
    const dens = pe.logPdf(pts);
    let integral = 0;
    for (let i = 0; i < 5000; i++) integral += ((Math.exp(dens[i]!) + Math.exp(dens[i + 1]!)) / 2) * (5 / 5000);
    assert.ok(Math.abs(integral - 1) < 1e-3, `∫ l(x) dx = ${integral}`);
    // Cell masses of an int parameter sum to one.
    const ints = compileSpace({ direction: "minimize", parameters: [{ name: "k", type: "int", min: 1, max: 6 }] });
    const pk = new ParzenEstimator(ints, [2, 2, 5].map((v) => Float64Array.of(v)), { priorWeight: 1, bandwidthFactor: 1 });
    const mass = pk.logPdf([1, 2, 3, 4, 5, 6].map((v) => Float64Array.of(v))).reduce((s, v) => s + Math.exp(v), 0);
    assert.ok(Math.abs(mass - 1) < 1e-6, `Σ p(k) = ${mass}`);
  });

  it("computes the GP's log-likelihood gradient that finite differences agree with", () => {
    const rng = createRng(5);
    const n = 12;
    const d = 3;
    const x = new Float64Array(n * d).map(() => rng.next());
    const y = new Float64Array(n).map((_, i) => Math.sin(4 * x[i * d]!) + x[i * d + 1]!);
    const diff2 = new Float64Array(((n * (n - 1)) / 2) * d);
    for (let i = 0; i < n; i++) for (let j = 0; j < i; j++) for (let k = 0; k < d; k++) diff2[((i * (i - 1)) / 2 + j) * d + k] = (x[i * d + k]! - x[j * d + k]!) ** 2;
    const theta = Float64Array.of(Math.log(0.3), Math.log(0.7), Math.log(1.5), Math.log(0.8), Math.log(0.01));
    const { grad } = negLogPosterior(n, d, y, theta, diff2);
    for (let q = 0; q < theta.length; q++) {
      const h = 1e-5;
      const up = Float64Array.from(theta);
      up[q] = up[q]! + h;
      const down = Float64Array.from(theta);
      down[q] = down[q]! - h;
      const numeric = (negLogPosterior(n, d, y, up, diff2).f - negLogPosterior(n, d, y, down, diff2).f) / (2 * h);
      assert.ok(Math.abs(numeric - grad[q]!) < 1e-4 * Math.max(1, Math.abs(numeric)), `θ${q}: analytic ${grad[q]} vs numeric ${numeric}`);
    }
  });

  it("fits a GP that interpolates smooth data and is unsure far from it", () => {
    const n = 15;
    const x = Float64Array.from({ length: n }, (_, i) => i / (n - 1));
    const y = x.map((v) => Math.sin(6 * v));
    const gp = GaussianProcess.condition(x, n, 1, y, fitHyper(x, n, 1, y, 30))!;
    const at = (u: number) => gp.predict([u]);
    assert.ok(Math.abs(at(0.5).mean - Math.sin(3)) < 0.05, `mean at 0.5 ${at(0.5).mean}`);
    assert.ok(Math.abs(at(0.53).mean - Math.sin(3.18)) < 0.05);
    assert.ok(at(0.53).variance < 0.01);
  });

  it("computes log expected improvement without underflow", () => {
    assert.ok(Math.abs(Math.exp(logExpectedImprovement(0, 1, 0)) - 1 / Math.sqrt(2 * Math.PI)) < 1e-7);
    const far = logExpectedImprovement(40, 1, 0);
    assert.ok(Number.isFinite(far) && far < -700, `log EI 40σ away: ${far}`);
    assert.ok(logExpectedImprovement(10, 1, 0) > far && logExpectedImprovement(4.9, 1, 0) > logExpectedImprovement(5.1, 1, 0));
  });
});
