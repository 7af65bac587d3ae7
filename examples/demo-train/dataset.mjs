// Deterministic randomness and the demo dataset: interleaved spirals, one arm per class.

/**
 * A seeded PRNG (mulberry32) whose whole state is one uint32, so a checkpoint can save it and a resumed run draws
 * exactly the numbers an uninterrupted run would have drawn.
 */
export class Rng {
  /** @param {number} state any integer; only its low 32 bits are used */
  constructor(state) {
    this.state = state >>> 0;
  }

  /** A float in [0, 1). */
  next() {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A standard normal sample (Box–Muller; the second value is discarded to keep the state one number). */
  normal() {
    const u = 1 - this.next(); // (0, 1], so log(u) is finite
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** An integer in [0, n). */
  int(n) {
    return Math.floor(this.next() * n);
  }

  /** Shuffles `array` in place (Fisher–Yates). */
  shuffle(array) {
    for (let i = array.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      const tmp = array[i];
      array[i] = array[j];
      array[j] = tmp;
    }
    return array;
  }
}

/**
 * @typedef {{ x: Float64Array, y: Int32Array, n: number }} Split  x is row-major [n, 2], y holds class indices
 * @typedef {{ train: Split, validation: Split, featureNames: string[], classes: string[] }} Dataset
 */

/**
 * Generates `classes` spiral arms of `perClass` points each in the square [-1, 1]², with angular noise, and splits
 * them into train and validation sets. The same seed always gives the same points in the same order.
 * @param {{ seed: number, classes: number, perClass: number, noise?: number, validationFraction?: number }} options
 * @returns {Dataset}
 */
export function makeSpirals({ seed, classes, perClass, noise = 0.2, validationFraction = 0.2 }) {
  const rng = new Rng(seed ^ 0x5eed);
  const total = classes * perClass;
  const points = [];
  for (let k = 0; k < classes; k++) {
    for (let i = 0; i < perClass; i++) {
      const r = (i + 1) / perClass;
      const theta = (2 * Math.PI * k) / classes + 1.75 * Math.PI * r + noise * rng.normal();
      points.push([r * Math.sin(theta), r * Math.cos(theta), k]);
    }
  }
  rng.shuffle(points);
  const nValidation = Math.round(total * validationFraction);
  const toSplit = (rows) => {
    const x = new Float64Array(rows.length * 2);
    const y = new Int32Array(rows.length);
    rows.forEach(([a, b, k], i) => {
      x[i * 2] = a;
      x[i * 2 + 1] = b;
      y[i] = k;
    });
    return { x, y, n: rows.length };
  };
  return {
    train: toSplit(points.slice(nValidation)),
    validation: toSplit(points.slice(0, nValidation)),
    featureNames: ["x", "y"],
    classes: Array.from({ length: classes }, (_, k) => `arm-${k}`),
  };
}
