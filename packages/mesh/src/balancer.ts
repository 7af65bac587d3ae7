import { createRoundRobinBalancer } from "./balancer-round-robin.js";
import { createP2cBalancer } from "./balancer-p2c.js";
import { createRingHashBalancer } from "./balancer-ring-hash.js";

/** What a balancer needs to know about an endpoint: a stable key and its in-flight calls (kept by the call layer). */
export interface Pickable {
  readonly key: string;
  readonly active: number;
}

/**
 * Chooses one endpoint of a destination for one attempt. `candidates` are the endpoints that may take traffic now
 * (serving, not ejected, reachable); the same array instance is passed until that set changes, so balancers may cache
 * per array. `avoid` is the endpoint the previous attempt failed on (Istio's default retry host predicate): a balancer
 * returns another one where there is another one.
 */
export interface Balancer {
  readonly kind: LoadBalancerKind;
  pick<E extends Pickable>(candidates: readonly E[], hashKey: string | undefined, avoid: E | undefined): E | undefined;
}

export type LoadBalancerKind = "round_robin" | "least_request" | "random" | "ring_hash";

export interface LoadBalancerConfig {
  readonly kind: LoadBalancerKind;
  /** ring_hash: the request header whose value is hashed (lower-case). */
  readonly hashHeader?: string;
  /** ring_hash: virtual nodes on the ring (Envoy's minimum_ring_size, default 1024). */
  readonly ringSize?: number;
}

/** A uniform random pick, avoiding `avoid` where possible (Istio's RANDOM). */
function createRandomBalancer(random: () => number): Balancer {
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

/** The balancer a destination's compiled policy names. Each destination gets its own (round robin keeps a cursor). */
export function createBalancer(config: LoadBalancerConfig, random: () => number = Math.random): Balancer {
  switch (config.kind) {
    case "round_robin":
      return createRoundRobinBalancer(random);
    case "least_request":
      return createP2cBalancer(random);
    case "random":
      return createRandomBalancer(random);
    case "ring_hash":
      return createRingHashBalancer({ ringSize: config.ringSize ?? 1024, random });
  }
}
