import { systemClock, type Clock, type TimerHandle } from "@switchyard/core";
import type { Instance, Lease, Registry, WatchUpdate } from "./registry.js";

interface Entry {
  instance: Instance;
  leaseId: number;
  ttlMs: number;
  expiresAtMs: number;
}

const RESYNC: WatchUpdate = { resync: true };
const CHANGE: WatchUpdate = { resync: false };

export interface MemoryRegistryOptions {
  clock?: Clock;
  /** How often expired leases are swept. */
  sweepMs?: number;
}

/** The embedded registry: instances with leases, in memory. `control` serves it over gRPC. */
export class MemoryRegistry implements Registry {
  private readonly clock: Clock;
  private readonly sweepMs: number;
  private readonly entries = new Map<number, Entry>();
  private readonly watchers = new Map<string, Set<(instances: Instance[], update: WatchUpdate) => void>>();
  /**
   * Lease ids start at a random point: after a restart (control's registry lives in memory) an old lease id must not
   * name a new lease, or an instance renewing its dead lease would keep another instance's alive and never register.
   */
  private nextLease = 1 + Math.floor(Math.random() * 2 ** 40);
  private timer: TimerHandle | undefined;
  revision = 0;

  constructor(options: MemoryRegistryOptions = {}) {
    this.clock = options.clock ?? systemClock;
    this.sweepMs = options.sweepMs ?? 500;
    this.schedule();
  }

  private schedule(): void {
    this.timer = this.clock.setTimeout(() => {
      this.sweep();
      this.schedule();
    }, this.sweepMs);
  }

  /** Removes instances whose lease has expired and tells their watchers. */
  sweep(): void {
    const now = this.clock.now();
    const changed = new Set<string>();
    for (const [id, e] of this.entries) {
      if (e.expiresAtMs <= now) {
        this.entries.delete(id);
        changed.add(e.instance.service);
      }
    }
    for (const s of changed) this.notify(s);
  }

  async register(instance: Instance, ttlMs: number): Promise<Lease> {
    // One entry per instance id: re-registering replaces the old lease.
    for (const [id, e] of this.entries) if (e.instance.instanceId === instance.instanceId) this.entries.delete(id);
    const leaseId = this.nextLease++;
    this.entries.set(leaseId, { instance: { ...instance, labels: { ...instance.labels } }, leaseId, ttlMs, expiresAtMs: this.clock.now() + ttlMs });
    this.notify(instance.service);
    return { leaseId, ttlMs };
  }

  async keepAlive(leaseId: number): Promise<boolean> {
    const e = this.entries.get(leaseId);
    if (!e) return false;
    e.expiresAtMs = this.clock.now() + e.ttlMs;
    return true;
  }

  async deregister(leaseId: number): Promise<void> {
    const e = this.entries.get(leaseId);
    if (!e) return;
    this.entries.delete(leaseId);
    this.notify(e.instance.service);
  }

  listNow(service?: string): Instance[] {
    const out: Instance[] = [];
    for (const e of this.entries.values()) if (service === undefined || service === "" || e.instance.service === service) out.push(e.instance);
    return out.sort((a, b) => a.address.localeCompare(b.address));
  }

  async list(service?: string): Promise<Instance[]> {
    return this.listNow(service);
  }

  watch(service: string, onChange: (instances: Instance[], update: WatchUpdate) => void): () => void {
    let set = this.watchers.get(service);
    if (!set) this.watchers.set(service, (set = new Set()));
    set.add(onChange);
    queueMicrotask(() => {
      if (set.has(onChange)) onChange(this.listNow(service), RESYNC);
    });
    return () => set.delete(onChange);
  }

  private notify(service: string): void {
    this.revision++;
    const list = this.listNow(service);
    for (const cb of this.watchers.get(service) ?? []) cb(list, CHANGE);
  }

  async close(): Promise<void> {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.watchers.clear();
  }
}
