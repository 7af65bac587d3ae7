import * as grpc from "@grpc/grpc-js";
import { SwitchyardError } from "@switchyard/core";
import { failed, ok, type Call, type Handler, type MessageRelay, type Result } from "./client-call.js";
import { deadlinePassed, metadataOf, tryRemainingMs } from "./client-send.js";
import type { Endpoint } from "./endpoint.js";
import { fromGrpcError, isTransportFailure, wasNotExecuted } from "./status.js";

/**
 * Server streams through the same chain as unary calls. A stream's attempt ends when the stream does, so every policy
 * sees its outcome as it sees a unary call's (the bulkhead slot is held, and the breaker and outlier detection hear
 * the code, when it ends); its messages reach the caller through the relay as the caller asks for them. An attempt
 * that fails before the first message may be retried; after it, the stream is committed (gRPC's rule) and a failure
 * is final.
 */

const DONE: IteratorResult<unknown> = { done: true, value: undefined };

/**
 * The caller's side of a server stream: an async iterator whose first `next()` starts the call through the chain
 * (nothing is sent before). The attempt reading the stream asks `wanted()` before it reads the next message, so
 * nothing is read ahead, and a caller that stops (break, return) ends the attempt as a success, as before.
 */
export class StreamRelay implements MessageRelay, AsyncIterableIterator<unknown> {
  private started = false;
  private ended = false;
  /** The caller stopped reading. */
  private gone = false;
  /** The caller's pending `next()`: its promise and how to settle it. */
  private waitingFor: Promise<IteratorResult<unknown>> | undefined;
  private resolve: ((r: IteratorResult<unknown>) => void) | undefined;
  private reject: ((err: unknown) => void) | undefined;
  private demand: ((wanted: boolean) => void) | undefined;
  private finished: Promise<void> | undefined;

  constructor(
    private readonly chain: Handler,
    private readonly call: Call,
  ) {}

  [Symbol.asyncIterator](): this {
    return this;
  }

  next(): Promise<IteratorResult<unknown>> {
    if (this.waitingFor !== undefined) {
      const after = () => this.next();
      return this.waitingFor.then(after, after);
    }
    if (this.ended) return Promise.resolve(DONE);
    const p = new Promise<IteratorResult<unknown>>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
    this.waitingFor = p;
    if (!this.started) this.start();
    else this.wake(true);
    return p;
  }

  /** The caller stops reading: the attempt stops at its next message and ends the call (a success, as a finished stream). */
  return(): Promise<IteratorResult<unknown>> {
    if (!this.started || this.ended) {
      this.ended = true;
      return Promise.resolve(DONE);
    }
    this.gone = true;
    this.wake(false);
    return this.finished!.then(() => DONE);
  }

  wanted(): boolean | Promise<boolean> {
    if (this.gone) return false;
    if (this.waitingFor !== undefined) return true;
    return new Promise<boolean>((resolve) => (this.demand = resolve));
  }

  deliver(message: unknown): void {
    const resolve = this.resolve;
    this.settled();
    resolve?.({ done: false, value: message });
  }

  private start(): void {
    this.started = true;
    this.call.relay = this;
    const r = this.chain(this.call);
    if (r instanceof Promise) this.finished = r.then((res) => this.end(res));
    else {
      this.finished = Promise.resolve();
      this.end(r);
    }
  }

  private wake(wanted: boolean): void {
    const d = this.demand;
    this.demand = undefined;
    d?.(wanted);
  }

  private settled(): void {
    this.waitingFor = undefined;
    this.resolve = undefined;
    this.reject = undefined;
  }

  private end(r: Result): void {
    this.ended = true;
    const { resolve, reject } = this;
    this.settled();
    if (r.kind === "ok") resolve?.(DONE);
    else reject?.(r.error);
  }
}

/** One attempt of a server stream, over the endpoint's channel or in memory; its Result comes when the stream ends. */
export function sendStream(call: Call, ep: Endpoint): Result | Promise<Result> {
  const remaining = tryRemainingMs(call);
  if (remaining !== undefined && remaining <= 0) return deadlinePassed(call, ep);
  if (ep.local !== undefined) {
    const source = ep.local.stream(call.m.path, call.request, { headers: call.headers, deadlineMs: remaining === undefined ? undefined : Date.now() + remaining, signal: call.signal, peer: call.client.localPeer, callerId: call.rt.credentials?.id, callerService: call.rt.serviceName });
    return relay(call, ep, source, false);
  }
  const md = metadataOf(call, ep);
  if (!(md instanceof grpc.Metadata)) return md;
  const failingAtPick = !ep.reachable;
  if (!ep.ready && !failingAtPick) md.setOptions({ waitForReady: true });
  const s = ep.client!.makeServerStreamRequest(call.m.path, call.m.serialize, call.m.deserialize, call.request, md, remaining === undefined ? {} : { deadline: Date.now() + remaining });
  const signal = call.signal;
  const onAbort = () => s.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  return relay(call, ep, s, failingAtPick).finally(() => {
    signal?.removeEventListener("abort", onAbort);
    s.cancel();
  });
}

/** Hands the stream's messages to the caller, one per request, and turns how it ended into the attempt's Result. */
async function relay(call: Call, ep: Endpoint, source: AsyncIterable<unknown>, failingAtPick: boolean): Promise<Result> {
  const to = call.relay!;
  let committed = false;
  try {
    const first = to.wanted();
    if (first === false || (first !== true && !(await first))) return ok(undefined, ep);
    for await (const message of source) {
      committed = true;
      to.deliver(message);
      const more = to.wanted();
      if (more === false || (more !== true && !(await more))) break;
    }
    return ok(undefined, ep);
  } catch (err) {
    if (ep.local !== undefined) {
      const error = SwitchyardError.from(err);
      return failed(error, ep, wasNotExecuted(error), false, committed);
    }
    const se = err as grpc.ServiceError;
    const error = fromGrpcError(se);
    const transport = typeof se.code === "number" && isTransportFailure(se);
    return failed(error, ep, wasNotExecuted(error) || (failingAtPick && se.code === grpc.status.UNAVAILABLE), transport, committed);
  }
}
