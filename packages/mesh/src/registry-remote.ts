import { Registry as RegistryService } from "@switchyard/api";
import { noopLogger, sleep, type Logger } from "@switchyard/core";
import { createClient } from "./client.js";
import { serviceId } from "./spiffe.js";
import type { Instance, Lease, Registry } from "./registry.js";
import type { MeshRuntime } from "./runtime.js";

export interface RemoteRegistryOptions {
  /** host:port of the `control` service. */
  address: string;
  /** The runtime of the registry's client: it carries the service credential control asks for (no policies: the registry stays reachable whatever they say). */
  runtime?: MeshRuntime;
  logger?: Logger;
}

/** The registry client every service uses: the embedded registry in `control`, over gRPC, watch reconnecting. */
export function createRemoteRegistry(options: RemoteRegistryOptions): Registry {
  // With credentials, the server must prove it is control (not merely some platform service at that address).
  const creds = options.runtime?.credentials;
  const peer = creds ? { peer: serviceId(creds.trustDomain, "control") } : {};
  const client = createClient(RegistryService, { target: options.address, defaultTimeoutMs: 5000, ...peer, ...(options.runtime ? { runtime: options.runtime } : {}) });
  const log = options.logger ?? noopLogger;
  const stops = new Set<() => void>();
  const toInstance = (i: { service: string; address: string; labels: Record<string, string>; instanceId: string }): Instance => ({
    service: i.service,
    address: i.address,
    labels: { ...i.labels },
    instanceId: i.instanceId,
  });

  return {
    async register(instance, ttlMs): Promise<Lease> {
      const r = await client.register({ instance, ttlMs: BigInt(ttlMs) });
      return { leaseId: Number(r.leaseId), ttlMs: Number(r.ttlMs) };
    },
    async keepAlive(leaseId) {
      return (await client.keepAlive({ leaseId: BigInt(leaseId) })).found;
    },
    async deregister(leaseId) {
      await client.deregister({ leaseId: BigInt(leaseId) });
    },
    async list(service) {
      return (await client.listInstances({ service: service ?? "" })).instances.map(toInstance);
    },
    watch(service, onChange) {
      const abort = new AbortController();
      void (async () => {
        let backoffMs = 100;
        while (!abort.signal.aborted) {
          try {
            // The first list of each (re)connection is a resync: a restarted control may not know everyone yet.
            let resync = true;
            for await (const res of client.watch({ service }, { signal: abort.signal })) {
              backoffMs = 100;
              onChange(res.instances.map(toInstance), { resync });
              resync = false;
            }
          } catch (err) {
            if (abort.signal.aborted) return;
            log.debug({ err: String(err), service }, "registry watch broke; reconnecting");
          }
          await sleep(backoffMs, abort.signal).catch(() => undefined);
          backoffMs = Math.min(backoffMs * 2, 2000);
        }
      })();
      const stop = () => abort.abort();
      stops.add(stop);
      return () => {
        stops.delete(stop);
        stop();
      };
    },
    async close() {
      for (const s of stops) s();
      client.close();
    },
  };
}
