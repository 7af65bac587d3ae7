import type { Registry as RegistryService, ServiceInstance } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { verifiedCaller, type CallContext, type Instance, type MemoryRegistry, type ServiceImpl } from "@switchyard/mesh";

const toProto = (i: Instance) => ({ service: i.service, address: i.address, labels: i.labels, instanceId: i.instanceId });

/**
 * The registry is for platform services only (users never reach it: the gateway does not forward it), so every caller
 * is a service, the gateway included. The calling platform service may register only under its own name and renew or drop only its own leases:
 * a platform workload still cannot pose as another service in the registry, and a call without a certificate of the
 * platform CA never gets here (the mesh refuses it). Users (through the gateway) only read.
 */
function callingService(ctx: CallContext): string {
  const c = verifiedCaller(ctx, { delegates: [] });
  return c.kind === "service" ? c.service : c.via;
}

/**
 * Services registered by another platform service on their instances' behalf: model-server replicas (`inference`) are
 * jobs of a team's account; the serving service certifies each as its team's workload, registers its mutual-TLS
 * socket (with the identity the gateway must find there) once it answers, and removes it before the replica stops.
 */
const REGISTERED_BY: Readonly<Record<string, readonly string[]>> = { serving: ["inference"] };

/** The embedded registry served over gRPC: Register/KeepAlive/Deregister with leases, and Watch. */
export function registryService(registry: MemoryRegistry): ServiceImpl<typeof RegistryService> {
  const owners = new Map<number, string>();
  function requireOwner(leaseId: number, service: string): void {
    const owner = owners.get(leaseId);
    if (owner !== undefined && owner !== service) throw new SwitchyardError(Code.PermissionDenied, `lease ${leaseId} belongs to ${owner}, not to ${service}`);
  }
  return {
    async register(req, ctx) {
      const service = callingService(ctx);
      const i: ServiceInstance | undefined = req.instance;
      if (!i || !i.service || !i.address) {
        throw new SwitchyardError(Code.InvalidArgument, "instance.service and instance.address are required", {
          details: [{ field: "instance", message: "service and address (host:port or unix:path) are required" }],
        });
      }
      if (i.service !== service && !REGISTERED_BY[service]?.includes(i.service)) {
        throw new SwitchyardError(Code.PermissionDenied, `${service} cannot register an instance of "${i.service}": a service registers under its own name only`, {
          details: [{ field: "instance.service", message: "must be the calling service", expected: [service, ...(REGISTERED_BY[service] ?? [])].join(" or "), got: i.service }],
        });
      }
      const ttlMs = Number(req.ttlMs) > 0 ? Number(req.ttlMs) : 6000;
      const lease = await registry.register({ service: i.service, address: i.address, labels: { ...i.labels }, instanceId: i.instanceId || i.address }, ttlMs);
      owners.set(lease.leaseId, service);
      return { leaseId: BigInt(lease.leaseId), ttlMs: BigInt(lease.ttlMs) };
    },
    async keepAlive(req, ctx) {
      const service = callingService(ctx);
      requireOwner(Number(req.leaseId), service);
      const found = await registry.keepAlive(Number(req.leaseId));
      if (!found) owners.delete(Number(req.leaseId));
      return { found };
    },
    async deregister(req, ctx) {
      const service = callingService(ctx);
      requireOwner(Number(req.leaseId), service);
      await registry.deregister(Number(req.leaseId));
      owners.delete(Number(req.leaseId));
      return {};
    },
    async listInstances(req, ctx) {
      verifiedCaller(ctx, { delegates: [] });
      return { instances: (await registry.list(req.service)).map(toProto) };
    },
    async *watch(req, ctx: CallContext) {
      verifiedCaller(ctx, { delegates: [] });
      const queue: Instance[][] = [];
      let wake: (() => void) | undefined;
      const stop = registry.watch(req.service, (list) => {
        queue.push(list);
        wake?.();
      });
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        while (!ctx.signal.aborted) {
          const next = queue.shift();
          if (next) {
            yield { instances: next.map(toProto), revision: BigInt(registry.revision) };
            continue;
          }
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        stop();
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
