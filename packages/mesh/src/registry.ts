/** A service instance as the registry knows it. */
export interface Instance {
  service: string;
  /** host:port */
  address: string;
  labels: Record<string, string>;
  instanceId: string;
}

export interface Lease {
  readonly leaseId: number;
  readonly ttlMs: number;
}

/**
 * Discovery: instances register under a lease they renew; an instance whose lease is not renewed vanishes.
 * Backends: the embedded one (in `control`, over gRPC), in memory (tests, single process), etcd (later).
 */
export interface Registry {
  register(instance: Instance, ttlMs: number): Promise<Lease>;
  /** Renews a lease; false when it had already expired (the caller must register again). */
  keepAlive(leaseId: number): Promise<boolean>;
  deregister(leaseId: number): Promise<void>;
  list(service?: string): Promise<Instance[]>;
  /** Calls `onChange` with the full set of a service's instances now and after every change. Returns stop. */
  watch(service: string, onChange: (instances: Instance[]) => void): () => void;
  close(): Promise<void>;
}

export function parseHostPort(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(":");
  const host = address.slice(0, i).replace(/^\[|\]$/g, "");
  return { host, port: Number(address.slice(i + 1)) };
}
