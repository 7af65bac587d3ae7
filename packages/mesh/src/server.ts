import * as grpc from "@grpc/grpc-js";
import { create, type DescService } from "@bufbuild/protobuf";
import { Health } from "@switchyard/api";
import { Code, SwitchyardError, claimSocketPath, newUid, noopLogger, sleep, type Logger } from "@switchyard/core";
import { toGrpcServiceDefinition } from "./adapter.js";
import { HealthState, ServingStatus, healthService } from "./health.js";
import { peerIdOf } from "./credentials.js";
import { spiffeIdOfXfcc } from "./policy-stand-down.js";
import type { LocalCallInit, LocalServer } from "./local-transport.js";
import { DEFAULT_LEASE_TTL_MS, type Lease, type Registry } from "./registry.js";
import { defaultMeshRuntime, type MeshRuntime } from "./runtime.js";
import { ServerCore, type MethodEntry } from "./server-chain.js";
import { markRejected, toGrpcError } from "./status.js";
import type { CallContext, ServiceImpl } from "./types.js";

export interface ServerOptions {
  /** The name instances register under, e.g. "jobs" (the target `mesh:///jobs`). */
  name: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  /**
   * Listen on this Unix socket instead of host:port (the address becomes `unix:<path>`). Put it in a directory only the
   * service's user can enter, and only that user can connect. A stale socket left by a crash is replaced; a live one
   * (another server still answering on it) is refused.
   */
  socketPath?: string;
  registry?: Registry;
  /**
   * With credentials: method paths that take calls from a client without a certificate (the CA's Enroll). The TLS
   * handshake then asks for a certificate without requiring one, and the server chain refuses every other method
   * without a verified one. Empty (the default): a client without a certificate of the CA fails the handshake.
   */
  openMethods?: readonly string[];
  /**
   * Path prefixes AuthorizationPolicies do not apply to (control's CA and config center: a wrong policy must never
   * lock workloads out of enrolment or the operator out of the policies that would repair it).
   */
  authzExempt?: readonly string[];
  labels?: Record<string, string>;
  /** The registry lease (default DEFAULT_LEASE_TTL_MS, 6 s), renewed every third of it. */
  leaseTtlMs?: number;
  maxReceiveMessageBytes?: number;
  /** Largest message the server sends (default 16 MiB). */
  maxSendMessageBytes?: number;
  /** Server keepalive pings on idle connections (default every 60 s, 20 s to answer). */
  keepaliveTimeMs?: number;
  keepaliveTimeoutMs?: number;
  /** Policies, events, clock, co-hosting table and tracing shared by the process (createMeshRuntime). */
  runtime?: MeshRuntime;
  /** Bind a port and serve gRPC (default true). false: co-hosted only, reachable through the runtime's local table. */
  listen?: boolean;
  logger?: Logger;
}

export interface MeshServer {
  add<S extends DescService>(service: S, impl: ServiceImpl<S>): MeshServer;
  /** Binds, serves, and registers in the registry. Returns the bound address (host:port), or `inproc:name/id`. */
  start(): Promise<string>;
  /** NOT_SERVING, deregister, drain in-flight calls up to `graceMs`, close. */
  stop(graceMs?: number): Promise<void>;
  readonly health: HealthState;
  readonly address: string | undefined;
}

const CANCELLED = new SwitchyardError(Code.Canceled, "cancelled by the caller (or the call ended)");

/**
 * The context of a gRPC call. The AbortController and the peer string are made only when a handler reads them: grpc-js
 * emits "cancelled" at the end of every call, and most handlers never look at their signal, so eagerly wiring one per
 * call cost ~5% of the server's CPU.
 */
/** A peer address (grpc-js `getPeer()`) on this machine's loopback, or a Unix socket: where a sidecar connects from. */
export function fromLocalPeer(peer: string): boolean {
  return peer.startsWith("unix:") || /^(ipv4:)?127\./.test(peer) || /^(ipv6:)?\[?(::1|::ffff:127\.)/.test(peer);
}

class GrpcCallContext implements CallContext {
  readonly metadata: Record<string, string> = {};
  readonly deadlineMs: number | undefined;
  callerService: string | undefined;
  callerId: string | undefined;
  /** istio mode: the sidecar's x-forwarded-client-cert ("" when absent); undefined otherwise (the peer certificate). */
  private readonly xfcc: string | undefined;
  private abort: AbortController | undefined;

  constructor(
    private readonly call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>,
    readonly method: string,
    istio: boolean,
  ) {
    const map = call.metadata.getMap();
    for (const k in map) if (typeof map[k] === "string") this.metadata[k] = map[k] as string;
    // The sidecar's word on the caller counts in istio mode only, only from the sidecar (it connects over loopback or
    // a Unix socket: a caller from elsewhere that sends the header is no one), and is never passed on.
    this.xfcc = istio ? (fromLocalPeer(call.getPeer()) ? (this.metadata[XFCC] ?? "") : "") : undefined;
    delete this.metadata[XFCC];
    const deadline = call.getDeadline();
    this.deadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : undefined;
  }

  get signal(): AbortSignal {
    if (this.abort === undefined) {
      const abort = (this.abort = new AbortController());
      if (this.call.cancelled) abort.abort(CANCELLED);
      else this.call.once("cancelled", () => abort.abort(CANCELLED));
    }
    return this.abort.signal;
  }

  get peer(): string {
    return this.call.getPeer();
  }

  get peerId(): string | undefined {
    return this.xfcc !== undefined ? spiffeIdOfXfcc(this.xfcc) : peerIdOf(this.call);
  }
}

const XFCC = "x-forwarded-client-cert";

function contextOf(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, path: string, istio: boolean): CallContext {
  return new GrpcCallContext(call, path, istio);
}

/** The context of a co-hosted call: its deadline and the caller's cancellation abort the handler's signal. */
function localContext(init: LocalCallInit, path: string, rt: MeshRuntime): { ctx: CallContext; done: () => void } {
  const abort = new AbortController();
  const onAbort = () => abort.abort(new SwitchyardError(Code.Canceled, "cancelled by the caller"));
  init.signal?.addEventListener("abort", onAbort, { once: true });
  const timer = init.deadlineMs !== undefined ? rt.clock.setTimeout(() => abort.abort(new SwitchyardError(Code.DeadlineExceeded, "deadline exceeded")), init.deadlineMs - Date.now()) : undefined;
  // A copy: the server chain takes the proof out of it, and the caller may send the same headers again (a retry).
  const ctx: CallContext = { metadata: { ...init.headers }, signal: abort.signal, deadlineMs: init.deadlineMs, method: path, peer: init.peer, peerId: init.callerId };
  // Without credentials the server takes the co-hosted caller's word for its name (it is this process); with them,
  // the server chain sets callerService from the caller's identity as for any call.
  if (rt.credentials === undefined && init.callerService !== undefined) ctx.callerService = init.callerService;
  return {
    ctx,
    done: () => {
      init.signal?.removeEventListener("abort", onAbort);
      if (timer !== undefined) rt.clock.clearTimeout(timer);
    },
  };
}

export function createServer(options: ServerOptions): MeshServer {
  const o = {
    host: options.host ?? "127.0.0.1",
    port: options.port ?? 0,
    labels: { service: options.name, ...(options.labels ?? {}) },
    leaseTtlMs: options.leaseTtlMs ?? DEFAULT_LEASE_TTL_MS,
    logger: options.logger ?? noopLogger,
    rt: options.runtime ?? defaultMeshRuntime(),
    listen: options.listen ?? true,
  };
  const server = new grpc.Server({
    "grpc.max_receive_message_length": options.maxReceiveMessageBytes ?? 16 * 1024 * 1024,
    "grpc.max_send_message_length": options.maxSendMessageBytes ?? 16 * 1024 * 1024,
    "grpc.keepalive_time_ms": options.keepaliveTimeMs ?? 60_000,
    "grpc.keepalive_timeout_ms": options.keepaliveTimeoutMs ?? 20_000,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 5000,
  });
  const openMethods = new Set(options.openMethods ?? []);
  const core = new ServerCore(options.name, o.rt, openMethods, options.authzExempt ?? []);
  const health = new HealthState();
  let lease: Lease | undefined;
  let keepAliveTimer: NodeJS.Timeout | undefined;
  let address: string | undefined;
  let leaveLocal: (() => void) | undefined;
  const instanceId = newUid();

  function add<S extends DescService>(service: S, impl: ServiceImpl<S>): MeshServer {
    core.add(service, impl);
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of service.methods) {
      const entry = core.methods.get(`/${service.typeName}/${method.name}`)!;
      if (entry.type === "unary") {
        handlers[method.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          core.unary(entry, call.request, contextOf(call, entry.path, o.rt.mode === "istio")).then(
            (res) => cb(null, res),
            (err: unknown) => cb(toGrpcError(err)),
          );
        };
      } else {
        handlers[method.localName] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          const ctx = contextOf(call, entry.path, o.rt.mode === "istio");
          void (async () => {
            try {
              for await (const msg of core.stream(entry, call.request, ctx)) {
                if (ctx.signal.aborted) break;
                if (!call.write(msg)) await new Promise((r) => call.once("drain", r));
              }
              if (!ctx.signal.aborted) call.end();
            } catch (err) {
              if (!ctx.signal.aborted) call.emit("error", toGrpcError(err));
            }
          })();
        };
      }
    }
    if (o.listen) server.addService(toGrpcServiceDefinition(service), handlers);
    health.set(service.typeName, ServingStatus.SERVING);
    return api;
  }

  const local: LocalServer = {
    name: options.name,
    instanceId,
    labels: o.labels,
    health,
    has: (path) => core.methods.has(path),
    async unary(path, request, init) {
      const e = entryOf(path);
      const { ctx, done } = localContext(init, path, o.rt);
      try {
        return create(e.output, (await core.unary(e, request, ctx)) as never);
      } finally {
        done();
      }
    },
    async *stream(path, request, init) {
      const e = entryOf(path);
      const { ctx, done } = localContext(init, path, o.rt);
      try {
        for await (const m of core.stream(e, request, ctx)) yield create(e.output, m as never);
      } finally {
        done();
      }
    },
  };
  function entryOf(path: string): MethodEntry {
    const e = core.methods.get(path);
    if (e === undefined) throw markRejected(new SwitchyardError(Code.Unimplemented, `${options.name} does not serve ${path}`));
    return e;
  }

  async function register(): Promise<void> {
    if (!options.registry || !address || !o.listen) return;
    lease = await options.registry.register({ service: options.name, address, labels: o.labels, instanceId }, o.leaseTtlMs);
  }

  async function start(): Promise<string> {
    add(Health, healthService(health));
    if (o.listen) {
      if (options.socketPath !== undefined) await claimSocketPath(options.socketPath);
      const bindTo = options.socketPath !== undefined ? `unix:${options.socketPath}` : `${o.host}:${o.port}`;
      const port = await new Promise<number>((resolve, reject) =>
        server.bindAsync(bindTo, o.rt.credentials && o.rt.mode !== "istio" ? o.rt.credentials.serverCredentials(openMethods.size === 0) : grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
      );
      address = options.socketPath !== undefined ? bindTo : `${o.host}:${port}`;
    } else address = `inproc:${options.name}/${instanceId}`;
    health.set("", ServingStatus.SERVING);
    leaveLocal = o.rt.local?.register(local);
    if (options.registry && o.listen) {
      const reg = options.registry;
      await register();
      keepAliveTimer = setInterval(() => {
        const renew = lease ? reg.keepAlive(lease.leaseId) : Promise.resolve(false);
        renew
          .then((found) => (found ? undefined : register()))
          .catch((err: unknown) => o.logger.warn({ err: String(err) }, "registry lease renewal failed; will retry"));
      }, Math.max(200, Math.floor(o.leaseTtlMs / 3)));
      keepAliveTimer.unref();
    }
    o.logger.info({ address, service: options.name }, "serving");
    return address;
  }

  async function stop(graceMs = 5000): Promise<void> {
    health.setAll(ServingStatus.NOT_SERVING);
    leaveLocal?.();
    if (keepAliveTimer) clearInterval(keepAliveTimer);
    if (options.registry && lease) await options.registry.deregister(lease.leaseId).catch(() => undefined);
    health.end();
    if (core.inflight > 0) await Promise.race([core.idle(), sleep(graceMs)]);
    if (!o.listen) return;
    await new Promise<void>((resolve) => {
      const force = setTimeout(() => {
        server.forceShutdown();
        resolve();
      }, 200);
      server.tryShutdown(() => {
        clearTimeout(force);
        resolve();
      });
    });
  }

  const api: MeshServer = {
    add,
    start,
    stop,
    health,
    get address() {
      return address;
    },
  };
  return api;
}
