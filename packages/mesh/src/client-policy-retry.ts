import { failureOf, type Call, type Failure, type Handler, type Policy, type Result } from "./client-call.js";
import { backoffMs, retryable } from "./policy-retry.js";

/**
 * Retries, around every attempt of a call (unary, or a server stream until its first message: after that a stream
 * is committed, and its failures come back `final`). A failed attempt is tried again when the route's policy matches
 * its code, the method is idempotent or the attempt surely did not run, the destination's retries in flight stay
 * under `maxRetries` and its budget allows one — after Envoy's backoff or the server's pushback if longer, to another
 * endpoint than the one that failed, never past the deadline.
 */
export const retry: Policy = (next) => (call) => {
  call.ds.budget.onRequest();
  call.attempts = 1;
  const r = next(call);
  if (r instanceof Promise) return retrying(next, call, r);
  return r.kind === "ok" || r.final ? r : retrying(next, call, r);
};

async function retrying(next: Handler, call: Call, first: Result | Promise<Result>): Promise<Result> {
  const rt = call.rt;
  const ds = call.ds;
  const action = call.action!;
  let r = await first;
  for (;;) {
    if (r.kind === "ok" || r.final || !mayRetry(call, r)) return r;
    const wait = Math.max(backoffMs(call.attempts, ds.policy.backoff.baseMs, ds.policy.backoff.maxMs, rt.random), r.pushbackMs ?? 0);
    if (call.deadlineAt !== undefined && wait >= call.deadlineAt - rt.clock.now()) return r;
    if (rt.events.has("retry")) rt.events.emit("retry", { destination: call.host, service: call.m.service, method: call.m.name, attempt: call.attempts + 1, code: r.error.code, backoffMs: wait });
    if (wait > 0) {
      try {
        await rt.sleep(wait, call.signal);
      } catch (err) {
        return failureOf(err);
      }
    }
    call.avoid = action.retry.ignorePreviousHosts ? r.endpoint : undefined;
    call.attempts++;
    ds.retriesInFlight++;
    try {
      r = await next(call);
    } finally {
      ds.retriesInFlight--;
    }
  }
}

function mayRetry(call: Call, r: Failure): boolean {
  const policy = call.action!.retry;
  const ds = call.ds;
  if (call.attempts > policy.attempts || call.signal?.aborted) return false;
  const verdict = retryable(policy, { code: r.error.code, notRun: r.notExecuted, transport: r.transport }, call.m.idempotent);
  if (verdict === "no") return false;
  if (verdict === "not_idempotent") return denied(call, "not_idempotent");
  if (ds.retriesInFlight >= ds.policy.maxRetries) return denied(call, "max_retries");
  if (!ds.budget.tryRetry()) return denied(call, "budget");
  return true;
}

function denied(call: Call, reason: "budget" | "max_retries" | "not_idempotent"): false {
  const rt = call.rt;
  if (rt.events.has("retryDenied")) rt.events.emit("retryDenied", { destination: call.ds.policy.host, service: call.m.service, method: call.m.name, reason });
  return false;
}
