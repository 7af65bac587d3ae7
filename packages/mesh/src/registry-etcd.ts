import type { Etcd3, Lease as EtcdLease, Watcher } from "etcd3";
import { noopLogger, type Logger } from "@switchyard/core";
import type { WorkloadIdentity } from "./credentials.js";
import type { Instance, Lease, Registry } from "./registry.js";

export interface EtcdRegistryOptions {
  /** `etcd://host:port[,host:port]` or plain `host:port` list. */
  endpoints: string;
  /** Key prefix for all instances (default `/switchyard/registry/`). */
  prefix?: string;
  /**
   * Client-certificate authentication: etcd over TLS (https), trusting the platform CA and presenting this workload's
   * certificate (etcd runs with `--client-cert-auth --trusted-ca-file <data>/secrets/ca.crt`). The client is remade
   * when the certificate rotates: leases are then registered again and watches re-opened on the new one.
   */
  identity?: WorkloadIdentity;
  logger?: Logger;
}

/** Parses `etcd://127.0.0.1:2379,10.0.0.2:2379` into etcd3's `hosts`. */
export function etcdHosts(endpoints: string, tls = false): string[] {
  return endpoints
    .replace(/^etcd:\/\//, "")
    .split(",")
    .map((h) => h.trim())
    .filter(Boolean)
    .map((h) => (h.startsWith("http") ? h : `${tls ? "https" : "http"}://${h}`));
}

/**
 * The registry on etcd, for several machines: each instance is a key `<prefix><service>/<instanceId>` attached to an
 * etcd lease that its server renews; a crashed server's lease expires and etcd deletes the key. Watchers get the full
 * list of a service's instances after every change (a prefix watch, then a read).
 * etcd3 (with its own gRPC stack) is loaded only here, so processes that do not use etcd do not pay its memory.
 */
export async function createEtcdRegistry(options: EtcdRegistryOptions): Promise<Registry> {
  const { Etcd3 } = await import("etcd3");
  const id = options.identity;
  const make = (): Etcd3 =>
    new Etcd3({
      hosts: etcdHosts(options.endpoints, id !== undefined),
      ...(id ? { credentials: { rootCertificate: Buffer.from(id.caPem), certChain: Buffer.from(id.certPem), privateKey: Buffer.from(id.keyPem) } } : {}),
    });
  if (id) await id.ready;
  let client = make();
  const prefix = options.prefix ?? "/switchyard/registry/";
  const log = options.logger ?? noopLogger;
  const leases = new Map<number, { lease: EtcdLease; key: string }>();
  const watchers = new Set<Watcher>();
  /** Re-opens every open watch on the current client (after a rotation). */
  const reopen = new Set<() => void>();
  let nextLease = 1;
  let closed = false;
  let onRotate: (() => void) | undefined;
  if (id) {
    // etcd3 takes its TLS material once, as buffers: a rotated certificate needs a new client. Leases of the old
    // one are forgotten (the next keepAlive says so and the server registers again, the same key on a new lease);
    // watches move over; the old client closes after in-flight calls had time to end.
    let current = id.certPem;
    onRotate = () => {
      if (closed || id.certPem === current) return;
      current = id.certPem;
      const old = client;
      client = make();
      leases.clear();
      for (const r of reopen) r();
      setTimeout(() => old.close(), 5000).unref();
      log.info({}, "etcd client remade with the rotated certificate");
    };
    id.addIdentityCertificateListener(onRotate);
  }

  async function list(service?: string): Promise<Instance[]> {
    const values = await client.getAll().prefix(service ? `${prefix}${service}/` : prefix).strings();
    return Object.values(values)
      .map((v) => JSON.parse(v) as Instance)
      .sort((a, b) => a.address.localeCompare(b.address));
  }

  return {
    async register(instance, ttlMs) {
      // etcd leases count in whole seconds.
      const ttlS = Math.max(1, Math.round(ttlMs / 1000));
      const lease = client.lease(ttlS, { autoKeepAlive: false });
      lease.on("lost", (err: unknown) => log.warn({ err: String(err), service: instance.service }, "etcd lease lost"));
      const key = `${prefix}${instance.service}/${instance.instanceId}`;
      await lease.put(key).value(JSON.stringify(instance));
      const id = nextLease++;
      leases.set(id, { lease, key });
      return { leaseId: id, ttlMs: ttlS * 1000 } satisfies Lease;
    },
    async keepAlive(leaseId) {
      const l = leases.get(leaseId);
      if (!l) return false;
      try {
        const res = await l.lease.keepaliveOnce();
        if (Number(res.TTL) > 0) return true;
      } catch (err) {
        log.debug({ err: String(err) }, "etcd keepalive failed");
      }
      leases.delete(leaseId);
      return false;
    },
    async deregister(leaseId) {
      const l = leases.get(leaseId);
      if (!l) return;
      leases.delete(leaseId);
      await l.lease.revoke().catch(() => undefined);
    },
    list,
    watch(service, onChange) {
      let stopped = false;
      let watcher: Watcher | undefined;
      const refresh = (resync: boolean) =>
        list(service).then(
          (instances) => {
            if (!stopped) onChange(instances, { resync });
          },
          (err: unknown) => log.warn({ err: String(err), service }, "etcd list failed"),
        );
      const open = () =>
        void client
          .watch()
          .prefix(`${prefix}${service}/`)
          .create()
          .then((w) => {
            if (stopped) return void w.cancel();
            watcher = w;
            watchers.add(w);
            w.on("put", () => void refresh(false));
            w.on("delete", () => void refresh(false));
            w.on("connected", () => void refresh(true));
            void refresh(true);
          })
          .catch((err: unknown) => log.warn({ err: String(err), service }, "etcd watch failed"));
      const reopenThis = () => {
        if (watcher) {
          watchers.delete(watcher);
          void watcher.cancel().catch(() => undefined);
          watcher = undefined;
        }
        open();
      };
      reopen.add(reopenThis);
      open();
      return () => {
        stopped = true;
        reopen.delete(reopenThis);
        if (watcher) {
          watchers.delete(watcher);
          void watcher.cancel();
        }
      };
    },
    async close() {
      closed = true;
      if (id && onRotate) id.removeIdentityCertificateListener(onRotate);
      for (const w of watchers) await w.cancel().catch(() => undefined);
      for (const { lease } of leases.values()) lease.release();
      client.close();
    },
  };
}
