import { ConfigCenter } from "@switchyard/api";
import { noopLogger, sleep, type Logger } from "@switchyard/core";
import { createClient } from "./client.js";
import type { PolicySnapshot, PolicySource } from "./policy-source.js";
import type { Registry } from "./registry.js";
import type { MeshRuntime } from "./runtime.js";

export interface ConfigCenterPolicySourceOptions {
  /** Where `control` is found (`mesh:///control`). */
  registry: Registry;
  /** The config center namespace holding the mesh's documents (default "mesh"). */
  namespace?: string;
  /** The runtime of the config center's client (its service credential; no policies, or it would depend on itself). */
  runtime?: MeshRuntime;
  logger?: Logger;
  /** Told when the watch delivers (true) and when it breaks (false), for a consumer that must not act on stale state. */
  onConnection?: (connected: boolean) => void;
}

/**
 * The mesh's policies from the config center in `control`: a watch that delivers the whole namespace after every
 * change (one revision per apply, so related documents switch together), reconnecting with backoff when control
 * restarts. Each document is named `<kind>/<name>` and carries its own version, so unchanged ones are not re-parsed.
 */
export function createConfigCenterPolicySource(options: ConfigCenterPolicySourceOptions): PolicySource & { close(): void } {
  const client = createClient(ConfigCenter, { target: "mesh:///control", registry: options.registry, defaultTimeoutMs: 10_000, ...(options.runtime ? { runtime: options.runtime } : {}) });
  const log = options.logger ?? noopLogger;
  const namespace = options.namespace ?? "mesh";
  const stops = new Set<AbortController>();
  return {
    watch(onChange: (snapshot: PolicySnapshot) => void) {
      const abort = new AbortController();
      stops.add(abort);
      void (async () => {
        let backoffMs = 100;
        while (!abort.signal.aborted) {
          try {
            for await (const res of client.watchDocuments({ namespace }, { signal: abort.signal })) {
              backoffMs = 100;
              options.onConnection?.(true);
              onChange({
                revision: Number(res.revision),
                documents: res.documents.map((d) => ({ name: `${d.kind}/${d.name}`, revision: Number(d.version), yaml: d.content })),
              });
            }
          } catch (err) {
            if (abort.signal.aborted) return;
            log.debug({ err: String(err) }, "config center watch broke; reconnecting");
          }
          options.onConnection?.(false);
          await sleep(backoffMs, abort.signal).catch(() => undefined);
          backoffMs = Math.min(backoffMs * 2, 2000);
        }
      })();
      return () => {
        stops.delete(abort);
        abort.abort();
      };
    },
    close() {
      for (const a of stops) a.abort();
      client.close();
    },
  };
}
