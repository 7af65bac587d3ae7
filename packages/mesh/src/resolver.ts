import * as grpc from "@grpc/grpc-js";
import { parseHostPort, type Registry } from "./registry.js";

type GrpcUri = grpc.experimental.GrpcUri;
type ResolverListener = grpc.experimental.ResolverListener;

/** Channel option that names which registry a `mesh:///service` channel resolves through. */
export const REGISTRY_OPTION = "switchyard.mesh_registry";

const registries = new Map<string, Registry>();
let nextRegistryKey = 1;

/** Makes a registry available to `mesh:///` channels; returns the key to pass as the REGISTRY_OPTION channel option. */
export function bindRegistry(registry: Registry): string {
  for (const [k, r] of registries) if (r === registry) return k;
  const key = `r${nextRegistryKey++}`;
  registries.set(key, registry);
  return key;
}

/**
 * grpc-js resolver for `mesh:///service`: follows the registry by watch (no polling, no DNS), so instances that start
 * or vanish enter or leave the channel's endpoint list as soon as the registry knows.
 */
class MeshResolver implements grpc.experimental.Resolver {
  private stopWatch: (() => void) | undefined;
  private readonly service: string;

  constructor(
    target: GrpcUri,
    private readonly listener: ResolverListener,
    private readonly options: grpc.ChannelOptions,
  ) {
    this.service = target.path.replace(/^\/+/, "");
  }

  updateResolution(): void {
    if (this.stopWatch) return;
    const key = this.options[REGISTRY_OPTION] as string | undefined;
    const registry = key ? registries.get(key) : undefined;
    if (!registry) {
      const error = { code: grpc.status.UNAVAILABLE, details: `no registry bound for mesh:///${this.service}`, metadata: new grpc.Metadata() };
      queueMicrotask(() => this.listener(grpc.experimental.statusOrFromError(error), {}, null, ""));
      return;
    }
    this.stopWatch = registry.watch(this.service, (instances) => {
      const endpoints = instances.map((i) => ({ addresses: [parseHostPort(i.address)] }));
      if (endpoints.length === 0) {
        const error = { code: grpc.status.UNAVAILABLE, details: `no healthy instance of service "${this.service}" is registered`, metadata: new grpc.Metadata() };
        this.listener(grpc.experimental.statusOrFromError(error), {}, null, `no instances of ${this.service}`);
      } else {
        this.listener(grpc.experimental.statusOrFromValue(endpoints), {}, null, "");
      }
    });
  }

  destroy(): void {
    this.stopWatch?.();
    this.stopWatch = undefined;
  }

  static getDefaultAuthority(target: GrpcUri): string {
    return target.path.replace(/^\/+/, "");
  }
}

let registered = false;
export function registerMeshResolver(): void {
  if (registered) return;
  grpc.experimental.registerResolver("mesh", MeshResolver);
  registered = true;
}
