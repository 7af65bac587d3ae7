import type { Balancer } from "./balancer.js";

/** A uniform random pick, avoiding `avoid` where possible (Istio's RANDOM). */
export function createRandomBalancer(random: () => number = Math.random): Balancer {
  return {
    kind: "random",
    pick(candidates, _hashKey, avoid) {
      const n = candidates.length;
      if (n === 0) return undefined;
      let e = candidates[Math.floor(random() * n)]!;
      if (e === avoid && n > 1) e = candidates[(candidates.indexOf(e) + 1 + Math.floor(random() * (n - 1))) % n]!;
      return e;
    },
  };
}
