import * as grpc from "@grpc/grpc-js";
import { create, type DescMethod, type DescService } from "@bufbuild/protobuf";
import { toGrpcServiceDefinition } from "./adapter.js";
import type { Registry } from "./registry.js";
import { REGISTRY_OPTION, bindRegistry, registerMeshResolver } from "./resolver.js";
import { fromGrpcError } from "./status.js";
import { IDENTITY_METADATA, type CallOptions, type MeshClient } from "./types.js";

export interface ClientOptions {
  /** `mesh:///service` (discovered through `registry`) or `host:port`. */
  target: string;
  registry?: Registry;
  /** Timeout for calls that set none (default 30 s); streaming calls default to none. */
  defaultTimeoutMs?: number;
  maxReceiveMessageBytes?: number;
  /** Metadata sent on every call (e.g. the calling service's name). */
  metadata?: Record<string, string>;
}

function metadataFor(base: Record<string, string>, o: CallOptions | undefined): grpc.Metadata {
  const md = new grpc.Metadata();
  for (const [k, v] of Object.entries(base)) md.set(k, v);
  if (o?.parent) for (const k of IDENTITY_METADATA) if (o.parent.metadata[k] !== undefined) md.set(k, o.parent.metadata[k]);
  for (const [k, v] of Object.entries(o?.metadata ?? {})) md.set(k, v);
  return md;
}

/** The deadline of a call: the per-call timeout or the default, never beyond what remains of the parent's. */
function deadlineFor(o: CallOptions | undefined, defaultMs: number | undefined): number | undefined {
  const own = o?.timeoutMs ?? defaultMs;
  let at = own !== undefined ? Date.now() + own : undefined;
  const parent = o?.parent?.deadlineMs;
  if (parent !== undefined) at = at === undefined ? parent : Math.min(at, parent);
  return at;
}

/** A typed gRPC client over grpc-js for a protobuf-es service, resolved through the mesh. */
export function createClient<S extends DescService>(service: S, options: ClientOptions): MeshClient<S> {
  const channelOptions: grpc.ChannelOptions = {
    "grpc.keepalive_time_ms": 30_000,
    "grpc.keepalive_timeout_ms": 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? 16 * 1024 * 1024,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 2000,
    "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }),
  };
  let target = options.target;
  if (target.startsWith("mesh:")) {
    if (!options.registry) throw new Error(`target ${target} needs a registry`);
    registerMeshResolver();
    channelOptions[REGISTRY_OPTION] = bindRegistry(options.registry);
  }
  const Ctor = grpc.makeGenericClientConstructor(toGrpcServiceDefinition(service), service.typeName);
  const client = new Ctor(target, grpc.credentials.createInsecure(), channelOptions);
  const baseMd = options.metadata ?? {};
  const defaultTimeoutMs = options.defaultTimeoutMs ?? 30_000;
  const out: Record<string, unknown> = { close: () => client.close() };

  for (const method of service.methods) {
    const def = toGrpcServiceDefinition(service)[method.localName]!;
    if (method.methodKind === "unary") {
      out[method.localName] = (req: unknown, o?: CallOptions) =>
        new Promise((resolve, reject) => {
          const deadline = deadlineFor(o, defaultTimeoutMs);
          const call = client.makeUnaryRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            create((method as DescMethod).input, req as never),
            metadataFor(baseMd, o),
            deadline !== undefined ? { deadline } : {},
            (err, res) => (err ? reject(fromGrpcError(err)) : resolve(res)),
          );
          const signals = [o?.signal, o?.parent?.signal].filter((s): s is AbortSignal => s !== undefined);
          for (const s of signals) s.addEventListener("abort", () => call.cancel(), { once: true });
        });
    } else {
      out[method.localName] = (req: unknown, o?: CallOptions) => ({
        async *[Symbol.asyncIterator]() {
          const deadline = deadlineFor(o, o?.timeoutMs);
          const stream = client.makeServerStreamRequest(
            def.path,
            def.requestSerialize,
            def.responseDeserialize,
            create((method as DescMethod).input, req as never),
            metadataFor(baseMd, o),
            deadline !== undefined ? { deadline } : {},
          );
          const signals = [o?.signal, o?.parent?.signal].filter((s): s is AbortSignal => s !== undefined);
          for (const s of signals) s.addEventListener("abort", () => stream.cancel(), { once: true });
          try {
            for await (const msg of stream) yield msg;
          } catch (err) {
            throw fromGrpcError(err as grpc.ServiceError);
          } finally {
            stream.cancel();
          }
        },
      });
    }
  }
  return out as MeshClient<S>;
}
