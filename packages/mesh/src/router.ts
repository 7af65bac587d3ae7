import type { FieldViolation } from "@switchyard/core";
import { durationMs, type HttpRouteSpec, type StringMatchSpec, type VirtualServiceSpec } from "./istio-schema.js";
import { GRPC_STATUS_NAMES, codeForHttpStatus, type CompiledFault } from "./policy-fault.js";
import { DEFAULT_RETRY_POLICY, NO_RETRY_POLICY, compileRetryOn, type CompiledRetryPolicy } from "./policy-retry.js";

/** A call as routes see it: its gRPC path and its request metadata (lower-case keys). */
export interface RouteInput {
  readonly path: string;
  readonly headers: Readonly<Record<string, string>>;
}

export interface WeightedDestination {
  readonly host: string;
  /** "" = the host as a whole. */
  readonly subset: string;
  readonly weight: number;
}

/** What to do with a call: where it may go (weighted), its timeout, retries and faults. */
export interface RouteAction {
  readonly name: string;
  readonly destinations: readonly WeightedDestination[];
  readonly totalWeight: number;
  readonly timeoutMs: number | undefined;
  readonly retry: CompiledRetryPolicy;
  readonly fault: CompiledFault | undefined;
}

type Predicate = (input: RouteInput) => boolean;

export interface CompiledRoute extends RouteAction {
  /** Any of these matches (an empty list matches every call). */
  readonly matches: readonly Predicate[];
}

/** Istio short names: `jobs`, or `jobs.<namespace>.svc[.cluster.local]`, both mean the mesh service `jobs`. */
export function shortHost(host: string): string {
  const m = /^([^.]+)\.[^.]+\.svc(\.cluster\.local)?$/.exec(host);
  return m ? m[1]! : host;
}

function stringMatcher(m: StringMatchSpec, ignoreCase: boolean): (v: string | undefined) => boolean {
  const norm = (v: string) => (ignoreCase ? v.toLowerCase() : v);
  if (m.exact !== undefined) {
    const want = norm(m.exact);
    return (v) => v !== undefined && norm(v) === want;
  }
  if (m.prefix !== undefined) {
    const want = norm(m.prefix);
    return (v) => v !== undefined && norm(v).startsWith(want);
  }
  if (m.regex !== undefined) {
    const re = new RegExp(`^(?:${m.regex})$`, ignoreCase ? "i" : "");
    return (v) => v !== undefined && re.test(v);
  }
  return (v) => v !== undefined;
}

function compileMatch(match: NonNullable<HttpRouteSpec["match"]>[number]): Predicate {
  const checks: Predicate[] = [];
  if (match.uri) {
    const f = stringMatcher(match.uri, match.ignoreUriCase === true);
    checks.push((i) => f(i.path));
  }
  for (const [name, m] of Object.entries(match.headers ?? {})) {
    const key = name.toLowerCase();
    const f = stringMatcher(m, false);
    checks.push((i) => f(i.headers[key]));
  }
  for (const [name, m] of Object.entries(match.withoutHeaders ?? {})) {
    const key = name.toLowerCase();
    const f = stringMatcher(m, false);
    checks.push((i) => !f(i.headers[key]));
  }
  return (i) => checks.every((c) => c(i));
}

function compileRetries(spec: HttpRouteSpec["retries"]): CompiledRetryPolicy {
  if (spec === undefined) return DEFAULT_RETRY_POLICY;
  if (spec.attempts === 0) return NO_RETRY_POLICY;
  const on = spec.retryOn !== undefined ? compileRetryOn(spec.retryOn) : { codes: DEFAULT_RETRY_POLICY.codes, transport: DEFAULT_RETRY_POLICY.transport };
  const perTry = spec.perTryTimeout !== undefined ? durationMs(spec.perTryTimeout) : undefined;
  return { attempts: spec.attempts, perTryTimeoutMs: perTry && perTry > 0 ? perTry : undefined, ...on, ignorePreviousHosts: spec.retryIgnorePreviousHosts ?? true };
}

function compileFault(spec: HttpRouteSpec["fault"]): CompiledFault | undefined {
  if (spec === undefined) return undefined;
  const fraction = (p: { value: number } | undefined) => (p === undefined ? 1 : p.value / 100);
  return {
    delay: spec.delay ? { fraction: fraction(spec.delay.percentage), delayMs: durationMs(spec.delay.fixedDelay) } : undefined,
    abort: spec.abort
      ? { fraction: fraction(spec.abort.percentage), code: spec.abort.grpcStatus !== undefined ? GRPC_STATUS_NAMES[spec.abort.grpcStatus]! : codeForHttpStatus(spec.abort.httpStatus!) }
      : undefined,
  };
}

/**
 * Compiles a VirtualService's http routes, in order (the first route that matches a call wins). `subsetExists` checks
 * route destinations against the DestinationRules of the same set; problems are appended to `violations`.
 */
export function compileRoutes(spec: VirtualServiceSpec, subsetExists: (host: string, subset: string) => boolean, violations: FieldViolation[]): CompiledRoute[] {
  const out: CompiledRoute[] = [];
  (spec.http ?? []).forEach((r, i) => {
    const at = `spec.http[${i}]`;
    try {
      const destinations = r.route.map((d) => ({ host: shortHost(d.destination.host), subset: d.destination.subset ?? "", weight: r.route.length === 1 ? (d.weight ?? 100) : (d.weight ?? -1) }));
      destinations.forEach((d, j) => {
        if (d.subset !== "" && !subsetExists(d.host, d.subset)) {
          violations.push({ field: `${at}.route[${j}].destination.subset`, message: `no DestinationRule for host "${d.host}" defines subset "${d.subset}"`, hint: "apply the DestinationRule with its subsets first, or in the same document set" });
        }
      });
      const total = destinations.reduce((s, d) => s + Math.max(0, d.weight), 0);
      if (destinations.length > 1 && (destinations.some((d) => d.weight < 0) || total !== 100)) {
        violations.push({ field: `${at}.route`, message: "with several destinations every one needs a weight, and the weights must add up to 100", got: destinations.map((d) => (d.weight < 0 ? "none" : String(d.weight))).join("+") });
      }
      const timeoutMs = r.timeout !== undefined ? durationMs(r.timeout) : undefined;
      out.push({
        name: r.name ?? `route-${i}`,
        matches: (r.match ?? []).map(compileMatch),
        destinations,
        totalWeight: destinations.length === 1 ? 100 : total,
        timeoutMs: timeoutMs !== undefined && timeoutMs > 0 ? timeoutMs : undefined,
        retry: compileRetries(r.retries),
        fault: compileFault(r.fault),
      });
    } catch (err) {
      violations.push({ field: at, message: err instanceof Error ? err.message : String(err) });
    }
  });
  return out;
}

/** The first route matching a call, or undefined when none does (Istio answers 404 then; the mesh, UNIMPLEMENTED). */
export function selectRoute(routes: readonly CompiledRoute[], input: RouteInput): CompiledRoute | undefined {
  for (const r of routes) {
    if (r.matches.length === 0) return r;
    for (const m of r.matches) if (m(input)) return r;
  }
  return undefined;
}

/** One weighted draw among a route's destinations (Envoy's weighted clusters: random per call). */
export function pickDestination(action: RouteAction, random: () => number): WeightedDestination {
  const ds = action.destinations;
  if (ds.length === 1) return ds[0]!;
  let r = random() * action.totalWeight;
  let last = ds[0]!;
  for (const d of ds) {
    if (d.weight <= 0) continue;
    if (r < d.weight) return d;
    r -= d.weight;
    last = d;
  }
  return last;
}

/** The route a host without a VirtualService gets: itself, no timeout beyond the client's, Istio's default retries. */
export function defaultRoute(host: string): RouteAction {
  return { name: "default", destinations: [{ host, subset: "", weight: 100 }], totalWeight: 100, timeoutMs: undefined, retry: DEFAULT_RETRY_POLICY, fault: undefined };
}
