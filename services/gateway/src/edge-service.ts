import type { DescMethodServerStreaming, DescMethodUnary, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import type { Logger } from "@switchyard/core";
import { identityOf } from "./auth.js";
import { toConnectError } from "./http-errors.js";
import type { Identity } from "./identity.js";

/** What a method served at the edge knows about its call, whichever protocol (gRPC, Connect, REST) carried it. */
export interface EdgeCall {
  readonly identity: Identity;
  readonly signal: AbortSignal;
  /** What remains of the caller's deadline, if it set one. */
  readonly timeoutMs: number | undefined;
}

/** An edge implementation of a service, typed from its descriptor; methods left out are not served. */
export type EdgeImpl<S extends DescService> = {
  [K in keyof S["method"]]?: S["method"][K] extends DescMethodUnary<infer I, infer O>
    ? (req: MessageShape<I>, call: EdgeCall) => Promise<MessageInitShape<O>>
    : S["method"][K] extends DescMethodServerStreaming<infer I, infer O>
      ? (req: MessageShape<I>, call: EdgeCall) => AsyncIterable<MessageInitShape<O>>
      : never;
};

export type UnaryHandler = (req: unknown, call: EdgeCall) => Promise<unknown>;
export type StreamHandler = (req: unknown, call: EdgeCall) => AsyncIterable<unknown>;

/**
 * A service as the edge serves it: its descriptor and one protocol-neutral handler per method. The Connect router
 * and the REST transcoder both call these handlers; neither knows what is behind them (the mesh or the gateway).
 */
export interface EdgeService {
  readonly service: DescService;
  readonly handlers: ReadonlyMap<string, UnaryHandler | StreamHandler>;
  /**
   * Methods (local names) the audit log treats as reads whatever their descriptor says: data-plane calls made
   * thousands of times a second (ModelInfer), recorded only when refused (audit.ts).
   */
  readonly auditAsReads?: ReadonlySet<string>;
  /**
   * Answers are never compressed (compressed requests are still read): tensors of floats barely shrink — a 2 KiB
   * answer gzipped to 1.9 KiB for ~38 µs of CPU, 11–13% of the gateway's busy time under inference load (bench
   * `serving`).
   */
  readonly uncompressedAnswers?: boolean;
}

export function edgeService<S extends DescService>(service: S, impl: EdgeImpl<S>): EdgeService {
  const handlers = new Map<string, UnaryHandler | StreamHandler>();
  for (const m of service.methods) {
    const h = (impl as Record<string, UnaryHandler | StreamHandler | undefined>)[m.localName];
    if (h) handlers.set(m.localName, h);
  }
  return { service, handlers };
}

function callOf(ctx: HandlerContext): EdgeCall {
  return { identity: identityOf(ctx), signal: ctx.signal, timeoutMs: ctx.timeoutMs() };
}

/** Registers an edge service on a Connect router (gRPC, gRPC-Web, Connect), errors mapped to Connect's (toConnectError). */
export function routeConnect(router: ConnectRouter, edge: EdgeService, log?: Logger): void {
  const impl: Record<string, unknown> = {};
  for (const m of edge.service.methods) {
    const h = edge.handlers.get(m.localName);
    if (!h) continue;
    if (m.methodKind === "unary") {
      const unary = h as UnaryHandler;
      impl[m.localName] = async (req: unknown, ctx: HandlerContext) => {
        try {
          return await unary(req, callOf(ctx));
        } catch (err) {
          throw toConnectError(err, log, { method: `${edge.service.typeName}/${m.name}` });
        }
      };
    } else if (m.methodKind === "server_streaming") {
      const stream = h as StreamHandler;
      impl[m.localName] = async function* (req: unknown, ctx: HandlerContext) {
        try {
          yield* stream(req, callOf(ctx));
        } catch (err) {
          throw toConnectError(err, log, { method: `${edge.service.typeName}/${m.name}` });
        }
      };
    }
  }
  router.service(edge.service, impl as never, edge.uncompressedAnswers ? { compressMinBytes: Number.MAX_SAFE_INTEGER } : {});
}
