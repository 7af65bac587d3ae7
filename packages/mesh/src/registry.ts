/** A service instance as the registry knows it. */
export interface Instance {
  service: string;
  /** host:port */
  address: string;
  labels: Record<string, string>;
  instanceId: string;
}

/** The lease TTL servers register with unless told otherwise (renewed every third of it). */
export const DEFAULT_LEASE_TTL_MS = 6000;

/** What a watch delivery is, besides the list. */
export interface WatchUpdate {
  /**
   * The first list after the watch (re)connected. The registry may be rebuilding then — a restarted `control` holds
   * nothing until each instance's lease renewal registers it again — so an instance missing from this list may well
   * be alive; clients keep such endpoints while they stay connected and serving (cluster.ts).
   */
  readonly resync: boolean;
}

export interface Lease {
  readonly leaseId: number;
  readonly ttlMs: number;
}

/**
 * Discovery: instances register under a lease they renew; an instance whose lease is not renewed vanishes.
 * Back ends: the embedded one (`MemoryRegistry`, served by `control` and reached over gRPC by `createRemoteRegistry`),
 * in memory directly (tests, `up --single-process`), and etcd (`@switchyard/mesh/etcd`). `openRegistry` picks one by
 * the scheme of the configured spec (registry-open.ts; more with `registerRegistryBackend`).
 */
export interface Registry {
  register(instance: Instance, ttlMs: number): Promise<Lease>;
  /** Renews a lease; false when it had already expired (the caller must register again). */
  keepAlive(leaseId: number): Promise<boolean>;
  deregister(leaseId: number): Promise<void>;
  list(service?: string): Promise<Instance[]>;
  /** Calls `onChange` with the full set of a service's instances now and after every change. Returns stop. */
  watch(service: string, onChange: (instances: Instance[], update: WatchUpdate) => void): () => void;
  close(): Promise<void>;
}

export function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[|\]$/g, "");
  return { host, port: Number(address.slice(i + 1)) };
}
