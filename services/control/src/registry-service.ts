import type { Registry as RegistryService, ServiceInstance } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import type { CallContext, Instance, MemoryRegistry, ServiceImpl } from "@switchyard/mesh";

const toProto = (i: Instance) => ({ service: i.service, address: i.address, labels: i.labels, instanceId: i.instanceId });

/** The embedded registry served over gRPC: Register/KeepAlive/Deregister with leases, and Watch. */
export function registryService(registry: MemoryRegistry): ServiceImpl<typeof RegistryService> {
  return {
    async register(req) {
      const i: ServiceInstance | undefined = req.instance;
      if (!i || !i.service || !i.address) {
        throw new SwitchyardError(Code.InvalidArgument, "instance.service and instance.address are required", {
          details: [{ field: "instance", message: "service and address (host:port) are required" }],
        });
      }
      const ttlMs = Number(req.ttlMs) > 0 ? Number(req.ttlMs) : 6000;
      const lease = await registry.register({ service: i.service, address: i.address, labels: { ...i.labels }, instanceId: i.instanceId || i.address }, ttlMs);
      return { leaseId: BigInt(lease.leaseId), ttlMs: BigInt(lease.ttlMs) };
    },
    async keepAlive(req) {
      return { found: await registry.keepAlive(Number(req.leaseId)) };
    },
    async deregister(req) {
      await registry.deregister(Number(req.leaseId));
      return {};
    },
    async listInstances(req) {
      return { instances: (await registry.list(req.service)).map(toProto) };
    },
    async *watch(req, ctx: CallContext) {
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
