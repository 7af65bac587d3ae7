import type { DescService } from "@bufbuild/protobuf";
import { Code as ConnectCode, ConnectError, type HandlerContext, type ServiceImpl as ConnectServiceImpl } from "@connectrpc/connect";
import { SwitchyardError } from "@switchyard/core";
import type { CallOptions, MeshClient } from "@switchyard/mesh";
import { identityOf } from "./auth.js";

/** A SwitchyardError as Connect sends it: same code (Connect's codes are gRPC's), field violations in metadata. */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  const e = SwitchyardError.from(err);
  const metadata = new Headers();
  if (e.details.length > 0) metadata.set("x-switchyard-error-details", encodeURIComponent(JSON.stringify(e.details)));
  return new ConnectError(e.message, e.code as number as ConnectCode, metadata, undefined, err);
}

function callOptions(ctx: HandlerContext): CallOptions {
  const id = identityOf(ctx);
  const remaining = ctx.timeoutMs();
  return {
    signal: ctx.signal,
    ...(remaining !== undefined ? { timeoutMs: remaining } : {}),
    metadata: { "x-switchyard-user": id.user, "x-switchyard-teams": id.teams.join(","), "x-switchyard-role": id.role },
  };
}

/**
 * Serves `service` at the edge by forwarding every method to the mesh client of the service that owns it: one generic
 * path for unary and server-streaming methods, the caller's identity and deadline carried inward.
 */
export function forwardService<S extends DescService>(service: S, client: MeshClient<S>): Partial<ConnectServiceImpl<S>> {
  const impl: Record<string, unknown> = {};
  const c = client as unknown as Record<string, (req: unknown, o: CallOptions) => unknown>;
  for (const method of service.methods) {
    const call = c[method.localName]!;
    if (method.methodKind === "unary") {
      impl[method.localName] = async (req: unknown, ctx: HandlerContext) => {
        try {
          return await (call(req, callOptions(ctx)) as Promise<unknown>);
        } catch (err) {
          throw toConnectError(err);
        }
      };
    } else if (method.methodKind === "server_streaming") {
      impl[method.localName] = async function* (req: unknown, ctx: HandlerContext) {
        try {
          yield* call(req, callOptions(ctx)) as AsyncIterable<unknown>;
        } catch (err) {
          throw toConnectError(err);
        }
      };
    }
  }
  return impl as Partial<ConnectServiceImpl<S>>;
}
