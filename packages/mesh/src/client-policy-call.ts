import { Code, SwitchyardError } from "@switchyard/core";
import { failureOf, ok, type Call, type Handler, type Policy, type Result } from "./client-call.js";
import { decideFault, type FaultDecision } from "./policy-fault.js";
import { pickDestination } from "./router.js";
import { activeContext, endSpan, startClientSpan } from "./tracing.js";

/**
 * The policies a call passes once, whatever its attempts: observe (events and span), fallback, route, fault,
 * destination. Each returns `next(call)` itself where it has nothing to do after it, so a call pays an async frame only
 * where a policy needs the outcome.
 */

/** Runs `next`, turning a synchronous throw into a failure (policies return failures; this is the net under them). */
function guarded(next: Handler, call: Call): Result | Promise<Result> {
  try {
    return next(call);
  } catch (err) {
    return failureOf(err);
  }
}

async function settled(p: Promise<Result>): Promise<Result> {
  try {
    return await p;
  } catch (err) {
    return failureOf(err);
  }
}

/** The `clientCall` (and `fallback`) event and the client span of every call; outermost, so it sees everything. */
export const observe: Policy = (next) => (call) => {
  const rt = call.rt;
  const m = call.m;
  call.startedMs = performance.now();
  const parent = call.options?.parent;
  if (rt.tracing !== undefined || parent !== undefined) call.span = startClientSpan(rt.tracing, activeContext, `${m.service}/${m.name}`, call.headers, parent, { "rpc.service": m.service, "rpc.method": m.name });
  const r = guarded(next, call);
  return r instanceof Promise ? observeAsync(call, r) : observed(call, r);
};

async function observeAsync(call: Call, p: Promise<Result>): Promise<Result> {
  let r: Result;
  try {
    r = await p;
  } catch (err) {
    r = failureOf(err);
  }
  return observed(call, r);
}

function observed(call: Call, r: Result): Result {
  const rt = call.rt;
  const m = call.m;
  // A fallback's answer counts as the failure it answered for.
  const failure = call.fallbackOf ?? (r.kind === "error" ? r.error : undefined);
  const code = failure === undefined ? 0 : failure.code;
  const fallback = call.fallbackOf !== undefined;
  if (rt.events.has("clientCall") || (fallback && rt.events.has("fallback"))) {
    const event = { destination: call.host, subset: call.subset, service: m.service, method: m.name, type: m.type, code, durationMs: performance.now() - call.startedMs, attempts: call.attempts, fallback };
    rt.events.emit("clientCall", event);
    if (fallback) rt.events.emit("fallback", event);
  }
  endSpan(call.span, code, failure?.message);
  return r;
}

/** Codes after which a fallback may answer instead: the destination failed, not the request. */
const DEGRADABLE = new Set<number>([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Internal, Code.Unknown, Code.DataLoss]);

/** The client's degraded answer for a destination's failure (unary methods with a fallback; never a caller's cancel). */
export const fallback: Policy = (next) => (call) => {
  if (call.fallback === undefined) return next(call);
  return fallbackAsync(call, guarded(next, call));
};

async function fallbackAsync(call: Call, p: Result | Promise<Result>): Promise<Result> {
  const r = p instanceof Promise ? await settled(p) : p;
  const o = call.options;
  if (r.kind === "ok" || !DEGRADABLE.has(r.error.code) || o?.signal?.aborted || o?.parent?.signal.aborted) return r;
  call.fallbackOf = r.error;
  try {
    return ok(await call.fallback!(call.request, r.error), undefined);
  } catch (err) {
    return failureOf(err);
  }
}

/**
 * The route the call matched: UNIMPLEMENTED when none did; otherwise the call's signal (the caller's and its parent's),
 * its deadline — the smallest of the caller's timeout, the route's, and what remains of the parent's (unary calls
 * default to the client's; streams to none) — and, for unary calls, the route's perTryTimeout.
 */
export const route: Policy = (next) => (call) => {
  const action = call.action;
  if (action === undefined) return failureOf(new SwitchyardError(Code.Unimplemented, `no route of the VirtualService for "${call.client.host}" matches ${call.m.path}`));
  const o = call.options;
  const a = o?.signal;
  const b = o?.parent?.signal;
  call.signal = a && b ? AbortSignal.any([a, b]) : (a ?? b);
  const unary = call.m.type === "unary";
  call.deadlineAt = deadlineOf(call, action.timeoutMs, unary ? call.client.defaultTimeoutMs : undefined);
  if (unary) call.perTryMs = action.retry.perTryTimeoutMs;
  return next(call);
};

/** Absolute deadline on the runtime clock. */
function deadlineOf(call: Call, routeMs: number | undefined, defaultMs: number | undefined): number | undefined {
  const o = call.options;
  const now = call.rt.clock.now();
  let at: number | undefined;
  if (o?.timeoutMs !== undefined) at = now + o.timeoutMs;
  if (routeMs !== undefined) at = at === undefined ? now + routeMs : Math.min(at, now + routeMs);
  const parent = o?.parent?.deadlineMs;
  if (parent !== undefined) {
    const p = now + (parent - Date.now());
    at = at === undefined ? p : Math.min(at, p);
  }
  if (at === undefined && defaultMs !== undefined) at = now + defaultMs;
  return at;
}

/**
 * The route's fault injection, drawn once per call before any attempt (as Envoy's fault filter runs before its
 * router), so a retry neither re-rolls nor masks an injected abort: the `fault` event, then the delay, then the abort.
 */
export const fault: Policy = (next) => (call) => {
  const f = decideFault(call.action!.fault, call.rt.random);
  if (f.delayMs === 0 && f.abortCode === undefined) return next(call);
  const rt = call.rt;
  if (rt.events.has("fault")) rt.events.emit("fault", { destination: call.host, service: call.m.service, method: call.m.name, kind: f.abortCode !== undefined ? "abort" : "delay" });
  return faulted(next, call, f);
};

async function faulted(next: Handler, call: Call, f: FaultDecision): Promise<Result> {
  if (f.delayMs > 0) {
    try {
      await call.rt.sleep(f.delayMs, call.signal);
    } catch (err) {
      return failureOf(err);
    }
  }
  if (f.abortCode !== undefined) return failureOf(new SwitchyardError(f.abortCode, `fault injected by the route "${call.action!.name}" of ${call.client.host}`));
  return next(call);
}

/** One weighted draw among the route's destinations (subsets): the destination state and cluster the attempts use. */
export const destination: Policy = (next) => (call) => {
  const dest = pickDestination(call.action!, call.rt.random);
  call.host = dest.host;
  call.subset = dest.subset;
  try {
    call.ds = call.rt.destination(dest.host, dest.subset);
    call.cluster = call.client.cluster(dest.host);
  } catch (err) {
    return failureOf(err);
  }
  const hashHeader = call.ds.policy.lb.hashHeader;
  call.hashKey = hashHeader !== undefined ? call.headers[hashHeader] : undefined;
  return next(call);
};
