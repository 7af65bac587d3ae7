import type * as grpc from "@grpc/grpc-js";
import { noopLogger, systemClock, type Clock, type Logger } from "@switchyard/core";
import { createBalancer, type Balancer, type LoadBalancerConfig } from "./balancer.js";
import { Cluster, type ClusterSource } from "./cluster.js";
import { MeshEvents } from "./events.js";
import type { LocalTable } from "./local-transport.js";
import { CircuitBreaker } from "./policy-breaker.js";
import { Bulkhead } from "./policy-bulkhead.js";
import type { CompiledPolicies, DestinationPolicy } from "./policy-compile.js";
import { RetryBudget } from "./policy-retry.js";
import { AdaptiveThrottle } from "./policy-throttle.js";
import { createPolicyStore, type PolicyStore } from "./policy-source.js";
import { DEFAULT_LEASE_TTL_MS, type Registry } from "./registry.js";
import type { MeshTracing } from "./tracing.js";
import { CALLER_HEADER, PROOF_HEADER, type MeshCredentials } from "./credentials.js";

export interface MeshRuntimeOptions {
  /** This process's service name: sent on outgoing calls as the caller identity (`x-switchyard-caller`). */
  serviceName?: string;
  /** Time for every policy: backoff, breakers, ejections, token buckets, bulkhead queue waits. */
  clock?: Clock;
  /** Randomness for weighted routes, faults, jitter and balancing (tests pass a seeded one). */
  random?: () => number;
  /** The event bus metrics and logs subscribe to; share one per process (createMeshMetrics reads it). */
  events?: MeshEvents;
  /** The policies in force (createPolicyStore over a PolicySource); defaults to none: Istio's defaults. */
  policies?: PolicyStore;
  /** The process-local table of co-hosted servers; with it, calls to a co-hosted service stay in memory. */
  local?: LocalTable;
  /** Spans for every call (createMeshTracing); off when absent (W3C trace context is still passed through). */
  tracing?: MeshTracing;
  /**
   * Service credentials (credentials.ts): outgoing calls prove they come from `serviceName`, and servers refuse calls
   * that do not prove where they come from. Without them (a plain library use) servers take every call.
   */
  credentials?: MeshCredentials;
  /**
   * How long an endpoint missing from the registry's first list after a reconnect stays in rotation while it is still
   * READY and SERVING (cluster.ts): a restarted `control` is empty until leases are renewed. Default: one lease TTL
   * (DEFAULT_LEASE_TTL_MS, 6 s), by which time every live instance has registered again.
   */
  registryGraceMs?: number;
  logger?: Logger;
}

/** The client-side state of one destination (a host or one subset of it), shared by every client of the runtime. */
export class DestinationState {
  policy: DestinationPolicy;
  revision: number;
  bulkhead: Bulkhead | undefined;
  breaker: CircuitBreaker | undefined;
  throttle: AdaptiveThrottle | undefined;
  readonly budget: RetryBudget;
  balancer: Balancer;
  retriesInFlight = 0;
  readonly labelsKey: string;

  constructor(
    private readonly rt: MeshRuntime,
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

const registryIds = new WeakMap<Registry, number>();
let nextRegistryId = 1;

/**
 * What every server and client of a process shares: clock, randomness, events, the policies in force, the
 * co-hosting table, tracing, and the per-destination state (breakers, bulkheads, retry budgets, endpoints). Built once
 * at a service's composition root and passed to createServer/createClient as `runtime`.
 */
export class MeshRuntime {
  readonly serviceName: string | undefined;
  readonly clock: Clock;
  readonly random: () => number;
  readonly events: MeshEvents;
  readonly policies: PolicyStore;
  readonly local: LocalTable | undefined;
  readonly tracing: MeshTracing | undefined;
  readonly credentials: MeshCredentials | undefined;
  readonly registryGraceMs: number;
  readonly logger: Logger;
  private readonly clusters = new Map<string, Cluster>();
  private readonly destinations = new Map<string, DestinationState>();

  constructor(o: MeshRuntimeOptions = {}) {
    this.serviceName = o.serviceName;
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.events = o.events ?? new MeshEvents();
    this.logger = o.logger ?? noopLogger;
    this.policies = o.policies ?? createPolicyStore({ events: this.events, logger: this.logger });
    this.local = o.local;
    this.tracing = o.tracing;
    this.credentials = o.credentials;
    this.registryGraceMs = o.registryGraceMs ?? DEFAULT_LEASE_TTL_MS;
  }

  /** The metadata that says (and proves, with credentials) that a call comes from `caller`. */
  callerHeaders(caller: string | undefined): Record<string, string> {
    if (caller === undefined) return {};
    return this.credentials ? { [CALLER_HEADER]: caller, [PROOF_HEADER]: this.credentials.proofFor(caller) } : { [CALLER_HEADER]: caller };
  }

  /** The state of a destination, brought up to the policies' current revision. */
  destination(host: string, subset: string): DestinationState {
    const key = `${host}\u0000${subset}`;
    const policies = this.policies.current;
    let d = this.destinations.get(key);
    if (d === undefined) this.destinations.set(key, (d = new DestinationState(this, policies, host, subset)));
    else if (d.revision !== policies.revision) d.refresh(policies);
    return d;
  }

  /** The cluster of a host, shared by clients with the same source and channel settings; release it when done. */
  cluster(host: string, source: ClusterSource, channelOptions: grpc.ChannelOptions, healthCheck: boolean): Cluster {
    let sourceKey = source.address ?? "";
    if (source.registry) {
      let id = registryIds.get(source.registry);
      if (id === undefined) registryIds.set(source.registry, (id = nextRegistryId++));
      sourceKey = `r${id}`;
    }
    const key = `${sourceKey}|${host}|${healthCheck ? 1 : 0}|${JSON.stringify(channelOptions)}`;
    let c = this.clusters.get(key);
    if (c === undefined) {
      const created = new Cluster(host, this, source, channelOptions, healthCheck);
      const release = created.release.bind(created);
      created.release = () => (release() ? (this.clusters.delete(key), true) : false);
      this.clusters.set(key, (c = created));
    }
    return c.retain();
  }

  /** Waits `ms` on the runtime's clock; rejects with the signal's reason when it aborts first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const onAbort = () => {
        this.clock.clearTimeout(h);
        reject(signal!.reason);
      };
      const h = this.clock.setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }
}

/** Builds the runtime a service's composition root passes to all its servers and clients. */
export function createMeshRuntime(options: MeshRuntimeOptions = {}): MeshRuntime {
  return new MeshRuntime(options);
}

let fallbackRuntime: MeshRuntime | undefined;

/** The runtime of servers and clients created without one: system clock, no policies, no co-hosting, no metrics. */
export function defaultMeshRuntime(): MeshRuntime {
  return (fallbackRuntime ??= new MeshRuntime());
}
