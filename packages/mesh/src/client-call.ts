import type * as grpc from "@grpc/grpc-js";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Cluster, ClusterSource } from "./cluster.js";
import { Endpoint } from "./endpoint.js";
import { decideFault } from "./policy-fault.js";
import { backoffMs, retryable, type AttemptFailure } from "./policy-retry.js";
import { pickDestination, type RouteAction } from "./router.js";
import type { DestinationState, MeshRuntime } from "./runtime.js";
import { sendLocal, sendRemote } from "./client-send.js";
import { newRefusal, retryAfterMs } from "./status.js";
import { activeContext, endSpan, startClientSpan } from "./tracing.js";
import { IDENTITY_METADATA, type CallOptions } from "./types.js";

/** A method as the call layer needs it, computed once per client. */
export interface MethodInfo {
  readonly path: string;
  readonly service: string;
  readonly name: string;
  readonly type: "unary" | "server_stream";
  /** The proto marks it NO_SIDE_EFFECTS or IDEMPOTENT: it may be retried after it may have run. */
  readonly idempotent: boolean;
  readonly serialize: (m: unknown) => Buffer;
  readonly deserialize: (b: Buffer) => unknown;
}

export type Fallback = (request: unknown, error: SwitchyardError) => unknown;

export interface InvokerOptions {
  readonly host: string;
  readonly source: ClusterSource;
  readonly channelOptions: grpc.ChannelOptions;
  readonly healthCheck: boolean;
  readonly baseHeaders: Readonly<Record<string, string>>;
  readonly defaultTimeoutMs: number | undefined;
  readonly fallbacks: Readonly<Record<string, Fallback>>;
}

/** Codes after which a fallback may answer instead: the destination failed, not the request. */
const DEGRADABLE = new Set<number>([Code.Unavailable, Code.DeadlineExceeded, Code.ResourceExhausted, Code.Internal, Code.Unknown, Code.DataLoss]);

/** The outcome of one attempt. `final` failures (refused locally before sending) are not retried. */
export interface Attempt {
  value?: unknown;
  error?: SwitchyardError;
  failure?: AttemptFailure;
  endpoint?: Endpoint;
  final?: boolean;
}

export function localRefusal(code: Code, message: string, retryAfter?: number): Attempt {
  const error = newRefusal(code, message, retryAfter);
  return { error, failure: { code, notRun: true, transport: false }, final: true };
}

/** Per-call facts shared by its attempts. */
export interface CallState {
  readonly m: MethodInfo;
  readonly headers: Record<string, string>;
  readonly deadlineAt: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly hashKey: string | undefined;
  /** The route's perTryTimeout: each attempt's own deadline, within the call's. */
  readonly perTryMs: number | undefined;
}

/**
 * The governed call path, above one grpc-js channel per endpoint: route (VirtualService) → fault → weighted
 * destination → per attempt: breaker → bulkhead → balancer pick → send (over the endpoint's channel, or in memory to a
 * co-hosted server) → outlier and breaker bookkeeping → retry decision (policy, idempotency, budget, backoff) → fallback.
 */
export class Invoker {
  private readonly clusters = new Map<string, Cluster>();

  constructor(
    readonly rt: MeshRuntime,
    readonly o: InvokerOptions,
  ) {
    this.cluster(o.host);
  }

  cluster(host: string): Cluster {
    let c = this.clusters.get(host);
    if (c !== undefined) return c;
    if (host !== this.o.host && !this.o.source.registry) throw new SwitchyardError(Code.Unimplemented, `a route sends calls to "${host}", but this client has no registry to find it`);
    c = this.rt.cluster(host, host === this.o.host ? this.o.source : { registry: this.o.source.registry! }, this.o.channelOptions, this.o.healthCheck);
    this.clusters.set(host, c);
    return c;
  }

  close(): void {
    for (const c of this.clusters.values()) c.release();
    this.clusters.clear();
  }

  headersFor(o: CallOptions | undefined): Record<string, string> {
    const h: Record<string, string> = { ...this.o.baseHeaders };
    if (o?.parent) for (const k of IDENTITY_METADATA) if (o.parent.metadata[k] !== undefined) h[k] = o.parent.metadata[k];
    if (o?.metadata) for (const k in o.metadata) h[k.toLowerCase()] = o.metadata[k]!;
    return h;
  }

  /** Absolute deadline on the runtime clock: the smallest of the caller's timeout, the route's, the parent's remainder. */
  deadlineFor(o: CallOptions | undefined, action: RouteAction, defaultMs: number | undefined): number | undefined {
    const now = this.rt.clock.now();
    let at: number | undefined;
    if (o?.timeoutMs !== undefined) at = now + o.timeoutMs;
    if (action.timeoutMs !== undefined) at = at === undefined ? now + action.timeoutMs : Math.min(at, now + action.timeoutMs);
    const parent = o?.parent?.deadlineMs;
    if (parent !== undefined) {
      const p = now + (parent - Date.now());
      at = at === undefined ? p : Math.min(at, p);
    }
    if (at === undefined && defaultMs !== undefined) at = now + defaultMs;
    return at;
  }

  signalOf(o: CallOptions | undefined): AbortSignal | undefined {
    const a = o?.signal;
    const b = o?.parent?.signal;
    return a && b ? AbortSignal.any([a, b]) : (a ?? b);
  }

  /** One unary call, with everything the policies say. */
  async unary(m: MethodInfo, req: unknown, o: CallOptions | undefined): Promise<unknown> {
    const rt = this.rt;
    const started = performance.now();
    const headers = this.headersFor(o);
    const action = rt.policies.current.route(this.o.host, { path: m.path, headers });
    const span = rt.tracing !== undefined || o?.parent !== undefined ? startClientSpan(rt.tracing, activeContext, `${m.service}/${m.name}`, headers, o?.parent, { "rpc.service": m.service, "rpc.method": m.name }) : undefined;
    let code = 0;
    let attempts = 0;
    let subset = "";
    let host = this.o.host;
    let usedFallback = false;
    let error: SwitchyardError | undefined;
    try {
      if (action === undefined) throw new SwitchyardError(Code.Unimplemented, `no route of the VirtualService for "${this.o.host}" matches ${m.path}`);
      const signal = this.signalOf(o);
      const deadlineAt = this.deadlineFor(o, action, this.o.defaultTimeoutMs);
      const fault = decideFault(action.fault, rt.random);
      if (fault.delayMs > 0 || fault.abortCode !== undefined) {
        if (rt.events.has("fault")) rt.events.emit("fault", { destination: host, service: m.service, method: m.name, kind: fault.abortCode !== undefined ? "abort" : "delay" });
        if (fault.delayMs > 0) await rt.sleep(fault.delayMs, signal);
        if (fault.abortCode !== undefined) throw new SwitchyardError(fault.abortCode, `fault injected by the route "${action.name}" of ${this.o.host}`);
      }
      const dest = pickDestination(action, rt.random);
      host = dest.host;
      subset = dest.subset;
      const ds = rt.destination(dest.host, dest.subset);
      const cluster = this.cluster(dest.host);
      const hashHeader = ds.policy.lb.hashHeader;
      const call: CallState = { m, headers, deadlineAt, signal, hashKey: hashHeader !== undefined ? headers[hashHeader] : undefined, perTryMs: action.retry.perTryTimeoutMs };
      ds.budget.onRequest();
      let avoid: Endpoint | undefined;
      for (;;) {
        attempts++;
        const retry = attempts > 1;
        if (retry) ds.retriesInFlight++;
        const a = await this.attempt(call, req, ds, cluster, avoid);
        if (retry) ds.retriesInFlight--;
        if (a.error === undefined) return a.value;
        error = a.error;
        if (a.final || !this.shouldRetry(call, action, ds, a, attempts)) throw a.error;
        const pushback = retryAfterMs(a.error);
        const wait = Math.max(backoffMs(attempts, ds.policy.backoff.baseMs, ds.policy.backoff.maxMs, rt.random), pushback ?? 0);
        if (deadlineAt !== undefined && wait >= deadlineAt - rt.clock.now()) throw a.error;
        if (rt.events.has("retry")) rt.events.emit("retry", { destination: host, service: m.service, method: m.name, attempt: attempts + 1, code: a.error.code, backoffMs: wait });
        if (wait > 0) await rt.sleep(wait, signal);
        avoid = action.retry.ignorePreviousHosts ? a.endpoint : undefined;
      }
    } catch (err) {
      error = SwitchyardError.from(err);
      code = error.code;
      const fallback = this.o.fallbacks[m.name];
      if (fallback !== undefined && DEGRADABLE.has(code) && !(o?.signal?.aborted || o?.parent?.signal.aborted)) {
        usedFallback = true;
        return await fallback(req, error);
      }
      throw error;
    } finally {
      const durationMs = performance.now() - started;
      if (rt.events.has("clientCall")) rt.events.emit("clientCall", { destination: host, subset, service: m.service, method: m.name, type: m.type, code, durationMs, attempts, fallback: usedFallback });
      if (usedFallback && rt.events.has("fallback")) rt.events.emit("fallback", { destination: host, subset, service: m.service, method: m.name, type: m.type, code, durationMs, attempts, fallback: true });
      endSpan(span, code, error?.message);
    }
  }

  shouldRetry(call: CallState, action: RouteAction, ds: DestinationState, a: Attempt, attempts: number): boolean {
    if (attempts > action.retry.attempts || call.signal?.aborted) return false;
    const verdict = retryable(action.retry, a.failure!, call.m.idempotent);
    const rt = this.rt;
    const deny = (reason: "budget" | "max_retries" | "not_idempotent") => {
      if (rt.events.has("retryDenied")) rt.events.emit("retryDenied", { destination: ds.policy.host, service: call.m.service, method: call.m.name, reason });
      return false;
    };
    if (verdict === "no") return false;
    if (verdict === "not_idempotent") return deny("not_idempotent");
    if (ds.retriesInFlight >= ds.policy.maxRetries) return deny("max_retries");
    if (!ds.budget.tryRetry()) return deny("budget");
    return true;
  }

  /**
   * Admission on the client side (breaker, bulkhead) and the endpoint pick, shared by unary and streaming attempts.
   * Synchronous unless the call has to wait (a bulkhead queue, a destination not resolved yet).
   */
  admit(call: CallState, ds: DestinationState, cluster: Cluster, avoid: Endpoint | undefined): Endpoint | Attempt | Promise<Endpoint | Attempt> {
    if (ds.throttle !== undefined && ds.throttle.reject(this.rt.random)) {
      return this.refuse(call, ds, "throttled", Code.ResourceExhausted, `${describe(ds)} is refusing calls for overload; this client holds back part of its calls (adaptive throttling)`, ds.throttle.lastPushbackMs ?? ds.policy.backoff.baseMs);
    }
    if (ds.breaker !== undefined && !ds.breaker.tryPass()) return this.refuse(call, ds, "circuit_open", Code.Unavailable, `the circuit breaker of ${describe(ds)} is open`);
    if (ds.bulkhead !== undefined) {
      const remaining = call.deadlineAt === undefined ? Infinity : call.deadlineAt - this.rt.clock.now();
      const entry = ds.bulkhead.enter(remaining, call.signal);
      if (entry === false) return this.refuseBulkhead(call, ds);
      if (entry !== true) return entry.then((ok) => (ok ? this.pick(call, ds, cluster, avoid) : this.refuseBulkhead(call, ds)));
    }
    return this.pick(call, ds, cluster, avoid);
  }

  private pick(call: CallState, ds: DestinationState, cluster: Cluster, avoid: Endpoint | undefined): Endpoint | Attempt | Promise<Endpoint | Attempt> {
    const candidates = cluster.candidates(ds.labelsKey, ds.policy.labels);
    if (candidates.length === 0 && !cluster.isResolved) {
      const waitMs = call.deadlineAt === undefined ? 5000 : call.deadlineAt - this.rt.clock.now();
      return cluster.whenResolved(waitMs).then(() => this.picked(call, ds, cluster.candidates(ds.labelsKey, ds.policy.labels), avoid));
    }
    return this.picked(call, ds, candidates, avoid);
  }

  private picked(call: CallState, ds: DestinationState, candidates: readonly Endpoint[], avoid: Endpoint | undefined): Endpoint | Attempt {
    const ep = ds.balancer.pick(candidates, call.hashKey, avoid);
    if (ep !== undefined) return ep;
    ds.bulkhead?.leave();
    ds.breaker?.cancel();
    return this.refuse(call, ds, "no_endpoint", Code.Unavailable, `no instance of ${describe(ds)} is available`);
  }

  private refuseBulkhead(call: CallState, ds: DestinationState): Attempt {
    ds.breaker?.cancel();
    const b = ds.bulkhead!;
    return this.refuse(call, ds, "bulkhead", Code.ResourceExhausted, `${describe(ds)} has ${b.limits.maxConcurrent} calls in flight and ${b.queued} waiting (connectionPool limits)`, b.retryAfterMs());
  }

  private refuse(call: CallState, ds: DestinationState, reason: "circuit_open" | "bulkhead" | "no_endpoint" | "throttled", code: Code, message: string, retryAfter?: number): Attempt {
    if (this.rt.events.has("reject")) this.rt.events.emit("reject", { side: "client", destination: ds.policy.host, service: call.m.service, method: call.m.name, reason });
    return localRefusal(code, message, retryAfter);
  }

  /** One attempt of a unary call: admission, pick, send, bookkeeping. */
  private attempt(call: CallState, req: unknown, ds: DestinationState, cluster: Cluster, avoid: Endpoint | undefined): Attempt | Promise<Attempt> {
    const admitted = this.admit(call, ds, cluster, avoid);
    if (admitted instanceof Promise) return admitted.then((ep) => (ep instanceof Endpoint ? this.send(call, req, ds, cluster, ep) : ep));
    return admitted instanceof Endpoint ? this.send(call, req, ds, cluster, admitted) : admitted;
  }

  /** Sends one attempt to the picked endpoint and does the bookkeeping (no async frames: one hop on the way back). */
  private send(call: CallState, req: unknown, ds: DestinationState, cluster: Cluster, ep: Endpoint): Promise<Attempt> {
    const rt = this.rt;
    ep.active++;
    const tryStart = rt.clock.now();
    const sent = ep.local !== undefined ? sendLocal(rt, call, req, ep) : sendRemote(rt, call, req, ep);
    return sent.then((a) => {
      ep.active--;
      ds.bulkhead?.leave(rt.clock.now() - tryStart);
      const code = a.error === undefined ? 0 : a.error.code;
      ds.breaker?.record(code);
      cluster.record(ep, code);
      if (ds.throttle !== undefined) {
        if (code === Code.ResourceExhausted && a.failure!.notRun) ds.throttle.refused(retryAfterMs(a.error));
        else ds.throttle.accepted();
      }
      a.endpoint = ep;
      return a;
    });
  }
}

export function describe(ds: DestinationState): string {
  return ds.policy.subset ? `"${ds.policy.host}" subset "${ds.policy.subset}"` : `"${ds.policy.host}"`;
}
