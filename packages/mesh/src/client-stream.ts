import * as grpc from "@grpc/grpc-js";
import { Code, SwitchyardError } from "@switchyard/core";
import { Invoker, type CallState, type MethodInfo } from "./client-call.js";
import { Endpoint } from "./endpoint.js";
import { decideFault } from "./policy-fault.js";
import { backoffMs, retryable } from "./policy-retry.js";
import { pickDestination } from "./router.js";
import { fromGrpcError, isTransportFailure, wasNotExecuted } from "./status.js";
import { activeContext, endSpan, startClientSpan } from "./tracing.js";
import type { CallOptions } from "./types.js";

/** Opens the stream of one attempt, over the endpoint's channel or in memory. */
function open(inv: Invoker, call: CallState, req: unknown, ep: Endpoint): AsyncIterable<unknown> {
  const remaining = call.deadlineAt === undefined ? undefined : call.deadlineAt - inv.rt.clock.now();
  if (ep.local !== undefined) {
    return ep.local.stream(call.m.path, req, { headers: call.headers, deadlineMs: remaining === undefined ? undefined : Date.now() + remaining, signal: call.signal, peer: `inproc:${inv.rt.serviceName ?? "client"}` });
  }
  const md = new grpc.Metadata();
  for (const k in call.headers) md.set(k, call.headers[k]!);
  if (!ep.ready && ep.reachable) md.setOptions({ waitForReady: true });
  const s = ep.client!.makeServerStreamRequest(call.m.path, call.m.serialize, call.m.deserialize, req, md, remaining === undefined ? {} : { deadline: Date.now() + remaining });
  call.signal?.addEventListener("abort", () => s.cancel(), { once: true });
  return {
    async *[Symbol.asyncIterator]() {
      try {
        for await (const m of s) yield m;
      } catch (err) {
        throw fromGrpcError(err as grpc.ServiceError);
      } finally {
        s.cancel();
      }
    },
  };
}

/**
 * A server-streaming call with the same policies as a unary one. Retries happen only before the first message arrives
 * (gRPC's rule: after that the call is committed); the bulkhead slot is held until the stream ends. Streams get no
 * default timeout: only the caller's, the route's or the parent's.
 */
export async function* streamCall(inv: Invoker, m: MethodInfo, req: unknown, o: CallOptions | undefined): AsyncIterable<unknown> {
  const rt = inv.rt;
  const started = performance.now();
  const headers = inv.headersFor(o);
  const host0 = inv.o.host;
  const action = rt.policies.current.route(host0, { path: m.path, headers });
  const span = rt.tracing !== undefined || o?.parent !== undefined ? startClientSpan(rt.tracing, activeContext, `${m.service}/${m.name}`, headers, o?.parent, { "rpc.service": m.service, "rpc.method": m.name }) : undefined;
  let code = 0;
  let attempts = 0;
  let host = host0;
  let subset = "";
  let error: SwitchyardError | undefined;
  try {
    if (action === undefined) throw new SwitchyardError(Code.Unimplemented, `no route of the VirtualService for "${host0}" matches ${m.path}`);
    const signal = inv.signalOf(o);
    const deadlineAt = inv.deadlineFor(o, action, undefined);
    const fault = decideFault(action.fault, rt.random);
    if (fault.delayMs > 0) await rt.sleep(fault.delayMs, signal);
    if (fault.abortCode !== undefined) throw new SwitchyardError(fault.abortCode, `fault injected by the route "${action.name}" of ${host0}`);
    const dest = pickDestination(action, rt.random);
    host = dest.host;
    subset = dest.subset;
    const ds = rt.destination(dest.host, dest.subset);
    const cluster = inv.cluster(dest.host);
    const hashHeader = ds.policy.lb.hashHeader;
    const call: CallState = { m, headers, deadlineAt, signal, hashKey: hashHeader !== undefined ? headers[hashHeader] : undefined, perTryMs: undefined };
    ds.budget.onRequest();
    let avoid: Endpoint | undefined;
    for (;;) {
      attempts++;
      const ep = await inv.admit(call, ds, cluster, avoid);
      if (!(ep instanceof Endpoint)) throw ep.error!;
      ep.active++;
      const t0 = rt.clock.now();
      let committed = false;
      let attemptCode = 0;
      try {
        for await (const msg of open(inv, call, req, ep)) {
          committed = true;
          yield msg;
        }
        return;
      } catch (err) {
        const e = SwitchyardError.from(err);
        attemptCode = e.code;
        const cause = (err as { cause?: unknown }).cause as grpc.ServiceError | undefined;
        const transport = cause !== undefined && typeof cause.code === "number" && isTransportFailure(cause);
        const failure = { code: e.code, notRun: wasNotExecuted(e), transport };
        const again = !committed && !signal?.aborted && attempts <= action.retry.attempts && retryable(action.retry, failure, m.idempotent) === "yes" && ds.budget.tryRetry();
        if (!again) throw e;
        error = e;
      } finally {
        ep.active--;
        ds.bulkhead?.leave(rt.clock.now() - t0);
        ds.breaker?.record(attemptCode);
        cluster.record(ep, attemptCode);
      }
      const failed = error!;
      const wait = backoffMs(attempts, ds.policy.backoff.baseMs, ds.policy.backoff.maxMs, rt.random);
      if (deadlineAt !== undefined && wait >= deadlineAt - rt.clock.now()) throw failed;
      if (rt.events.has("retry")) rt.events.emit("retry", { destination: host, service: m.service, method: m.name, attempt: attempts + 1, code: failed.code, backoffMs: wait });
      if (wait > 0) await rt.sleep(wait, signal);
      avoid = action.retry.ignorePreviousHosts ? ep : undefined;
    }
  } catch (err) {
    error = SwitchyardError.from(err);
    code = error.code;
    throw error;
  } finally {
    if (rt.events.has("clientCall")) rt.events.emit("clientCall", { destination: host, subset, service: m.service, method: m.name, type: m.type, code, durationMs: performance.now() - started, attempts, fallback: false });
    endSpan(span, code, error?.message);
  }
}
