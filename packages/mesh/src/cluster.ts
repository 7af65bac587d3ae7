import type * as grpc from "@grpc/grpc-js";
import { Endpoint } from "./endpoint.js";
import type { EndpointState } from "./events.js";
import type { LocalServer } from "./local-transport.js";
import { OutlierDetector } from "./policy-outlier.js";
import type { Instance, Registry } from "./registry.js";
import type { MeshRuntime } from "./runtime.js";

/** Where a cluster's endpoints come from: a registry (`mesh:///host`) or one fixed address (`host:port`). */
export interface ClusterSource {
  readonly registry?: Registry;
  readonly address?: string;
}

interface View {
  version: number;
  list: readonly Endpoint[];
}

/**
 * All endpoints of one host, followed by watch: the registry's instances plus co-hosted servers of the same name
 * (a co-hosted server replaces its own registry entry). It keeps one view per subset — the endpoints a balancer may
 * pick now — recomputed only when something changed, and runs the host's outlier detection.
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

  constructor(
    readonly host: string,
    private readonly rt: MeshRuntime,
    source: ClusterSource,
    private readonly channelOptions: grpc.ChannelOptions,
    private readonly healthCheck: boolean,
  ) {
    if (source.address !== undefined) {
      this.remote = [{ service: host, address: source.address, labels: {}, instanceId: source.address }];
      this.rebuild();
    } else if (source.registry) {
      this.stops.push(source.registry.watch(host, (instances) => ((this.remote = instances), this.rebuild())));
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

  private rebuild(): void {
    const next = new Map<string, { address: string; labels: Readonly<Record<string, string>>; local?: LocalServer }>();
    const locals = this.rt.local?.list(this.host) ?? [];
    for (const s of locals) next.set(s.instanceId, { address: `inproc:${s.name}/${s.instanceId}`, labels: s.labels, local: s });
    for (const i of this.remote) if (!next.has(i.instanceId || i.address)) next.set(i.instanceId || i.address, { address: i.address, labels: i.labels });
    for (const [key, e] of this.endpoints) {
      const n = next.get(key);
      if (n && n.address === e.address && n.local === e.local) continue;
      this.endpoints.delete(key);
      this.retire(e);
    }
    for (const [key, n] of next) {
      if (this.endpoints.has(key)) continue;
      this.endpoints.set(key, new Endpoint({ key, ...n, channelOptions: this.channelOptions, healthCheck: this.healthCheck, healthHeaders: this.rt.callerHeaders(this.rt.serviceName), clock: this.rt.clock, onChange: () => this.changed() }));
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
