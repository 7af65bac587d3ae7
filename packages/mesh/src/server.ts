import * as grpc from "@grpc/grpc-js";
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { Health } from "@switchyard/api";
import { newUid, noopLogger, sleep, type Logger } from "@switchyard/core";
import { methodPath, toGrpcServiceDefinition } from "./adapter.js";
import { HealthState, ServingStatus, healthService } from "./health.js";
import type { Lease, Registry } from "./registry.js";
import { toGrpcError } from "./status.js";
import type { CallContext, ServiceImpl } from "./types.js";

export interface ServerOptions {
  /** The name instances register under, e.g. "jobs" (the target `mesh:///jobs`). */
  name: string;
  host?: string;
  /** 0 (default) picks a free port. */
  port?: number;
  registry?: Registry;
  labels?: Record<string, string>;
  leaseTtlMs?: number;
  maxReceiveMessageBytes?: number;
  logger?: Logger;
}

export interface MeshServer {
  add<S extends DescService>(service: S, impl: ServiceImpl<S>): MeshServer;
  /** Binds, serves, and registers in the registry. Returns the bound address (host:port). */
  start(): Promise<string>;
  /** NOT_SERVING, deregister, drain in-flight calls up to `graceMs`, close. */
  stop(graceMs?: number): Promise<void>;
  readonly health: HealthState;
  readonly address: string | undefined;
}

interface Compiled {
  name: string;
  host: string;
  port: number;
  registry: Registry | undefined;
  labels: Record<string, string>;
  leaseTtlMs: number;
  maxReceiveMessageBytes: number;
  logger: Logger;
}

function compileServerOptions(o: ServerOptions): Compiled {
  return {
    name: o.name,
    host: o.host ?? "127.0.0.1",
    port: o.port ?? 0,
    registry: o.registry,
    labels: { service: o.name, ...(o.labels ?? {}) },
    leaseTtlMs: o.leaseTtlMs ?? 6000,
    maxReceiveMessageBytes: o.maxReceiveMessageBytes ?? 16 * 1024 * 1024,
    logger: o.logger ?? noopLogger,
  };
}

function contextOf(call: grpc.ServerUnaryCall<unknown, unknown> | grpc.ServerWritableStream<unknown, unknown>, method: DescMethod): { ctx: CallContext; abort: AbortController } {
  const abort = new AbortController();
  const md: Record<string, string> = {};
  for (const [k, v] of Object.entries(call.metadata.getMap())) if (typeof v === "string") md[k] = v;
  const deadline = call.getDeadline();
  const deadlineMs = deadline instanceof Date ? deadline.getTime() : Number.isFinite(deadline) ? Number(deadline) : undefined;
  call.on("cancelled", () => abort.abort(new Error("cancelled by the caller")));
  return { ctx: { metadata: md, signal: abort.signal, deadlineMs, method: methodPath(method), peer: call.getPeer() }, abort };
}

export function createServer(options: ServerOptions): MeshServer {
  const o = compileServerOptions(options);
  const server = new grpc.Server({
    "grpc.max_receive_message_length": o.maxReceiveMessageBytes,
    "grpc.keepalive_permit_without_calls": 1,
    "grpc.http2.min_ping_interval_without_data_ms": 5000,
  });
  const health = new HealthState();
  let inflight = 0;
  let drained: (() => void) | undefined;
  let lease: Lease | undefined;
  let keepAliveTimer: NodeJS.Timeout | undefined;
  let address: string | undefined;
  const instanceId = newUid();

  const done = () => {
    inflight--;
    if (inflight === 0) drained?.();
  };

  function add<S extends DescService>(service: S, impl: ServiceImpl<S>): MeshServer {
    const handlers: grpc.UntypedServiceImplementation = {};
    for (const method of service.methods) {
      const fn = (impl as Record<string, (req: unknown, ctx: CallContext) => unknown>)[method.localName];
      if (typeof fn !== "function") throw new Error(`${methodPath(method)} has no handler`);
      if (method.methodKind === "unary") {
        handlers[method.localName] = (call: grpc.ServerUnaryCall<unknown, unknown>, cb: grpc.sendUnaryData<unknown>) => {
          inflight++;
          const { ctx } = contextOf(call, method);
          Promise.resolve()
            .then(() => fn.call(impl, call.request, ctx) as Promise<unknown>)
            .then((res) => cb(null, res), (err: unknown) => cb(toGrpcError(err)))
            .finally(done);
        };
      } else {
        handlers[method.localName] = (call: grpc.ServerWritableStream<unknown, unknown>) => {
          inflight++;
          const { ctx } = contextOf(call, method);
          void (async () => {
            try {
              for await (const msg of fn.call(impl, call.request, ctx) as AsyncIterable<unknown>) {
                if (ctx.signal.aborted) break;
                if (!call.write(msg)) await new Promise((r) => call.once("drain", r));
              }
              if (!ctx.signal.aborted) call.end();
            } catch (err) {
              if (!ctx.signal.aborted) call.emit("error", toGrpcError(err));
            } finally {
              done();
            }
          })();
        };
      }
    }
    server.addService(toGrpcServiceDefinition(service), handlers);
    health.set(service.typeName, ServingStatus.SERVING);
    return api;
  }

  async function register(): Promise<void> {
    if (!o.registry || !address) return;
    lease = await o.registry.register({ service: o.name, address, labels: o.labels, instanceId }, o.leaseTtlMs);
  }

  async function start(): Promise<string> {
    add(Health, healthService(health));
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync(`${o.host}:${o.port}`, grpc.ServerCredentials.createInsecure(), (err, p) => (err ? reject(err) : resolve(p))),
    );
    address = `${o.host}:${port}`;
    health.set("", ServingStatus.SERVING);
    if (o.registry) {
      await register();
      keepAliveTimer = setInterval(() => {
        const reg = o.registry!;
        const renew = lease ? reg.keepAlive(lease.leaseId) : Promise.resolve(false);
        renew
          .then((found) => (found ? undefined : register()))
          .catch((err: unknown) => o.logger.warn({ err: String(err) }, "registry lease renewal failed; will retry"));
      }, Math.max(200, Math.floor(o.leaseTtlMs / 3)));
      keepAliveTimer.unref();
    }
    o.logger.info({ address, service: o.name }, "serving");
    return address;
  }

  async function stop(graceMs = 5000): Promise<void> {
    health.setAll(ServingStatus.NOT_SERVING);
    if (keepAliveTimer) clearInterval(keepAliveTimer);
    if (o.registry && lease) await o.registry.deregister(lease.leaseId).catch(() => undefined);
    if (inflight > 0) {
      await Promise.race([new Promise<void>((r) => (drained = r)), sleep(graceMs)]);
    }
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
