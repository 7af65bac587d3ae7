import * as grpc from "@grpc/grpc-js";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Attempt, CallState } from "./client-call.js";
import type { Endpoint } from "./endpoint.js";
import type { MeshRuntime } from "./runtime.js";
import { fromGrpcError, isTransportFailure, wasNotExecuted } from "./status.js";

/** Sending one attempt: over an endpoint's grpc-js channel, or in memory to a co-hosted server. */

/** What remains for this attempt: the call's deadline, cut by perTryTimeout. */
export function tryRemainingMs(rt: MeshRuntime, call: CallState): number | undefined {
  const remaining = call.deadlineAt === undefined ? undefined : call.deadlineAt - rt.clock.now();
  if (call.perTryMs === undefined) return remaining;
  return remaining === undefined ? call.perTryMs : Math.min(remaining, call.perTryMs);
}

/** One attempt over the endpoint's channel. Never rejects: failures come back as an Attempt. */
export function sendRemote(rt: MeshRuntime, call: CallState, req: unknown, ep: Endpoint): Promise<Attempt> {
  const remaining = tryRemainingMs(rt, call);
  if (remaining !== undefined && remaining <= 0) return Promise.resolve(deadlinePassed(call));
  const md = new grpc.Metadata();
  try {
    for (const k in call.headers) md.set(k, call.headers[k]!);
  } catch (err) {
    const error = new SwitchyardError(Code.InvalidArgument, `invalid request metadata: ${err instanceof Error ? err.message : String(err)}`);
    return Promise.resolve({ error, failure: { code: error.code, notRun: true, transport: false }, final: true });
  }
  const failingAtPick = !ep.reachable;
  if (!ep.ready && !failingAtPick) md.setOptions({ waitForReady: true });
  return new Promise<Attempt>((resolve) => {
    const signal = call.signal;
    const onAbort = () => c.cancel();
    const c = ep.client!.makeUnaryRequest(call.m.path, call.m.serialize, call.m.deserialize, req, md, remaining === undefined ? {} : { deadline: Date.now() + remaining }, (err, value) => {
      signal?.removeEventListener("abort", onAbort);
      if (!err) return resolve({ value });
      const error = fromGrpcError(err);
      const transport = isTransportFailure(err);
      resolve({ error, failure: { code: error.code, notRun: wasNotExecuted(error) || (failingAtPick && err.code === grpc.status.UNAVAILABLE), transport } });
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** One attempt in memory, to a co-hosted server. Never rejects. */
export async function sendLocal(rt: MeshRuntime, call: CallState, req: unknown, ep: Endpoint): Promise<Attempt> {
  const remaining = tryRemainingMs(rt, call);
  if (remaining !== undefined && remaining <= 0) return deadlinePassed(call);
  try {
    const value = await ep.local!.unary(call.m.path, req, { headers: call.headers, deadlineMs: remaining === undefined ? undefined : Date.now() + remaining, signal: call.signal, peer: `inproc:${rt.serviceName ?? "client"}` });
    return { value };
  } catch (err) {
    const error = SwitchyardError.from(err);
    return { error, failure: { code: error.code, notRun: wasNotExecuted(error), transport: false } };
  }
}

export function deadlinePassed(call: CallState): Attempt {
  const error = new SwitchyardError(Code.DeadlineExceeded, `the deadline of ${call.m.path} passed before the call could be sent`);
  return { error, failure: { code: Code.DeadlineExceeded, notRun: true, transport: false }, final: true };
}
