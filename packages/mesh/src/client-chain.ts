import { compose, type Handler, type Policy } from "./client-call.js";
import { breaker, bulkhead, outlier, pick, throttle } from "./client-policy-admission.js";
import { destination, fallback, fault, observe, route } from "./client-policy-call.js";
import { retry } from "./client-policy-retry.js";
import { sendLocal, sendRemote } from "./client-send.js";
import { sendStream } from "./client-stream.js";

/**
 * The client's call path, one policy per concern, outermost first. Every call — unary or server streaming, to a
 * remote endpoint or a co-hosted one — goes through the same chain; only the last step, `send`, tells them apart.
 *
 *   observe      clientCall/fallback events, the client span
 *   fallback     the client's degraded answer for a destination's failure (only in chains of clients that have some)
 *   route        the matched route: UNIMPLEMENTED if none; signal, deadline, perTryTimeout
 *   fault        the route's injected delay and abort, once per call, with the `fault` event
 *   destination  the weighted subset: destination state, cluster, hash key
 *   retry        attempts: policy, idempotency, retries in flight, budget, backoff or pushback, another endpoint
 *   throttle     per attempt from here: adaptive throttling (admits, then learns whether the destination refused)
 *   outlier      outlier detection hears the attempt's code
 *   breaker      circuit breaker (admits, then records the code)
 *   bulkhead     client bulkhead, connectionPool (admits or queues, then gives the slot back)
 *   pick         balancer pick, the endpoint's in-flight count
 *   send         over the endpoint's grpc-js channel, or in memory to a co-hosted server
 *
 * On the way back, outcomes are learnt innermost first: in-flight count, bulkhead slot, breaker, outlier detection,
 * throttle — the order the call layer has always kept (so a failure that opens the breaker and ejects the endpoint
 * reports the breaker first).
 */
export function clientPolicies(o: { fallbacks: boolean }): Policy[] {
  return [observe, ...(o.fallbacks ? [fallback] : []), route, fault, destination, retry, throttle, outlier, breaker, bulkhead, pick];
}

/** The end of the chain: one attempt to the endpoint `pick` chose. */
export const send: Handler = (call) => {
  const ep = call.endpoint!;
  if (call.relay !== undefined) return sendStream(call, ep);
  return ep.local !== undefined ? sendLocal(call, ep) : sendRemote(call, ep);
};

/** Composed once per client (createClient). */
export function createClientChain(o: { fallbacks: boolean }): Handler {
  return compose(clientPolicies(o), send);
}
