import type { CompiledPolicies, DestinationPolicy } from "./policy-compile.js";
import type { PolicyStore } from "./policy-source.js";
import type { RouteAction } from "./router.js";

/**
 * The policies of a runtime in `istio` mode (runtime.ts): where an Istio sidecar sits beside the process, it retries,
 * injects faults, ejects endpoints and limits connections itself, and doing it twice would multiply attempts and
 * eject endpoints the sidecar still uses. So the in-process layer stands down on those — one attempt per call, no
 * faults, no breaker, no outlier detection, no client bulkhead — and keeps what Istio has no form for on the server
 * (rate limits, bulkheads, AuthorizationPolicy on the verified caller), deadlines, metrics and traces.
 */
export function standDownPolicies(p: CompiledPolicies): CompiledPolicies {
  const routes = new WeakMap<RouteAction, RouteAction>();
  const destinations = new Map<string, DestinationPolicy>();
  return {
    revision: p.revision,
    resources: p.resources,
    serverMethod: (host, path) => p.serverMethod(host, path),
    authorization: (server) => p.authorization(server),
    outlier: () => undefined,
    route(host, input) {
      const a = p.route(host, input);
      if (a === undefined) return undefined;
      let s = routes.get(a);
      if (s === undefined) routes.set(a, (s = { ...a, retry: { ...a.retry, attempts: 0 }, fault: undefined }));
      return s;
    },
    destination(host, subset) {
      const key = `${host}\u0000${subset}`;
      let d = destinations.get(key);
      if (d === undefined) destinations.set(key, (d = { ...p.destination(host, subset), breaker: undefined, bulkhead: undefined, throttle: undefined }));
      return d;
    },
  };
}

/** A policy store whose policies stand down (standDownPolicies), following the inner store's revisions. */
export function standDownStore(inner: PolicyStore): PolicyStore {
  let source = inner.current;
  let current = standDownPolicies(source);
  const get = () => {
    if (inner.current !== source) current = standDownPolicies((source = inner.current));
    return current;
  };
  return {
    get current() {
      return get();
    },
    get lastError() {
      return inner.lastError;
    },
    ready: () => inner.ready(),
    onChange: (listener) => inner.onChange(() => listener(get())),
    close: () => inner.close(),
  };
}

/**
 * The caller's SPIFFE id from the `x-forwarded-client-cert` header an Istio sidecar sets (Envoy's XFCC: elements
 * separated by commas, the last one from the nearest proxy, `URI=` its peer's id). Believed in `istio` mode only,
 * where the process listens where only its own sidecar can reach it.
 */
export function spiffeIdOfXfcc(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const last = header.split(",").pop()!;
  for (const part of last.split(";")) {
    const [k, ...v] = part.split("=");
    if (k?.trim() === "URI") {
      const uri = v.join("=").trim().replace(/^"|"$/g, "");
      return uri.startsWith("spiffe://") ? uri : undefined;
    }
  }
  return undefined;
}
