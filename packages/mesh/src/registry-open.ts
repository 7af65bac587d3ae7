import type { Logger } from "@switchyard/core";
import type { Registry } from "./registry.js";
import { createEtcdRegistry } from "./registry-etcd.js";
import { createRemoteRegistry } from "./registry-remote.js";
import type { MeshRuntime } from "./runtime.js";

/**
 * The registry a service uses, chosen by configuration: `etcd://host:port[,…]` for etcd, otherwise the address of the
 * `control` service (the embedded registry), as `unix:/path`, `host:port` or `control://host:port`. `runtime` carries
 * the service credential control's registry asks for.
 */
export async function openRegistry(spec: string, logger?: Logger, runtime?: MeshRuntime): Promise<Registry> {
  if (spec.startsWith("etcd://")) return createEtcdRegistry({ endpoints: spec, ...(logger ? { logger } : {}) });
  return createRemoteRegistry({ address: spec.replace(/^control:\/\//, ""), ...(logger ? { logger } : {}), ...(runtime ? { runtime } : {}) });
}
