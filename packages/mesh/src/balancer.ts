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
  /** The name it was registered under (balancer-registry.ts). */
  readonly kind: string;
  pick<E extends Pickable>(candidates: readonly E[], hashKey: string | undefined, avoid: E | undefined): E | undefined;
}

/** The built-in balancers' names; a plug-in registers its own (registerBalancer). */
export type LoadBalancerKind = "round_robin" | "least_request" | "random" | "ring_hash";

/** A destination's balancing, as its compiled policy says (policy-compile.ts). */
export interface LoadBalancerConfig {
  /** The registered balancer's name: one of LoadBalancerKind, or a plug-in's. */
  readonly kind: string;
  /** ring_hash: the request header whose value is hashed (lower-case). */
  readonly hashHeader?: string;
  /** ring_hash: virtual nodes on the ring (Envoy's minimum_ring_size, default 1024). */
  readonly ringSize?: number;
}

/**
 * Makes the balancer of one destination (each destination gets its own: round robin keeps a cursor). `random` is the
 * runtime's randomness (tests pass a seeded one).
 */
export type BalancerFactory = (config: LoadBalancerConfig, random: () => number) => Balancer;
