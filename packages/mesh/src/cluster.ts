import type * as grpc from "@grpc/grpc-js";
import type { Clock, Logger, TimerHandle } from "@switchyard/core";
import { Endpoint } from "./endpoint.js";
import type { EndpointState, MeshEvents } from "./events.js";
import type { LocalServer, LocalTable } from "./local-transport.js";
import { OutlierDetector } from "./policy-outlier.js";
import type { PolicyStore } from "./policy-source.js";
import type { Instance, Registry, WatchUpdate } from "./registry.js";

/** Where a cluster's endpoints come from: a registry (`mesh:///host`) or one fixed address (`host:port`). */
export interface ClusterSource {
  readonly registry?: Registry;
  readonly address?: string;
  /** The SPIFFE id the servers must prove (mutual TLS); default: the platform service named by the host. */
  readonly peer?: string;
}

/** What a cluster needs of its runtime (runtime.ts implements it). */
export interface ClusterRuntime {
  readonly clock: Clock;
  readonly events: MeshEvents;
  readonly logger: Logger;
  readonly local: LocalTable | undefined;
  readonly policies: PolicyStore;
  readonly registryGraceMs: number;
  readonly serviceName: string | undefined;
  channelCredentials(host: string, byAddress: boolean, peer: string | undefined, address?: string, labels?: Readonly<Record<string, string>>): grpc.ChannelCredentials;
}

interface View {
  version: number;
  list: readonly Endpoint[];
}

/**
 * All endpoints of one host, followed by watch: the registry's instances plus co-hosted servers of the same name
 * (a co-hosted server replaces its own registry entry). It keeps one view per subset — the endpoints a balancer may
 * pick now — recomputed only when something changed, and runs the host's outlier detection.
 *
 * A registry that reconnects may be rebuilding: `control` keeps its registry in memory, so after a restart it is empty
 * until each instance's lease renewal registers it again. An endpoint missing from the first list after a reconnect
 * (WatchUpdate.resync) is therefore *held* — kept in rotation — while its channel stays READY and its health watch
 * SERVING, until it is listed again (then it is an ordinary endpoint), fails, or `registryGraceMs` (one lease TTL)
 * passes. Ordinary removals (a deregistration, an expired lease) take effect at once, as before.
 */
export class Cluster {
  private readonly endpoints = new Map<string, Endpoint>();
  private readonly reported = new Map<Endpoint, EndpointState>();
  private readonly views = new Map<string, View>();
  private version = 0;
  private resolved = false;
  private waiters: (() => void)[] = [];
  private remote: readonly Instance[] = [];
  private outlier: OutlierDetector<Endpoint> | undefined;
  private readonly stops: (() => void)[] = [];
  private refs = 0;
  /** Endpoints kept after a resync did not list them: key → when the grace ends (runtime clock, ms). */
  private readonly held = new Map<string, number>();
  private heldTimer: TimerHandle | undefined;
  private closed = false;

  constructor(
    readonly host: string,
    private readonly rt: ClusterRuntime,
    private readonly source: ClusterSource,
    private readonly channelOptions: grpc.ChannelOptions,
    private readonly healthCheck: boolean,
  ) {
    if (source.address !== undefined) {
      this.remote = [{ service: host, address: source.address, labels: {}, instanceId: source.address }];
      this.rebuild();
    } else if (source.registry) {
      this.stops.push(source.registry.watch(host, (instances, update) => this.onRegistry(instances, update)));
    }
    if (rt.local) this.stops.push(rt.local.watch(host, () => this.rebuild()));
    this.stops.push(rt.policies.onChange(() => this.applyOutlierPolicy()));
    this.applyOutlierPolicy();
    if (rt.local && rt.local.list(host).length > 0) this.rebuild();
  }

  retain(): this {
    this.refs++;
    return this;
  }

  /** Drops a reference; the last one closes the cluster (channels, watches, timers). Returns true when closed. */
  release(): boolean {
    if (--this.refs > 0) return false;
    this.closed = true;
    if (this.heldTimer !== undefined) this.rt.clock.clearTimeout(this.heldTimer);
    for (const s of this.stops) s();
    this.outlier?.close();
    for (const e of this.endpoints.values()) e.close();
    this.endpoints.clear();
    return true;
  }

  private applyOutlierPolicy(): void {
    const o = this.rt.policies.current.outlier(this.host);
    if (o === undefined) {
      this.outlier?.close();
      this.outlier = undefined;
      for (const e of this.endpoints.values()) if (e.outlier.ejected) ((e.outlier.ejected = false), this.changed());
      return;
    }
    if (this.outlier) return this.outlier.update(o);
    this.outlier = new OutlierDetector<Endpoint>(o, this.rt.clock, () => this.endpoints.values(), {
      onEject: (e, ejectionMs, times) => {
        this.rt.events.emit("eject", { destination: this.host, endpoint: e.address, ejectionMs, times });
        this.changed();
      },
      onReturn: () => this.changed(),
    });
  }

  /** The outcome of an attempt on `endpoint` (outlier detection). */
  record(endpoint: Endpoint, code: number): void {
    this.outlier?.record(endpoint, code);
  }

  private onRegistry(instances: readonly Instance[], update: WatchUpdate): void {
    const listed = new Set(instances.map((i) => i.instanceId || i.address));
    for (const key of this.held.keys()) if (listed.has(key)) this.held.delete(key);
    if (update.resync) {
      const until = this.rt.clock.now() + this.rt.registryGraceMs;
      const kept: string[] = [];
      for (const [key, e] of this.endpoints) {
        if (listed.has(key) || this.held.has(key) || e.local !== undefined || !e.ready || !e.eligible) continue;
        this.held.set(key, until);
        kept.push(e.address);
      }
      if (kept.length > 0) {
        this.rt.logger.info({ destination: this.host, endpoints: kept, graceMs: this.rt.registryGraceMs }, "registry resynced without live endpoints; keeping them while they serve");
        this.heldTimer ??= this.rt.clock.setTimeout(() => this.expireHeld(), this.rt.registryGraceMs);
      }
    }
    this.remote = instances;
    this.rebuild();
  }

  /** Ends the grace of held endpoints whose time is up, and waits for the next one. */
  private expireHeld(): void {
    this.heldTimer = undefined;
    const now = this.rt.clock.now();
    let next = Infinity;
    for (const [key, until] of this.held) {
      if (until <= now) this.held.delete(key);
      else next = Math.min(next, until);
    }
    if (next !== Infinity) this.heldTimer = this.rt.clock.setTimeout(() => this.expireHeld(), next - now);
    this.rebuild();
  }

  /** Held endpoints leave as soon as they stop being READY and SERVING (checked on every endpoint change). */
  private dropFailedHeld(): void {
    let dropped = false;
    for (const key of this.held.keys()) {
      const e = this.endpoints.get(key);
      if (e !== undefined && e.ready && e.eligible) continue;
      this.held.delete(key);
      dropped = true;
    }
    // Not from inside the endpoint's own callback: rebuild may close it.
    if (dropped) queueMicrotask(() => this.closed || this.rebuild());
  }

  private rebuild(): void {
    const next = new Map<string, { address: string; labels: Readonly<Record<string, string>>; local?: LocalServer }>();
    const locals = this.rt.local?.list(this.host) ?? [];
    for (const s of locals) next.set(s.instanceId, { address: `inproc:${s.name}/${s.instanceId}`, labels: s.labels, local: s });
    for (const i of this.remote) if (!next.has(i.instanceId || i.address)) next.set(i.instanceId || i.address, { address: i.address, labels: i.labels });
    for (const key of this.held.keys()) {
      const e = this.endpoints.get(key);
      if (e === undefined) this.held.delete(key);
      else if (!next.has(key)) next.set(key, { address: e.address, labels: e.labels });
    }
    for (const [key, e] of this.endpoints) {
      const n = next.get(key);
      if (n && n.address === e.address && n.local === e.local) continue;
      this.endpoints.delete(key);
      this.retire(e);
    }
    for (const [key, n] of next) {
      if (this.endpoints.has(key)) continue;
      this.endpoints.set(key, new Endpoint({ key, ...n, channelOptions: this.channelOptions, credentials: this.rt.channelCredentials(this.host, this.source.address !== undefined, this.source.peer, n.address, n.labels), healthCheck: this.healthCheck, clock: this.rt.clock, onChange: () => this.changed() }));
    }
    this.resolved = true;
    for (const w of this.waiters.splice(0)) w();
    this.changed();
  }

  /** A removed endpoint keeps its channel until its in-flight calls end (a draining server finishes them). */
  private retire(e: Endpoint): void {
    this.reported.delete(e);
    this.rt.events.emit("endpointState", { destination: this.host, endpoint: e.address, state: "removed" });
    if (e.active === 0) return e.close();
    let tries = 0;
    const check = () => (e.active === 0 || ++tries > 300 ? e.close() : this.rt.clock.setTimeout(check, 100));
    this.rt.clock.setTimeout(check, 100);
  }

  private changed(): void {
    this.version++;
    if (this.held.size > 0) this.dropFailedHeld();
    if (!this.rt.events.has("endpointState")) return;
    for (const e of this.endpoints.values()) {
      const s: EndpointState = e.outlier.ejected ? "ejected" : !e.eligible ? "not_serving" : !e.reachable ? "unreachable" : "serving";
      if (this.reported.get(e) === s) continue;
      this.reported.set(e, s);
      this.rt.events.emit("endpointState", { destination: this.host, endpoint: e.address, state: s });
    }
  }

  /** Resolves true once the source has delivered its first list (or false after `waitMs`). */
  whenResolved(waitMs: number): Promise<boolean> {
    if (this.resolved) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = this.rt.clock.setTimeout(() => resolve(this.resolved), Math.max(0, waitMs));
      this.waiters.push(() => {
        this.rt.clock.clearTimeout(t);
        resolve(true);
      });
    });
  }

  get isResolved(): boolean {
    return this.resolved;
  }

  /** Every endpoint (any state), for status pages and tests. */
  list(): readonly Endpoint[] {
    return [...this.endpoints.values()];
  }

  /**
   * The endpoints of a subset that may take a call now, best class first: co-hosted ones if any (injvm preference),
   * else connected ones, else ones not known to fail. Never NOT_SERVING ones; never ejected ones — unless that leaves
   * fewer than minHealthPercent of the subset (or none), when ejections are ignored (Envoy's panic mode).
   */
  candidates(labelsKey: string, labels: Readonly<Record<string, string>> | undefined): readonly Endpoint[] {
    const v = this.views.get(labelsKey);
    if (v !== undefined && v.version === this.version) return v.list;
    const all: Endpoint[] = [];
    for (const e of this.endpoints.values()) if (labels === undefined || Object.entries(labels).every(([k, val]) => e.labels[k] === val)) all.push(e);
    const eligible = all.filter((e) => e.eligible && !e.outlier.ejected);
    const minHealth = this.outlier?.config.minHealthPercent ?? 0;
    const pool = eligible.length === 0 || (all.length > 0 && (eligible.length * 100) / all.length < minHealth) ? all.filter((e) => e.eligible) : eligible;
    const local = pool.filter((e) => e.local !== undefined);
    const ready = pool.filter((e) => e.ready);
    const reachable = pool.filter((e) => e.reachable);
    const list = local.length > 0 ? local : ready.length > 0 ? ready : reachable.length > 0 ? reachable : pool;
    this.views.set(labelsKey, { version: this.version, list });
    return list;
  }
}
