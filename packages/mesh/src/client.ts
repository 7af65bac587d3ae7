import type * as grpc from "@grpc/grpc-js";
import { create, type DescMethod, type DescMethodUnary, type DescService, type MessageInitShape, type MessageShape } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel as Idempotency } from "@bufbuild/protobuf/wkt";
import type { SwitchyardError } from "@switchyard/core";
import { toGrpcServiceDefinition } from "./adapter.js";
import type { Fallback, MethodInfo } from "./client-call.js";
import { Invoker } from "./client-invoker.js";
import type { Registry } from "./registry.js";
import { defaultMeshRuntime, type MeshRuntime } from "./runtime.js";
import type { CallOptions, MeshClient } from "./types.js";

/**
 * Degraded answers per unary method (by its local name, e.g. `getJob`): called with the request and the error when a
 * call fails because of the destination — breaker open, no instance, overload, timeout, UNAVAILABLE, INTERNAL — never
 * for the request's own errors (INVALID_ARGUMENT, NOT_FOUND…) or a caller's cancel. It may answer (a cached or partial
 * result) or throw (the original error or another).
 */
export type Fallbacks<S extends DescService> = {
  [K in keyof S["method"]]?: S["method"][K] extends DescMethodUnary<infer I, infer O>
    ? (request: MessageShape<I>, error: SwitchyardError) => MessageInitShape<O> | Promise<MessageInitShape<O>>
    : never;
};

export interface ClientOptions<S extends DescService = DescService> {
  /** `mesh:///service` (discovered through `registry`) or `host:port`. */
  target: string;
  registry?: Registry;
  /** Timeout for unary calls that set none and whose route sets none (default 30 s); streams default to none. */
  defaultTimeoutMs?: number;
  maxReceiveMessageBytes?: number;
  /** Largest message the client sends (default 16 MiB). */
  maxSendMessageBytes?: number;
  /** Client keepalive pings (on by default: every 30 s, 10 s to answer, also without calls). */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** Metadata sent on every call (e.g. the calling service's name). */
  metadata?: Record<string, string>;
  /** Policies, events, clock, co-hosting table and tracing shared by the process (createMeshRuntime). */
  runtime?: MeshRuntime;
  /**
   * The SPIFFE id the server must prove with its certificate when the runtime has credentials (mutual TLS). Default:
   * the platform service of a mesh target (`mesh:///jobs` → `spiffe://<td>/ns/system/sa/jobs`); for an address, any
   * platform service.
   */
  peer?: string;
  /** Watch grpc.health.v1 on each endpoint and take NOT_SERVING ones out of rotation (default true for mesh targets). */
  healthCheck?: boolean;
  fallbacks?: Fallbacks<S>;
}

function methodInfo(service: DescService, method: DescMethod): MethodInfo {
  const def = toGrpcServiceDefinition(service)[method.localName]!;
  return {
    path: def.path,
    service: service.typeName,
    name: method.name,
    type: method.methodKind === "unary" ? "unary" : "server_stream",
    idempotent: method.idempotency === Idempotency.NO_SIDE_EFFECTS || method.idempotency === Idempotency.IDEMPOTENT,
    serialize: def.requestSerialize,
    deserialize: def.responseDeserialize,
  };
}

/**
 * A typed client for a protobuf-es service, governed by the mesh: discovery by watch, balancing, routes, retries,
 * deadlines, outlier ejection, breakers, bulkheads, fallbacks, health, metrics and traces (the chain of
 * client-chain.ts, the same for unary and streaming methods), over one grpc-js channel per endpoint — or in memory to
 * a co-hosted server.
 */
export function createClient<S extends DescService>(service: S, options: ClientOptions<S>): MeshClient<S> {
  const rt = options.runtime ?? defaultMeshRuntime();
  const isMesh = options.target.startsWith("mesh:");
  const host = isMesh ? options.target.replace(/^mesh:(\/\/\/?)?/, "") : options.target;
  if (isMesh && !options.registry && !rt.local) throw new Error(`target ${options.target} needs a registry (or a runtime with co-hosted servers)`);
  const channelOptions: grpc.ChannelOptions = {
    "grpc.keepalive_time_ms": options.keepaliveTimeMs ?? 30_000,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs ?? 10_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? 16 * 1024 * 1024,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? 16 * 1024 * 1024,
    "grpc.initial_reconnect_backoff_ms": 100,
    "grpc.max_reconnect_backoff_ms": 2000,
    "grpc.enable_retries": 0,
    // With mutual TLS the server is checked by its SPIFFE id (credentials.ts), not a host name; a fixed server name
    // keeps an IP address out of SNI (RFC 6066 forbids it; Node warns).
    ...(rt.credentials ? { "grpc.ssl_target_name_override": "mesh.switchyard.internal" } : {}),
  };
  const fallbacks: Record<string, Fallback> = {};
  for (const method of service.methods) {
    const fb = (options.fallbacks as Record<string, ((req: unknown, err: SwitchyardError) => unknown) | undefined> | undefined)?.[method.localName];
    if (fb !== undefined) fallbacks[method.name] = async (req, err) => create(method.output, (await fb(req, err)) as never);
  }
  const invoker = new Invoker(rt, {
    host,
    source: { ...(isMesh ? (options.registry ? { registry: options.registry } : {}) : { address: options.target }), ...(options.peer !== undefined ? { peer: options.peer } : {}) },
    channelOptions,
    healthCheck: options.healthCheck ?? isMesh,
    baseHeaders: { ...(options.metadata ?? {}) },
    defaultTimeoutMs: options.defaultTimeoutMs ?? 30_000,
    fallbacks,
  });
  const out: Record<string, unknown> = { close: () => invoker.close() };
  for (const method of service.methods) {
    const m = methodInfo(service, method);
    const input = method.input;
    if (m.type === "unary") out[method.localName] = (req: unknown, o?: CallOptions) => invoker.unary(m, create(input, req as never), o);
    else out[method.localName] = (req: unknown, o?: CallOptions) => invoker.stream(m, create(input, req as never), o);
  }
  return out as MeshClient<S>;
}
