import * as grpc from "@grpc/grpc-js";
import { Code, SwitchyardError } from "@switchyard/core";
import { failed, ok, type Call, type Failure, type Result } from "./client-call.js";
import type { Endpoint } from "./endpoint.js";
import { fromGrpcError, isTransportFailure, wasNotExecuted } from "./status.js";

/**
 * The end of the chain for unary calls: one attempt to the picked endpoint, over its grpc-js channel or in memory to a
 * co-hosted server, and what both call shapes share to start one. Never rejects: every outcome is a Result.
 */

/** What remains for this attempt: the call's deadline, cut by perTryTimeout. */
export function tryRemainingMs(call: Call): number | undefined {
  const remaining = call.deadlineAt === undefined ? undefined : call.deadlineAt - call.rt.clock.now();
  if (call.perTryMs === undefined) return remaining;
  return remaining === undefined ? call.perTryMs : Math.min(remaining, call.perTryMs);
}

export function deadlinePassed(call: Call, ep: Endpoint): Failure {
  const error = new SwitchyardError(Code.DeadlineExceeded, `the deadline of ${call.m.path} passed before the call could be sent`);
  return failed(error, ep, true, false, true);
}

/** The call's headers as grpc-js metadata, or the failure of a header grpc-js refuses. */
export function metadataOf(call: Call, ep: Endpoint): grpc.Metadata | Failure {
  const md = new grpc.Metadata();
  try {
    for (const k in call.headers) md.set(k, call.headers[k]!);
  } catch (err) {
    return failed(new SwitchyardError(Code.InvalidArgument, `invalid request metadata: ${err instanceof Error ? err.message : String(err)}`), ep, true, false, true);
  }
  return md;
}

/** One attempt over the endpoint's channel. */
export function sendRemote(call: Call, ep: Endpoint): Result | Promise<Result> {
  const remaining = tryRemainingMs(call);
  if (remaining !== undefined && remaining <= 0) return deadlinePassed(call, ep);
  const md = metadataOf(call, ep);
  if (!(md instanceof grpc.Metadata)) return md;
  const failingAtPick = !ep.reachable;
  if (!ep.ready && !failingAtPick) md.setOptions({ waitForReady: true });
  return new Promise<Result>((resolve) => {
    const signal = call.signal;
    const onAbort = () => c.cancel();
    const c = ep.client!.makeUnaryRequest(call.m.path, call.m.serialize, call.m.deserialize, call.request, md, remaining === undefined ? {} : { deadline: Date.now() + remaining }, (err, value) => {
      signal?.removeEventListener("abort", onAbort);
      if (!err) return resolve(ok(value, ep));
      const error = fromGrpcError(err);
      resolve(failed(error, ep, wasNotExecuted(error) || (failingAtPick && err.code === grpc.status.UNAVAILABLE), isTransportFailure(err)));
    });
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** One attempt in memory, to a co-hosted server. */
export async function sendLocal(call: Call, ep: Endpoint): Promise<Result> {
  const remaining = tryRemainingMs(call);
  if (remaining !== undefined && remaining <= 0) return deadlinePassed(call, ep);
  try {
    const value = await ep.local!.unary(call.m.path, call.request, { headers: call.headers, deadlineMs: remaining === undefined ? undefined : Date.now() + remaining, signal: call.signal, peer: call.client.localPeer, callerId: call.rt.credentials?.id, callerService: call.rt.serviceName });
    return ok(value, ep);
  } catch (err) {
    const error = SwitchyardError.from(err);
    return failed(error, ep, wasNotExecuted(error), false);
  }
}
