import type { Balancer, BalancerFactory, LoadBalancerConfig } from "./balancer.js";
import { createP2cBalancer } from "./balancer-p2c.js";
import { createRandomBalancer } from "./balancer-random.js";
import { createRingHashBalancer } from "./balancer-ring-hash.js";
import { createRoundRobinBalancer } from "./balancer-round-robin.js";

/**
 * Balancers by name, as grpc-js keeps its load-balancing policies (`registerLoadBalancerType`): the compiled policy of
 * a destination names one (`LoadBalancerConfig.kind`) and the runtime makes it from the factory registered here. The
 * built-ins are registered when this module loads; a plug-in calls `registerBalancer` at its composition root, before
 * the first call that needs it. One registry per process, like grpc-js's.
 */
const factories = new Map<string, BalancerFactory>();

/**
 * Registers (or replaces, as grpc-js does, so a composition root may swap a built-in) the balancer called `name`.
 * Destinations that already made theirs keep it until their policy changes.
 */
export function registerBalancer(name: string, factory: BalancerFactory): void {
  factories.set(name, factory);
}

/** The names balancers are registered under. */
export function registeredBalancers(): string[] {
  return [...factories.keys()];
}

/** The balancer a destination's compiled policy names; throws when no balancer has that name. */
export function createBalancer(config: LoadBalancerConfig, random: () => number = Math.random): Balancer {
  const factory = factories.get(config.kind);
  if (factory === undefined) throw new RangeError(`no balancer is registered as "${config.kind}" (registered: ${registeredBalancers().join(", ")}); register it with registerBalancer() first`);
  return factory(config, random);
}

registerBalancer("round_robin", (_config, random) => createRoundRobinBalancer(random));
registerBalancer("least_request", (_config, random) => createP2cBalancer(random));
registerBalancer("random", (_config, random) => createRandomBalancer(random));
registerBalancer("ring_hash", (config, random) => createRingHashBalancer({ ringSize: config.ringSize ?? 1024, random }));
