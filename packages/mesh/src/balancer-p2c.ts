import type { Balancer } from "./balancer.js";

/**
 * Least request by the power of two choices (Envoy's LEAST_REQUEST with equal weights): draw two distinct candidates at
 * random and take the one with fewer calls in flight. A slowed endpoint accumulates in-flight calls and so loses most
 * draws, without the herding that "always the least loaded" causes among many clients.
 */
export function createP2cBalancer(random: () => number = Math.random): Balancer {
  return {
    kind: "least_request",
    pick(candidates, _hashKey, avoid) {
      const n = candidates.length;
      if (n === 0) return undefined;
      if (n === 1) return candidates[0];
      const i = Math.floor(random() * n);
      let j = Math.floor(random() * (n - 1));
      if (j >= i) j++;
      let a = candidates[i]!;
      let b = candidates[j]!;
      if (a === avoid) a = b;
      else if (b === avoid) b = a;
      return b.active < a.active ? b : a;
    },
  };
}
