import { Code, SwitchyardError, type FieldViolation } from "@switchyard/core";
import type { LoadBalancerConfig } from "./balancer.js";
import { durationMs, type TrafficPolicySpec } from "./istio-schema.js";
import type { PolicyResource } from "./policy-parse.js";
import { compileBreakerOptions, type CompiledBreakerOptions } from "./policy-breaker.js";
import { compileBulkheadOptions, type CompiledBulkheadOptions } from "./policy-bulkhead.js";
import { GRPC_STATUS_NAMES } from "./policy-fault.js";
import { compileOutlierOptions, type CompiledOutlierOptions } from "./policy-outlier.js";
import { compileTokenBucketOptions, type CompiledTokenBucketOptions, type RateLimitKey } from "./policy-rate-limit.js";
import { compileRetryBudgetOptions, type CompiledRetryBudgetOptions } from "./policy-retry.js";
import { compileThrottleOptions, type CompiledThrottleOptions } from "./policy-throttle.js";
import { authorizationFor, type AuthzPolicyRef, type CompiledAuthorization } from "./policy-authz.js";
import { compileRoutes, defaultRoute, selectRoute, shortHost, type CompiledRoute, type RouteAction, type RouteInput } from "./router.js";

/** Everything the client side applies to one destination (a host, or one subset of it). */
export interface DestinationPolicy {
  readonly host: string;
  readonly subset: string;
  /** The subset's instance labels; undefined = every instance of the host. */
  readonly labels: Readonly<Record<string, string>> | undefined;
  readonly lb: LoadBalancerConfig;
  /** Client bulkhead (connectionPool.http.http2MaxRequests / http1MaxPendingRequests); undefined = unbounded. */
  readonly bulkhead: CompiledBulkheadOptions | undefined;
  /** Retries outstanding at once to this destination (connectionPool.http.maxRetries). */
  readonly maxRetries: number;
  readonly breaker: CompiledBreakerOptions | undefined;
  readonly retryBudget: CompiledRetryBudgetOptions;
  readonly backoff: { readonly baseMs: number; readonly maxMs: number };
  readonly throttle: CompiledThrottleOptions | undefined;
}

export interface ServerRateLimitRule {
  /** Identity of the rule across reloads: the same key keeps its buckets (and their tokens). */
  readonly key: string;
  readonly per: RateLimitKey;
  readonly bucket: CompiledTokenBucketOptions;
}

/** What a server applies to one of its methods. */
export interface ServerMethodPolicy {
  readonly limits: readonly ServerRateLimitRule[];
  readonly bulkhead: { readonly key: string; readonly options: CompiledBulkheadOptions } | undefined;
}

/** A validated, compiled set of policies: immutable, swapped whole on every change. */
export interface CompiledPolicies {
  readonly revision: number;
  readonly resources: readonly PolicyResource[];
  /** The route for a call to `host`, or undefined when its VirtualService has routes and none matches. */
  route(host: string, input: RouteInput): RouteAction | undefined;
  destination(host: string, subset: string): DestinationPolicy;
  outlier(host: string): CompiledOutlierOptions | undefined;
  serverMethod(host: string, path: string): ServerMethodPolicy;
  /** The AuthorizationPolicies that apply to the server named `server`; undefined when none do (every call allowed). */
  authorization(server: string): CompiledAuthorization | undefined;
}

const DEFAULT_BUDGET = compileRetryBudgetOptions({});
const DEFAULT_BACKOFF = { baseMs: 25, maxMs: 250 };
const NO_SERVER_POLICY: ServerMethodPolicy = { limits: [], bulkhead: undefined };

function methodMatches(selector: string, path: string): number {
  if (selector === "*") return 1;
  if (selector.startsWith("/")) return selector === path ? 3 : 0;
  return path.endsWith(`/${selector}`) ? 2 : 0;
}

function lbOf(tp: Pick<TrafficPolicySpec, "loadBalancer"> | undefined): LoadBalancerConfig | undefined {
  const lb = tp?.loadBalancer;
  if (!lb) return undefined;
  if (lb.consistentHash) {
    const size = lb.consistentHash.ringHash?.minimumRingSize ?? lb.consistentHash.minimumRingSize;
    return { kind: "ring_hash", hashHeader: lb.consistentHash.httpHeaderName.toLowerCase(), ...(size ? { ringSize: Math.min(size, 65_536) } : {}) };
  }
  return { kind: lb.simple === "RANDOM" ? "random" : lb.simple === "ROUND_ROBIN" ? "round_robin" : "least_request" };
}

function poolOf(tp: Pick<TrafficPolicySpec, "connectionPool"> | undefined): { bulkhead: CompiledBulkheadOptions | undefined; maxRetries: number | undefined } | undefined {
  const http = tp?.connectionPool?.http;
  if (!http) return undefined;
  const bulkhead = http.http2MaxRequests !== undefined ? compileBulkheadOptions({ maxConcurrent: http.http2MaxRequests, maxQueue: http.http1MaxPendingRequests ?? 0 }) : undefined;
  return { bulkhead, maxRetries: http.maxRetries };
}

/**
 * Compiles a set of resources (all documents of the config center, or one text) into the form the mesh reads on every
 * call, checking what spans documents: one DestinationRule and one VirtualService per host, routes only to subsets
 * that exist, weights that add up. Throws a SwitchyardError (INVALID_ARGUMENT) listing every problem.
 */
export function compileMeshPolicies(resources: readonly PolicyResource[], revision = 0): CompiledPolicies {
  const violations: FieldViolation[] = [];
  const bad = (r: PolicyResource, field: string, v: Omit<FieldViolation, "field">) =>
    violations.push({ ...v, field: `${r.kind}/${r.metadata.name}: ${field}`, file: r.origin.source, line: r.origin.line });
  const guard = (r: PolicyResource, field: string, f: () => void) => {
    try {
      f();
    } catch (err) {
      bad(r, field, { message: err instanceof Error ? err.message : String(err) });
    }
  };
  const owners = new Map<string, PolicyResource>();
  const claim = (r: PolicyResource, key: string, what: string) => {
    const prev = owners.get(key);
    if (prev) bad(r, "spec.host", { message: `${what} is already defined by ${prev.kind}/${prev.metadata.name} (${prev.origin.source}:${prev.origin.line}); merge them` });
    else owners.set(key, r);
  };

  const subsets = new Map<string, Map<string, { labels: Record<string, string>; tp: Pick<TrafficPolicySpec, "loadBalancer" | "connectionPool"> | undefined }>>();
  const hostTraffic = new Map<string, TrafficPolicySpec | undefined>();
  const outliers = new Map<string, CompiledOutlierOptions>();
  for (const r of resources) {
    if (r.kind !== "DestinationRule") continue;
    const host = shortHost(r.spec.host);
    claim(r, `dr:${host}`, `a DestinationRule for host "${host}"`);
    hostTraffic.set(host, r.spec.trafficPolicy);
    const od = r.spec.trafficPolicy?.outlierDetection;
    if (od) {
      guard(r, "spec.trafficPolicy.outlierDetection", () =>
        outliers.set(host, compileOutlierOptions({
          consecutive5xxErrors: od.consecutive5xxErrors,
          consecutiveGatewayErrors: od.consecutiveGatewayErrors,
          intervalMs: od.interval !== undefined ? durationMs(od.interval) : undefined,
          baseEjectionMs: od.baseEjectionTime !== undefined ? durationMs(od.baseEjectionTime) : undefined,
          maxEjectionPercent: od.maxEjectionPercent,
          minHealthPercent: od.minHealthPercent,
        })),
      );
    }
    const m = new Map<string, { labels: Record<string, string>; tp: Pick<TrafficPolicySpec, "loadBalancer" | "connectionPool"> | undefined }>();
    (r.spec.subsets ?? []).forEach((s, i) => {
      if (m.has(s.name)) bad(r, `spec.subsets[${i}].name`, { message: `subset "${s.name}" is defined twice` });
      m.set(s.name, { labels: s.labels ?? {}, tp: s.trafficPolicy });
    });
    subsets.set(host, m);
  }

  const routes = new Map<string, CompiledRoute[]>();
  for (const r of resources) {
    if (r.kind !== "VirtualService") continue;
    const local: FieldViolation[] = [];
    const compiled = compileRoutes(r.spec, (h, s) => subsets.get(h)?.has(s) === true, local);
    for (const v of local) bad(r, v.field, v);
    for (const h of r.spec.hosts) {
      const host = shortHost(h);
      if (host.includes("*")) bad(r, "spec.hosts", { message: `wildcard host "${h}" is not supported; name each service` });
      claim(r, `vs:${host}`, `a VirtualService for host "${host}"`);
      routes.set(host, compiled);
    }
  }

  const breakers = new Map<string, { breaker: CompiledBreakerOptions | undefined; budget: CompiledRetryBudgetOptions; backoff: { baseMs: number; maxMs: number }; throttle: CompiledThrottleOptions | undefined }>();
  const rateRules = new Map<string, { selectors: readonly string[]; rule: ServerRateLimitRule }[]>();
  const bulkheads = new Map<string, { selector: string; key: string; options: CompiledBulkheadOptions }[]>();
  for (const r of resources) {
    if (r.kind === "ResiliencePolicy") {
      const host = shortHost(r.spec.host);
      const subset = r.spec.subset ?? "";
      claim(r, `rp:${host}/${subset}`, `a ResiliencePolicy for host "${host}"${subset ? ` subset "${subset}"` : ""}`);
      if (subset && subsets.get(host)?.has(subset) !== true) bad(r, "spec.subset", { message: `no DestinationRule for host "${host}" defines subset "${subset}"` });
      const s = r.spec;
      guard(r, "spec", () => {
        const cb = s.circuitBreaker;
        breakers.set(`${host}\u0000${subset}`, {
          breaker: cb
            ? compileBreakerOptions({
                consecutiveFailures: cb.consecutiveFailures, failureRatio: cb.failureRatio, minimumCalls: cb.minimumCalls,
                windowMs: cb.window !== undefined ? durationMs(cb.window) : undefined, openMs: cb.openTime !== undefined ? durationMs(cb.openTime) : undefined,
                halfOpenCalls: cb.halfOpenCalls, failureCodes: cb.failureCodes?.map((n) => GRPC_STATUS_NAMES[n]!),
              })
            : undefined,
          budget: s.retryBudget ? compileRetryBudgetOptions({ percent: s.retryBudget.percent, minRetriesPerSecond: s.retryBudget.minRetriesPerSecond, windowMs: s.retryBudget.window !== undefined ? durationMs(s.retryBudget.window) : undefined }) : DEFAULT_BUDGET,
          backoff: {
            baseMs: s.retryBackoff?.baseInterval !== undefined ? durationMs(s.retryBackoff.baseInterval) : DEFAULT_BACKOFF.baseMs,
            maxMs: s.retryBackoff?.maxInterval !== undefined ? durationMs(s.retryBackoff.maxInterval) : DEFAULT_BACKOFF.maxMs,
          },
          throttle: s.adaptiveThrottling
            ? compileThrottleOptions({ requestsPerAccept: s.adaptiveThrottling.requestsPerAccept, windowMs: s.adaptiveThrottling.window !== undefined ? durationMs(s.adaptiveThrottling.window) : undefined })
            : undefined,
        });
      });
    } else if (r.kind === "RateLimitPolicy") {
      const host = shortHost(r.spec.host);
      const list = rateRules.get(host) ?? [];
      r.spec.limits.forEach((l, i) =>
        guard(r, `spec.limits[${i}]`, () => {
          const selectors = l.methods ?? ["*"];
          const per = l.per ?? "caller";
          const bucket = compileTokenBucketOptions({ maxTokens: l.tokenBucket.maxTokens, tokensPerFill: l.tokenBucket.tokensPerFill, fillIntervalMs: durationMs(l.tokenBucket.fillInterval) });
          list.push({ selectors, rule: { key: `${host}|${per}|${[...selectors].sort().join(",")}|${r.metadata.name}#${i}`, per, bucket } });
        }),
      );
      rateRules.set(host, list);
    } else if (r.kind === "BulkheadPolicy") {
      const host = shortHost(r.spec.host);
      const list = bulkheads.get(host) ?? [];
      r.spec.methods.forEach((m, i) =>
        guard(r, `spec.methods[${i}]`, () => {
          if (list.some((b) => b.selector === m.method)) throw new Error(`a bulkhead for method "${m.method}" of host "${host}" is already defined`);
          const options = compileBulkheadOptions({ maxConcurrent: m.maxConcurrent, maxQueue: m.maxQueue, maxQueueWaitMs: m.maxQueueWait !== undefined ? durationMs(m.maxQueueWait) : undefined });
          list.push({ selector: m.method, key: `${host}|${m.method}`, options });
        }),
      );
      bulkheads.set(host, list);
    }
  }
  if (violations.length > 0) {
    throw new SwitchyardError(Code.InvalidArgument, `invalid mesh policy set: ${violations[0]!.field}: ${violations[0]!.message}${violations.length > 1 ? ` (and ${violations.length - 1} more)` : ""}`, { details: violations });
  }

  const authz: AuthzPolicyRef[] = [];
  for (const r of resources) {
    if (r.kind !== "AuthorizationPolicy") continue;
    authz.push({ name: `${r.metadata.namespace ?? "default"}/${r.metadata.name}`, action: r.spec.action ?? "ALLOW", selector: r.spec.selector?.matchLabels, rules: r.spec.rules ?? [] });
  }
  const authzCache = new Map<string, CompiledAuthorization | undefined>();

  const destCache = new Map<string, DestinationPolicy>();
  const defaultRoutes = new Map<string, RouteAction>();
  const serverCache = new Map<string, ServerMethodPolicy>();
  return {
    revision,
    resources,
    route(host, input) {
      const rs = routes.get(host);
      if (rs === undefined) {
        let d = defaultRoutes.get(host);
        if (d === undefined) defaultRoutes.set(host, (d = defaultRoute(host)));
        return d;
      }
      return selectRoute(rs, input);
    },
    destination(host, subset) {
      const key = `${host}\u0000${subset}`;
      let d = destCache.get(key);
      if (d !== undefined) return d;
      const top = hostTraffic.get(host);
      const sub = subset ? subsets.get(host)?.get(subset) : undefined;
      const res = breakers.get(key) ?? breakers.get(`${host}\u0000`);
      const pool = poolOf(sub?.tp) ?? poolOf(top);
      d = {
        host,
        subset,
        labels: sub?.labels,
        lb: lbOf(sub?.tp) ?? lbOf(top) ?? { kind: "round_robin" },
        bulkhead: pool?.bulkhead,
        maxRetries: pool?.maxRetries ?? Number.POSITIVE_INFINITY,
        breaker: res?.breaker,
        retryBudget: res?.budget ?? DEFAULT_BUDGET,
        backoff: res?.backoff ?? DEFAULT_BACKOFF,
        throttle: res?.throttle,
      };
      destCache.set(key, d);
      return d;
    },
    outlier: (host) => outliers.get(host),
    authorization(server) {
      if (authz.length === 0) return undefined;
      if (!authzCache.has(server)) authzCache.set(server, authorizationFor(authz, server));
      return authzCache.get(server);
    },
    serverMethod(host, path) {
      const key = `${host}\u0000${path}`;
      let p = serverCache.get(key);
      if (p !== undefined) return p;
      const limits = (rateRules.get(host) ?? []).filter((l) => l.selectors.some((s) => methodMatches(s, path) > 0)).map((l) => l.rule);
      let best: { key: string; options: CompiledBulkheadOptions } | undefined;
      let bestScore = 0;
      for (const b of bulkheads.get(host) ?? []) {
        const score = methodMatches(b.selector, path);
        if (score > bestScore) [best, bestScore] = [{ key: b.key, options: b.options }, score];
      }
      p = limits.length === 0 && best === undefined ? NO_SERVER_POLICY : { limits, bulkhead: best };
      serverCache.set(key, p);
      return p;
    },
  };
}

/** The policies in force when none are configured: round robin, Istio's default retries, nothing else. */
export const EMPTY_POLICIES: CompiledPolicies = compileMeshPolicies([], 0);
