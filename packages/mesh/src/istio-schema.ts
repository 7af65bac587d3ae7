import { createRequire } from "node:module";
import type * as zod from "zod";

/**
 * The part of Istio's `networking.istio.io/v1` API the mesh enforces, as strict schemas: a field left out here is
 * refused with an error that names it (policy-parse.ts), never accepted and silently ignored. Field names, nesting and
 * defaults are Istio's, so the same YAML applies to a real Istio.
 */

/** Go/Istio durations: `30s`, `1.5s`, `100ms`, `1m30s`, `2h`. */
export const DURATION_PATTERN = /^(\d+(\.\d+)?(h|m|s|ms|us|µs|ns))+$/;
const UNIT_MS: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001, µs: 0.001, ns: 0.000001 };

export function durationMs(text: string): number {
  let total = 0;
  for (const m of text.matchAll(/(\d+(?:\.\d+)?)(h|ms|m|s|us|µs|ns)/g)) total += Number(m[1]) * UNIT_MS[m[2]!]!;
  return total;
}

/**
 * Builds the schemas. zod is loaded on first use (a service that never parses policies does not pay its memory), so
 * the schemas are made by this function, once, rather than at module load.
 */
function build(z: typeof zod) {
  const Duration = z.string().regex(DURATION_PATTERN, { message: "expected a duration such as 250ms, 10s or 1m" });
  const Percent = z.number().min(0).max(100);
  const UInt = z.number().int().min(0);

  /** Istio's StringMatch: one of exact, prefix, regex (RE2, whole value); `{}` on a header means "present". */
  const StringMatch = z
    .strictObject({ exact: z.string().optional(), prefix: z.string().optional(), regex: z.string().optional() })
    .refine((m) => [m.exact, m.prefix, m.regex].filter((v) => v !== undefined).length <= 1, { message: "a StringMatch has at most one of exact, prefix, regex" });

  const ConsistentHash = z.strictObject({
    httpHeaderName: z.string().min(1),
    ringHash: z.strictObject({ minimumRingSize: UInt.optional() }).optional(),
    minimumRingSize: UInt.optional(),
  });

  const LoadBalancer = z
    .strictObject({
      simple: z.enum(["ROUND_ROBIN", "LEAST_REQUEST", "LEAST_CONN", "RANDOM"]).optional(),
      consistentHash: ConsistentHash.optional(),
    })
    .refine((lb) => (lb.simple === undefined) !== (lb.consistentHash === undefined), { message: "loadBalancer takes exactly one of simple, consistentHash" });

  const ConnectionPool = z.strictObject({
    http: z
      .strictObject({
        /** Max concurrent requests to the destination: the client bulkhead. */
        http2MaxRequests: z.number().int().min(1).optional(),
        /** Max requests waiting for a slot: the bulkhead's queue. */
        http1MaxPendingRequests: UInt.optional(),
        /** Max retries outstanding to the destination at once. */
        maxRetries: UInt.optional(),
      })
      .optional(),
  });

  const OutlierDetection = z.strictObject({
    consecutive5xxErrors: UInt.optional(),
    consecutiveGatewayErrors: UInt.optional(),
    interval: Duration.optional(),
    baseEjectionTime: Duration.optional(),
    maxEjectionPercent: Percent.optional(),
    minHealthPercent: Percent.optional(),
  });

  const TrafficPolicy = z.strictObject({
    loadBalancer: LoadBalancer.optional(),
    connectionPool: ConnectionPool.optional(),
    outlierDetection: OutlierDetection.optional(),
  });

  /** A subset's own policy: outlier detection is per host here (endpoints are shared by subsets), so only at the top. */
  const SubsetTrafficPolicy = z.strictObject({ loadBalancer: LoadBalancer.optional(), connectionPool: ConnectionPool.optional() });

  const DestinationRuleSpec = z.strictObject({
    host: z.string().min(1),
    trafficPolicy: TrafficPolicy.optional(),
    subsets: z
      .array(z.strictObject({ name: z.string().min(1), labels: z.record(z.string(), z.string()).optional(), trafficPolicy: SubsetTrafficPolicy.optional() }))
      .optional(),
  });

  const HttpMatch = z.strictObject({
    name: z.string().optional(),
    /** The gRPC path `/package.Service/Method`: how Istio matches gRPC methods. */
    uri: StringMatch.optional(),
    headers: z.record(z.string(), StringMatch).optional(),
    withoutHeaders: z.record(z.string(), StringMatch).optional(),
    ignoreUriCase: z.boolean().optional(),
  });

  const Retries = z.strictObject({
    attempts: UInt,
    perTryTimeout: Duration.optional(),
    retryOn: z.string().optional(),
    retryIgnorePreviousHosts: z.boolean().optional(),
  });

  const GrpcStatusName = z.enum([
    "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS", "PERMISSION_DENIED", "RESOURCE_EXHAUSTED",
    "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE", "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
  ]);

  const Fault = z.strictObject({
    delay: z.strictObject({ fixedDelay: Duration, percentage: z.strictObject({ value: Percent }).optional() }).optional(),
    abort: z
      .strictObject({ grpcStatus: GrpcStatusName.optional(), httpStatus: z.number().int().min(200).max(599).optional(), percentage: z.strictObject({ value: Percent }).optional() })
      .refine((a) => (a.grpcStatus === undefined) !== (a.httpStatus === undefined), { message: "abort takes exactly one of grpcStatus, httpStatus" })
      .optional(),
  });

  const HttpRoute = z.strictObject({
    name: z.string().optional(),
    match: z.array(HttpMatch).optional(),
    route: z.array(z.strictObject({ destination: z.strictObject({ host: z.string().min(1), subset: z.string().min(1).optional() }), weight: z.number().int().min(0).max(100).optional() })).min(1),
    timeout: Duration.optional(),
    retries: Retries.optional(),
    fault: Fault.optional(),
  });

  const VirtualServiceSpec = z.strictObject({
    hosts: z.array(z.string().min(1)).min(1),
    /** Only the mesh itself (the default); ingress gateways are Istio's business. */
    gateways: z.array(z.literal("mesh")).optional(),
    http: z.array(HttpRoute).optional(),
  });
  return { Duration, StringMatch, TrafficPolicy, DestinationRuleSpec, VirtualServiceSpec, GrpcStatusName, HttpRoute };
}

type Schemas = ReturnType<typeof build>;
let built: Schemas | undefined;

/** The schemas (built on first call). */
export function istioSchemas(): Schemas {
  return (built ??= build(createRequire(import.meta.url)("zod") as typeof zod));
}

export type DestinationRuleSpec = zod.infer<Schemas["DestinationRuleSpec"]>;
export type VirtualServiceSpec = zod.infer<Schemas["VirtualServiceSpec"]>;
export type TrafficPolicySpec = zod.infer<Schemas["TrafficPolicy"]>;
export type HttpRouteSpec = zod.infer<Schemas["HttpRoute"]>;
export type StringMatchSpec = zod.infer<Schemas["StringMatch"]>;

/**
 * Istio fields that exist but that the mesh does not enforce, with why: the parser refuses them with this reason
 * rather than "unknown field". Keyed by field name (they do not clash across Istio's message types).
 */
export const UNENFORCED_ISTIO_FIELDS: Readonly<Record<string, string>> = {
  exportTo: "visibility across namespaces; the mesh has one namespace",
  workloadSelector: "the mesh applies rules by host",
  tls: "mTLS is configured by PeerAuthentication, not per DestinationRule, here",
  portLevelSettings: "instances serve one port",
  tunnel: "no tunnelling",
  proxyProtocol: "no PROXY protocol",
  tcp: "one HTTP/2 connection per endpoint; TCP pool settings do not apply",
  localityLbSetting: "no localities",
  warmupDurationSecs: "no slow start",
  warmup: "no slow start",
  httpCookie: "hash on a header instead",
  useSourceIp: "hash on a header instead",
  httpQueryParameterName: "gRPC has no query parameters",
  maglev: "use ringHash",
  idleTimeout: "channels keep their connections (keepalive)",
  maxRequestsPerConnection: "one multiplexed connection per endpoint",
  h2UpgradePolicy: "always HTTP/2",
  useClientProtocol: "always HTTP/2",
  maxConcurrentStreams: "set by the server",
  splitExternalLocalOriginErrors: "all errors are counted together",
  consecutiveLocalOriginFailures: "all errors are counted together",
  consecutiveErrors: "deprecated in Istio; use consecutive5xxErrors",
  outlierDetection: "per subset; set it in the DestinationRule's top-level trafficPolicy, it applies per host here",
  mirror: "no traffic mirroring",
  mirrors: "no traffic mirroring",
  mirrorPercentage: "no traffic mirroring",
  mirrorPercent: "no traffic mirroring",
  redirect: "no HTTP redirects between gRPC services",
  directResponse: "no direct responses",
  delegate: "no delegate VirtualServices",
  rewrite: "no path rewriting",
  corsPolicy: "CORS belongs to the gateway",
  headers: "header manipulation is not supported",
  retryRemoteLocalities: "no localities",
  port: "instances serve one port",
  sourceLabels: "rules apply to every caller",
  sourceNamespace: "one namespace",
  queryParams: "gRPC has no query parameters",
  scheme: "always HTTP/2 over the mesh",
  authority: "match on uri or headers",
  statPrefix: "metric names are fixed",
  method: "every gRPC call is an HTTP POST; match gRPC methods with uri: {exact: /package.Service/Method}",
  exponentialDelay: "use fixedDelay",
  percent: "deprecated in Istio; use percentage: {value: …}",
};
