import { Code } from "@switchyard/core";
import { codeOf, refusal, type Call, type Failure, type Handler, type Policy, type Result } from "./client-call.js";
import type { Endpoint } from "./endpoint.js";
import type { RejectReason } from "./events.js";
import type { AdaptiveThrottle } from "./policy-throttle.js";
import type { Bulkhead } from "./policy-bulkhead.js";
import type { CircuitBreaker } from "./policy-breaker.js";

/**
 * The policies of each attempt, on the destination's shared state: adaptive throttling, outlier detection, the
 * circuit breaker, the client bulkhead, and the endpoint pick. Each admits the attempt (or refuses it at once,
 * never to be retried: `refusal`), and learns its outcome when it returns. An outcome without an endpoint is a refusal
 * from further in: the breaker gives its trial slot back and the bulkhead its slot, without counting it as a call.
 */

function refused(call: Call, reason: RejectReason, code: Code, message: string, retryAfterMs?: number): Failure {
  const rt = call.rt;
  if (rt.events.has("reject")) rt.events.emit("reject", { side: "client", destination: call.ds.policy.host, service: call.m.service, method: call.m.name, reason });
  return refusal(code, message, retryAfterMs);
}

/** Refuses locally while the destination refuses for overload (the SRE book's client-side throttling). */
export const throttle: Policy = (next) => (call) => {
  const t = call.ds.throttle;
  if (t === undefined) return next(call);
  if (t.reject(call.rt.random)) {
    return refused(call, "throttled", Code.ResourceExhausted, `${call.ds.describe()} is refusing calls for overload; this client holds back part of its calls (adaptive throttling)`, t.lastPushbackMs ?? call.ds.policy.backoff.baseMs);
  }
  const r = next(call);
  return r instanceof Promise ? throttleAsync(t, r) : learn(t, r);
};

async function throttleAsync(t: AdaptiveThrottle, p: Promise<Result>): Promise<Result> {
  return learn(t, await p);
}

function learn(t: AdaptiveThrottle, r: Result): Result {
  if (r.endpoint === undefined) return r;
  if (r.kind === "error" && r.error.code === Code.ResourceExhausted && r.notExecuted) t.refused(r.pushbackMs);
  else t.accepted();
  return r;
}

/** Outlier detection hears the code of every attempt that reached an endpoint (the cluster ejects for it). */
export const outlier: Policy = (next) => (call) => {
  const r = next(call);
  return r instanceof Promise ? outlierAsync(call, r) : heard(call, r);
};

async function outlierAsync(call: Call, p: Promise<Result>): Promise<Result> {
  return heard(call, await p);
}

function heard(call: Call, r: Result): Result {
  if (r.endpoint !== undefined) call.cluster.record(r.endpoint, codeOf(r));
  return r;
}

/** While open, refuses at once (UNAVAILABLE, not sent); records every sent attempt's code. */
export const breaker: Policy = (next) => (call) => {
  const b = call.ds.breaker;
  if (b === undefined) return next(call);
  if (!b.tryPass()) return refused(call, "circuit_open", Code.Unavailable, `the circuit breaker of ${call.ds.describe()} is open`);
  const r = next(call);
  return r instanceof Promise ? breakerAsync(b, r) : record(b, r);
};

async function breakerAsync(b: CircuitBreaker, p: Promise<Result>): Promise<Result> {
  return record(b, await p);
}

function record(b: CircuitBreaker, r: Result): Result {
  if (r.endpoint === undefined) b.cancel();
  else b.record(codeOf(r));
  return r;
}

/** At most maxConcurrent attempts in flight (a server stream holds its slot until it ends), a bounded queue, then refusals. */
export const bulkhead: Policy = (next) => (call) => {
  const b = call.ds.bulkhead;
  if (b === undefined) return next(call);
  const remaining = call.deadlineAt === undefined ? Infinity : call.deadlineAt - call.rt.clock.now();
  const entry = b.enter(remaining, call.signal);
  if (entry === true) return inside(next, call, b);
  if (entry === false) return full(call, b);
  return queued(next, call, b, entry);
};

async function queued(next: Handler, call: Call, b: Bulkhead, entry: Promise<boolean>): Promise<Result> {
  return (await entry) ? inside(next, call, b) : full(call, b);
}

function full(call: Call, b: Bulkhead): Failure {
  return refused(call, "bulkhead", Code.ResourceExhausted, `${call.ds.describe()} has ${b.limits.maxConcurrent} calls in flight and ${b.queued} waiting (connectionPool limits)`, b.retryAfterMs());
}

function inside(next: Handler, call: Call, b: Bulkhead): Result | Promise<Result> {
  const r = next(call);
  return r instanceof Promise ? leaveAsync(call, b, r) : leave(call, b, r);
}

async function leaveAsync(call: Call, b: Bulkhead, p: Promise<Result>): Promise<Result> {
  return leave(call, b, await p);
}

function leave(call: Call, b: Bulkhead, r: Result): Result {
  if (r.endpoint === undefined) b.leave();
  else b.leave(call.rt.clock.now() - call.sentAtMs);
  return r;
}

/**
 * The balancer's pick among the endpoints that may take the call now (waiting for the first list of a destination not
 * resolved yet), and the endpoint's in-flight count (least request reads it).
 */
export const pick: Policy = (next) => (call) => {
  const { ds, cluster } = call;
  const candidates = cluster.candidates(ds.labelsKey, ds.policy.labels);
  if (candidates.length === 0 && !cluster.isResolved) return pickWhenResolved(next, call);
  return picked(next, call, candidates);
};

async function pickWhenResolved(next: Handler, call: Call): Promise<Result> {
  await call.cluster.whenResolved(call.deadlineAt === undefined ? 5000 : call.deadlineAt - call.rt.clock.now());
  return picked(next, call, call.cluster.candidates(call.ds.labelsKey, call.ds.policy.labels));
}

function picked(next: Handler, call: Call, candidates: readonly Endpoint[]): Result | Promise<Result> {
  const ep = call.ds.balancer.pick(candidates, call.hashKey, call.avoid);
  if (ep === undefined) return refused(call, "no_endpoint", Code.Unavailable, `no instance of ${call.ds.describe()} is available`);
  ep.active++;
  call.endpoint = ep;
  call.sentAtMs = call.rt.clock.now();
  const r = next(call);
  return r instanceof Promise ? pickedAsync(ep, r) : returned(ep, r);
}

async function pickedAsync(ep: Endpoint, p: Promise<Result>): Promise<Result> {
  return returned(ep, await p);
}

function returned(ep: Endpoint, r: Result): Result {
  ep.active--;
  return r;
}
