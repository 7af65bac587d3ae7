import type * as grpc from "@grpc/grpc-js";
import { noopLogger, systemClock, type Clock, type Logger } from "@switchyard/core";
import { Cluster, type ClusterRuntime, type ClusterSource } from "./cluster.js";
import { DestinationState, type DestinationRuntime } from "./destination.js";
import { MeshEvents } from "./events.js";
import type { LocalTable } from "./local-transport.js";
import { createPolicyStore, type PolicyStore } from "./policy-source.js";
import { DEFAULT_LEASE_TTL_MS, type Registry } from "./registry.js";
import type { MeshTracing } from "./tracing.js";
import * as grpcJs from "@grpc/grpc-js";
import { WorkloadIdentity, type MeshCredentials } from "./credentials.js";
import type { GrantBook } from "./grants.js";
import { UserTokenMinter, verifierFor, type UserTokenVerifier } from "./user-token.js";
import { standDownStore } from "./policy-stand-down.js";
import { parseSpiffeId, serviceId, SYSTEM_NAMESPACE } from "./spiffe.js";

export interface MeshRuntimeOptions {
  /** This process's service name (spans, metrics, the local peer of co-hosted calls). */
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
   * Mutual TLS (credentials.ts): servers serve TLS and refuse callers without a certificate of the platform CA, clients
   * present this workload's certificate and check the server's identity. Without them (a plain library use) the mesh
   * speaks plaintext and servers take every call.
   */
  credentials?: MeshCredentials;
  /**
   * `istio`: an Istio sidecar sits beside the process (policy-stand-down.ts). The mesh speaks plaintext to it (the
   * sidecars do mTLS), takes the caller's identity from the sidecar's `x-forwarded-client-cert`, and stands down on
   * retries, faults, outlier detection, breakers and client bulkheads; credentials still sign user tokens. Default
   * `mesh`: the in-process layer does it all.
   */
  mode?: "mesh" | "istio";
  /** The live delegation grants this workload's servers honour (grants.ts); none: calls under grants are UNAVAILABLE. */
  grants?: GrantBook;
  /**
   * Hosts whose endpoints are a team's workloads (model servers: `inference`), each with its own identity: the
   * endpoint's registration names it (label WORKLOAD_LABEL, written by the service that certified it — the registry
   * takes such hosts from that service alone) and mutual TLS accepts that identity only, of the team the
   * registration names.
   */
  workloadHosts?: readonly string[];
  /**
   * How long an endpoint missing from the registry's first list after a reconnect stays in rotation while it is still
   * READY and SERVING (cluster.ts): a restarted `control` is empty until leases are renewed. Default: one lease TTL
   * (DEFAULT_LEASE_TTL_MS, 6 s), by which time every live instance has registered again.
   */
  registryGraceMs?: number;
  logger?: Logger;
}

const registryIds = new WeakMap<Registry, number>();
let nextRegistryId = 1;

/**
 * What every server and client of a process shares: clock, randomness, events, the policies in force, the
 * co-hosting table, tracing, and the per-destination state (breakers, bulkheads, retry budgets, endpoints). Built once
 * at a service's composition root and passed to createServer/createClient as `runtime`.
 */
export class MeshRuntime implements ClusterRuntime, DestinationRuntime {
  readonly serviceName: string | undefined;
  readonly clock: Clock;
  readonly random: () => number;
  readonly events: MeshEvents;
  readonly policies: PolicyStore;
  readonly local: LocalTable | undefined;
  readonly tracing: MeshTracing | undefined;
  readonly credentials: MeshCredentials | undefined;
  readonly mode: "mesh" | "istio";
  readonly workloadHosts: ReadonlySet<string>;
  readonly registryGraceMs: number;
  readonly logger: Logger;
  /** Mints the user tokens of this workload's calls (credentials with a certificate only). */
  readonly userTokens: UserTokenMinter | undefined;
  /** Verifies the user tokens of calls to this workload's servers. */
  readonly userTokenVerifier: UserTokenVerifier | undefined;
  /** The grants of users to delegates, as the config center has them (services that honour grants only). */
  readonly grants: GrantBook | undefined;
  private readonly clusters = new Map<string, Cluster>();
  private readonly destinations = new Map<string, DestinationState>();

  constructor(o: MeshRuntimeOptions = {}) {
    this.serviceName = o.serviceName;
    this.clock = o.clock ?? systemClock;
    this.random = o.random ?? Math.random;
    this.events = o.events ?? new MeshEvents();
    this.logger = o.logger ?? noopLogger;
    this.mode = o.mode ?? "mesh";
    this.workloadHosts = new Set(o.workloadHosts ?? []);
    const policies = o.policies ?? createPolicyStore({ events: this.events, logger: this.logger });
    this.policies = this.mode === "istio" ? standDownStore(policies) : policies;
    this.local = o.local;
    this.tracing = o.tracing;
    this.credentials = o.credentials;
    const workload = o.credentials instanceof WorkloadIdentity ? o.credentials : undefined;
    this.userTokens = workload ? new UserTokenMinter(workload) : undefined;
    this.userTokenVerifier = workload ? verifierFor(workload) : undefined;
    this.registryGraceMs = o.registryGraceMs ?? DEFAULT_LEASE_TTL_MS;
    this.grants = o.grants;
  }

  /**
   * The channel credentials for endpoints of `host`: with credentials, TLS that presents this workload's certificate
   * and accepts only `peer` (a SPIFFE id), or — when the client named none — the platform service `host` for a mesh
   * target, any platform service for an address, the identity its registration names for a workload host
   * (`workloadHosts`); plaintext without credentials.
   */
  channelCredentials(host: string, byAddress: boolean, peer: string | undefined, _address?: string, labels?: Readonly<Record<string, string>>): grpc.ChannelCredentials {
    const creds = this.credentials;
    if (creds === undefined || this.mode === "istio") return grpcJs.credentials.createInsecure();
    if (this.workloadHosts.has(host)) return creds.channelCredentials(workloadPeer(creds.trustDomain, host, labels));
    let expected = peer;
    if (expected === undefined && !byAddress) {
      try {
        expected = serviceId(creds.trustDomain, host);
      } catch {
        expected = undefined;
      }
    }
    return creds.channelCredentials(expected);
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
    const key = `${sourceKey}|${source.peer ?? ""}|${host}|${healthCheck ? 1 : 0}|${JSON.stringify(channelOptions)}`;
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

/** The registry label that names a team workload endpoint's SPIFFE id (runtime `workloadHosts`). */
export const WORKLOAD_LABEL = "spiffe";

/** The identity a workload endpoint must prove: its registration's, if it is a workload of the team it names. */
function workloadPeer(trustDomain: string, host: string, labels: Readonly<Record<string, string>> | undefined): string {
  const id = labels?.[WORKLOAD_LABEL];
  const p = id === undefined ? undefined : parseSpiffeId(id);
  // Nothing proves a certificate of "no identity": a registration without a valid one is never connected to.
  if (p === undefined || p.trustDomain !== trustDomain || p.namespace === SYSTEM_NAMESPACE || p.namespace !== labels?.team) return `spiffe://${trustDomain}/ns/-/sa/no-valid-identity-registered-for-${host}`;
  return id!;
}

