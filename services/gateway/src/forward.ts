import type { DescService } from "@bufbuild/protobuf";
import type { CallOptions, MeshClient } from "@switchyard/mesh";
import type { EdgeCall, EdgeService, StreamHandler, UnaryHandler } from "./edge-service.js";

function callOptions(call: EdgeCall): CallOptions {
  return {
    signal: call.signal,
    ...(call.timeoutMs !== undefined ? { timeoutMs: call.timeoutMs } : {}),
    // The verified identity, minted into a user token for the callee alone (mesh user-token.ts), and nothing else
    // from the client's headers: a client that sends x-switchyard-* headers itself never gets them past the edge.
    user: call.identity,
  };
}

/**
 * Serves `service` at the edge by forwarding every method to the mesh client of the service that owns it: one generic
 * path for unary and server-streaming methods, the caller's verified identity and deadline carried inward.
 */
export function forwardService<S extends DescService>(service: S, client: MeshClient<S>): EdgeService {
  const handlers = new Map<string, UnaryHandler | StreamHandler>();
  const c = client as unknown as Record<string, (req: unknown, o: CallOptions) => unknown>;
  for (const method of service.methods) {
    const call = c[method.localName];
    if (!call) continue;
    if (method.methodKind === "unary") handlers.set(method.localName, (req, edgeCall) => call(req, callOptions(edgeCall)) as Promise<unknown>);
    else if (method.methodKind === "server_streaming") handlers.set(method.localName, (req, edgeCall) => call(req, callOptions(edgeCall)) as AsyncIterable<unknown>);
  }
  return { service, handlers };
}
