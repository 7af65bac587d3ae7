/**
 * The applied mesh policies as Istio resources, for a cluster whose sidecars take over (`switchyard mesh export
 * --istio`): DestinationRules, VirtualServices and AuthorizationPolicies are already Istio's own kinds and go out as
 * they are (in the target namespace, principals moved to the cluster's trust domain); a PeerAuthentication makes mTLS
 * STRICT as ours is. What the mesh enforces that Istio has no form for is listed, resource by resource, instead of
 * being dropped in silence. Pure: the CLI validates the result against Istio's published schemas.
 */
import type { PolicyResource } from "./policy-parse.js";

export interface IstioExportOptions {
  /** The namespace the resources are written for (default `switchyard`). */
  namespace?: string;
  /** The cluster's trust domain (default `cluster.local`); principals of ours are rewritten to it. */
  trustDomain?: string;
  /** Ours (default `switchyard.local`). */
  fromTrustDomain?: string;
}

export interface IstioResource {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace: string };
  readonly spec: Record<string, unknown>;
}

/** Something the mesh enforces that the exported Istio resources do not carry. */
export interface UnmappedPolicy {
  /** `Kind/name` of the resource (or `(client code)`). */
  readonly resource: string;
  readonly what: string;
  readonly why: string;
}

export interface IstioExport {
  readonly resources: readonly IstioResource[];
  readonly unmapped: readonly UnmappedPolicy[];
}

/** Fallbacks are client code (createClient's `fallbacks`), never policy documents: always listed. */
const FALLBACKS: UnmappedPolicy = {
  resource: "(client code)",
  what: "fallbacks (degraded answers when a destination fails)",
  why: "Istio has no fallback responses; clients keep theirs, but they run only where the in-process mesh does",
};

export function exportToIstio(resources: readonly PolicyResource[], o: IstioExportOptions = {}): IstioExport {
  const namespace = o.namespace ?? "switchyard";
  const to = o.trustDomain ?? "cluster.local";
  const from = o.fromTrustDomain ?? "switchyard.local";
  const out: IstioResource[] = [];
  const unmapped: UnmappedPolicy[] = [FALLBACKS];
  const meta = (name: string) => ({ name, namespace });
  const moveTd = (s: string) => (s === from || s.startsWith(`${from}/`) ? `${to}${s.slice(from.length)}` : s);
  for (const r of resources) {
    const id = `${r.kind}/${r.metadata.name}`;
    switch (r.kind) {
      case "DestinationRule":
      case "VirtualService":
        out.push({ apiVersion: "networking.istio.io/v1", kind: r.kind, metadata: meta(r.metadata.name), spec: structuredClone(r.spec) as Record<string, unknown> });
        break;
      case "AuthorizationPolicy": {
        const spec = structuredClone(r.spec);
        for (const rule of spec.rules ?? []) {
          for (const f of rule.from ?? []) for (const k of ["principals", "notPrincipals", "requestPrincipals", "notRequestPrincipals"] as const) if (f.source[k]) f.source[k] = f.source[k]!.map(moveTd);
          for (const c of rule.when ?? []) for (const k of ["values", "notValues"] as const) if (c[k] && /principal|claims\[iss\]/.test(c.key)) c[k] = c[k]!.map((v) => moveTd(v.replace(/^spiffe:\/\//, "")));
        }
        out.push({ apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: meta(r.metadata.name), spec: spec as Record<string, unknown> });
        if ((spec.rules ?? []).some((rule) => (rule.when ?? []).some((c) => c.key.startsWith("request.auth")) || (rule.from ?? []).some((f) => f.source.requestPrincipals || f.source.notRequestPrincipals))) {
          unmapped.push({ resource: id, what: "conditions on the end user (request.auth…)", why: "Istio reads them from a JWT its RequestAuthentication verified at each sidecar; the platform's user tokens are verified by the services themselves — export the gateway's RequestAuthentication (SWITCHYARD_REQUEST_AUTHN_FILE) with them" });
        }
        break;
      }
      case "RateLimitPolicy":
        unmapped.push({ resource: id, what: `rate limits on ${r.spec.host} (per ${[...new Set(r.spec.limits.map((l) => l.per ?? "caller"))].join(", ")})`, why: "Istio has no rate-limit resource (it takes an EnvoyFilter with Envoy's local or global rate limit); per-caller and per-team buckets need the platform's verified identity" });
        break;
      case "BulkheadPolicy":
        unmapped.push({ resource: id, what: `per-method server bulkheads on ${r.spec.host} (${r.spec.methods.map((m) => m.method).join(", ")})`, why: "Istio's connectionPool limits a client's requests to a host, not a server's concurrency per method" });
        break;
      case "ResiliencePolicy": {
        const s = r.spec;
        if (s.circuitBreaker) unmapped.push({ resource: id, what: `circuit breaker on ${s.host} (open after ${s.circuitBreaker.consecutiveFailures ?? "n"} failures)`, why: "Istio's nearest form is a DestinationRule's outlierDetection, which ejects one endpoint, not the destination" });
        if (s.retryBudget) unmapped.push({ resource: id, what: `retry budget on ${s.host}`, why: "Istio retries have attempts and perTryTimeout, no budget (Envoy's retry_budget is not in Istio's API)" });
        if (s.retryBackoff) unmapped.push({ resource: id, what: `retry backoff on ${s.host}`, why: "Istio has no backoff setting (Envoy's default 25 ms base applies)" });
        if (s.adaptiveThrottling) unmapped.push({ resource: id, what: `adaptive throttling on ${s.host}`, why: "Istio has no client-side throttling" });
        break;
      }
    }
  }
  out.push({ apiVersion: "security.istio.io/v1", kind: "PeerAuthentication", metadata: meta("default"), spec: { mtls: { mode: "STRICT" } } });
  return { resources: out, unmapped };
}
