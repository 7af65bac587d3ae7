// random: every parameter uniform over its internal interval (log-uniform where `log`), then rounded, quantised to
// its step or mapped to its list value; discrete and categorical choices uniform.
import { oneAtATime, rngFor, type AlgorithmDefinition } from "./algorithm.js";
import type { Rng } from "./prng.js";
import { decodeInternal, type CompiledSpace } from "./space.js";
import type { Assignment } from "./types.js";

/** A uniform draw in internal coordinates. */
export function sampleInternal(space: CompiledSpace, rng: Rng): Float64Array {
  const x = new Float64Array(space.parameters.length);
  space.parameters.forEach((p, i) => {
    x[i] = p.categorical ? rng.int(p.choices!.length) : p.lo + rng.next() * (p.hi - p.lo);
  });
  return x;
}

export function sampleAssignment(space: CompiledSpace, rng: Rng): Assignment {
  return decodeInternal(space, sampleInternal(space, rng));
}

export const randomAlgorithm: AlgorithmDefinition = {
  name: "random",
  settings: [],
  create: ({ space, seed }) => ({
    suggest: (history, count) => oneAtATime(history, count, (h) => ({ assignment: sampleAssignment(space, rngFor(seed, "random", h.length)) })),
  }),
};
