import type { Clock } from "@switchyard/core";
import type { Balancer, LoadBalancerConfig } from "./balancer.js";
import { createBalancer } from "./balancer-registry.js";
import type { MeshEvents } from "./events.js";
import { CircuitBreaker } from "./policy-breaker.js";
import { Bulkhead } from "./policy-bulkhead.js";
import type { CompiledPolicies, DestinationPolicy } from "./policy-compile.js";
import { RetryBudget } from "./policy-retry.js";
import { AdaptiveThrottle } from "./policy-throttle.js";

/** What a destination's state needs of its runtime (runtime.ts). */
export interface DestinationRuntime {
  readonly clock: Clock;
  readonly random: () => number;
  readonly events: MeshEvents;
}

/**
 * The client-side state of one destination (a host or one subset of it), shared by every client of a runtime: the
 * policy objects the call chain consults on every attempt (client-policy-*.ts) — breaker, bulkhead, adaptive throttle,
 * retry budget, balancer — and the retries in flight. A new policy revision updates them in place.
 */
export class DestinationState {
  policy: DestinationPolicy;
  revision: number;
  bulkhead: Bulkhead | undefined;
  breaker: CircuitBreaker | undefined;
  throttle: AdaptiveThrottle | undefined;
  readonly budget: RetryBudget;
  balancer: Balancer;
  /** Retries outstanding now (connectionPool.http.maxRetries bounds them), unary and streaming alike. */
  retriesInFlight = 0;
  readonly labelsKey: string;

  constructor(
    private readonly rt: DestinationRuntime,
    policies: CompiledPolicies,
    host: string,
    subset: string,
  ) {
    this.policy = policies.destination(host, subset);
    this.revision = policies.revision;
    this.labelsKey = subset;
    this.budget = new RetryBudget(this.policy.retryBudget, rt.clock);
    this.balancer = createBalancer(this.policy.lb, rt.random);
    this.applyStateful(this.policy);
  }

  /** Follows a new policy revision, keeping counters, tokens and breaker state where the settings still apply. */
  refresh(policies: CompiledPolicies): void {
    const next = policies.destination(this.policy.host, this.policy.subset);
    this.revision = policies.revision;
    const prev = this.policy;
    this.policy = next;
    if (!sameLb(prev.lb, next.lb)) this.balancer = createBalancer(next.lb, this.rt.random);
    this.budget.update(next.retryBudget);
    this.applyStateful(next);
  }

  /** How messages name it: `"jobs"` or `"jobs" subset "v2"`. */
  describe(): string {
    return this.policy.subset ? `"${this.policy.host}" subset "${this.policy.subset}"` : `"${this.policy.host}"`;
  }

  private applyStateful(p: DestinationPolicy): void {
    if (p.bulkhead === undefined) this.bulkhead = undefined;
    else if (this.bulkhead) this.bulkhead.update(p.bulkhead);
    else this.bulkhead = new Bulkhead(p.bulkhead, this.rt.clock);
    if (p.throttle === undefined) this.throttle = undefined;
    else if (this.throttle) this.throttle.update(p.throttle);
    else this.throttle = new AdaptiveThrottle(p.throttle, this.rt.clock);
    if (p.breaker === undefined) {
      this.breaker?.close();
      this.breaker = undefined;
    } else if (this.breaker) this.breaker.update(p.breaker);
    else {
      const { host, subset } = p;
      this.breaker = new CircuitBreaker(p.breaker, this.rt.clock, (from, to) => this.rt.events.emit("breakerState", { destination: host, subset, from, to }));
    }
  }
}

function sameLb(a: LoadBalancerConfig, b: LoadBalancerConfig): boolean {
  return a.kind === b.kind && a.hashHeader === b.hashHeader && a.ringSize === b.ringSize;
}
