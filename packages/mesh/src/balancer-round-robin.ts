import type { Balancer } from "./balancer.js";

/**
 * Round robin over the candidates. The cursor starts at a random offset (so that many clients started together do not
 * all hit the first endpoint first) and survives changes of the candidate set.
 */
export function createRoundRobinBalancer(random: () => number = Math.random): Balancer {
  let cursor = Math.floor(random() * 1024);
  return {
    kind: "round_robin",
    pick(candidates, _hashKey, avoid) {
      const n = candidates.length;
      if (n === 0) return undefined;
      cursor = (cursor + 1) % 1_000_000_007;
      let e = candidates[cursor % n]!;
      if (e === avoid && n > 1) {
        cursor++;
        e = candidates[cursor % n]!;
      }
      return e;
    },
  };
}
