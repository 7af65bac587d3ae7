import type { Logger } from "@switchyard/core";
import type { Registry } from "./registry.js";
import { createRemoteRegistry } from "./registry-remote.js";
import type { MeshRuntime } from "./runtime.js";
import { WorkloadIdentity } from "./credentials.js";

export interface RegistryBackendOptions {
  logger?: Logger;
  /** The runtime of the backend's own client: it carries the service credential (control's registry asks for it). */
  runtime?: MeshRuntime;
}

/** Opens a registry from the spec a service is configured with (`etcd://…`, `unix:/…`, `host:port`), as written. */
export type RegistryBackend = (spec: string, options: RegistryBackendOptions) => Registry | Promise<Registry>;

/**
 * Registry back ends by the scheme of their spec, as grpc-js keeps its resolvers (`registerResolver`): `control:`
 * and `unix:` (the embedded registry in `control`, over gRPC) and `etcd:` are registered here; a spec whose scheme is
 * not registered — `host:port` has none — goes to the default, `control`, as grpc-js sends such targets to `dns:`.
 * One registry per process; a later registration of a scheme replaces the earlier one.
 */
const backends = new Map<string, RegistryBackend>();
const DEFAULT_SCHEME = "control";

export function registerRegistryBackend(scheme: string, open: RegistryBackend): void {
  backends.set(scheme.toLowerCase(), open);
}

/** The schemes registry back ends are registered under. */
export function registeredRegistryBackends(): string[] {
  return [...backends.keys()];
}

/**
 * The registry a service uses, chosen by configuration: `etcd://host:port[,…]` for etcd, otherwise the address of the
 * `control` service (the embedded registry), as `unix:/path`, `host:port` or `control://host:port`. `runtime` carries
 * the service credential control's registry asks for.
 */
export async function openRegistry(spec: string, logger?: Logger, runtime?: MeshRuntime): Promise<Registry> {
  const scheme = /^([a-z][a-z0-9+.-]*):/i.exec(spec)?.[1]?.toLowerCase();
  const open = (scheme !== undefined ? backends.get(scheme) : undefined) ?? backends.get(DEFAULT_SCHEME)!;
  return open(spec, { ...(logger ? { logger } : {}), ...(runtime ? { runtime } : {}) });
}

/** The embedded registry in `control`: the spec is control's address (`control://` dropped, `unix:` kept). */
const embedded: RegistryBackend = (spec, o) => createRemoteRegistry({ address: spec.replace(/^control:\/\//, ""), ...o });
registerRegistryBackend("control", embedded);
registerRegistryBackend("unix", embedded);
// etcd3 brings its own gRPC stack (~20 MB): registry-etcd.js, and etcd3 with it, load only when a spec names etcd.
// With credentials (a platform service), etcd is reached over TLS with the workload's certificate (client-certificate
// authentication from the platform CA); a plain library use without credentials speaks plaintext.
registerRegistryBackend("etcd", async (spec, o) => {
  const identity = o.runtime?.credentials instanceof WorkloadIdentity && o.runtime.mode !== "istio" ? o.runtime.credentials : undefined;
  return (await import("./registry-etcd.js")).createEtcdRegistry({ endpoints: spec, ...(identity ? { identity } : {}), ...(o.logger ? { logger: o.logger } : {}) });
});
