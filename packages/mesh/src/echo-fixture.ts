import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { MessageInitShape } from "@bufbuild/protobuf";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import { Echo, type EchoRequest, type EchoResponseSchema } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
import type { Registry } from "./registry.js";
import type { MeshRuntime } from "./runtime.js";
import { createServer, type MeshServer } from "./server.js";
import type { CallContext, MeshClient, ServiceImpl } from "./types.js";

/**
 * The echo service the mesh's tests, its benchmark and interop checks run against real sockets: in process
 * (startEcho) or as a child process that can be SIGKILLed (spawnEcho).
 */

/**
 * What an echo instance does besides answering; tests change it while traffic flows. (A request's own knobs: `delayMs`
 * waits before answering, before each message of a stream; `failCode` fails after that, a stream after its `count`
 * messages.)
 */
export interface EchoBehavior {
  /** Extra wait before answering (ms, real time, aborted with the call). */
  delayMs: number;
  /** Fail every call with this gRPC code at once, before any wait or message (0 = answer). */
  failCode: number;
}

/** Waits `ms` unless the call ends first (reading ctx.signal only when there is something to wait for). */
function wait(ms: number, ctx: CallContext): Promise<void> | undefined {
  if (ms <= 0) return undefined;
  const signal = ctx.signal;
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), reject(signal.reason)), { once: true });
  });
}

/** The echo handlers. `next(host)` gives a client for Relay's next hop. */
export function echoImpl(id: string, behavior: EchoBehavior, counters: { calls: number }, next?: (host: string) => MeshClient<typeof Echo>): ServiceImpl<typeof Echo> {
  const fail = (code: number) => {
    if (code !== 0) throw new SwitchyardError(code as Code, `echo ${id} fails with code ${code} as asked`);
  };
  const respond = (req: EchoRequest, ctx: CallContext): MessageInitShape<typeof EchoResponseSchema> => {
    fail(req.failCode || behavior.failCode);
    const seen: Record<string, string> = {};
    for (const k of ["traceparent", "x-switchyard-user"]) if (ctx.metadata[k] !== undefined) seen[k] = ctx.metadata[k];
    if (ctx.callerService !== undefined) seen["caller-service"] = ctx.callerService;
    if (ctx.callerId !== undefined) seen["caller-id"] = ctx.callerId;
    return { payload: req.payload, instance: id, deadlineRemainingMs: ctx.deadlineMs === undefined ? -1n : BigInt(ctx.deadlineMs - Date.now()), seen };
  };
  const answer = async (req: EchoRequest, ctx: CallContext) => {
    counters.calls++;
    fail(behavior.failCode);
    await wait(behavior.delayMs + req.delayMs, ctx);
    return respond(req, ctx);
  };
  return {
    echo: answer,
    write: answer,
    async relay(req, ctx) {
      counters.calls++;
      fail(behavior.failCode);
      await wait(behavior.delayMs + req.delayMs, ctx);
      const [hop, ...rest] = req.hops;
      if (hop === undefined || next === undefined) return respond(req, ctx);
      const r = await next(hop).relay({ payload: req.payload, hops: rest }, { parent: ctx });
      return { payload: r.payload, instance: `${id}>${r.instance}`, deadlineRemainingMs: r.deadlineRemainingMs, seen: r.seen };
    },
    async *stream(req, ctx) {
      counters.calls++;
      fail(behavior.failCode);
      for (let i = 0; i < req.count; i++) {
        await wait(req.delayMs, ctx);
        yield { payload: req.payload, instance: id };
      }
      fail(req.failCode);
    },
  };
}

export interface EchoInstance {
  readonly id: string;
  readonly server: MeshServer;
  readonly address: string;
  readonly behavior: EchoBehavior;
  readonly counters: { calls: number };
  stop(): Promise<void>;
}

export interface StartEchoOptions {
  id: string;
  name?: string;
  registry?: Registry;
  runtime?: MeshRuntime;
  labels?: Record<string, string>;
  listen?: boolean;
  leaseTtlMs?: number;
}

/** An echo server in this process, registered as `name` (default "echo"). */
export async function startEcho(o: StartEchoOptions): Promise<EchoInstance> {
  const behavior: EchoBehavior = { delayMs: 0, failCode: 0 };
  const counters = { calls: 0 };
  const clients = new Map<string, MeshClient<typeof Echo>>();
  const next = (host: string) => {
    let c = clients.get(host);
    if (c === undefined) clients.set(host, (c = createClient(Echo, { target: `mesh:///${host}`, ...(o.registry ? { registry: o.registry } : {}), ...(o.runtime ? { runtime: o.runtime } : {}) })));
    return c;
  };
  const server = createServer({ name: o.name ?? "echo", labels: { id: o.id, ...(o.labels ?? {}) }, leaseTtlMs: o.leaseTtlMs ?? 2000, ...(o.registry ? { registry: o.registry } : {}), ...(o.runtime ? { runtime: o.runtime } : {}), ...(o.listen === false ? { listen: false } : {}) });
  server.add(Echo, echoImpl(o.id, behavior, counters, next));
  const address = await server.start();
  return {
    id: o.id,
    server,
    address,
    behavior,
    counters,
    async stop() {
      for (const c of clients.values()) c.close();
      await server.stop(200);
    },
  };
}

export interface EchoChild {
  readonly address: string;
  /** The raw grpc-js server's address, when started with `raw`. */
  readonly rawAddress: string | undefined;
  readonly proc: ChildProcess;
  /** What the child reported when it was stopped with SIGTERM (answered calls, server-side p50/p99, RSS). */
  readonly stats: { answered: number; p50Ms: number; p99Ms: number; timerLateP50Ms: number; timerLateMeanMs: number; rssMb: number; heapMb: number } | undefined;
  /** Heap in use when it became ready (after a full GC when started with --expose-gc). */
  readonly readyHeapMb: number;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

/** An echo server in a child process (dist/echo-child.js), for SIGKILL and for keeping a benchmark's server off its client's CPU. */
export async function spawnEcho(args: string[], env: Record<string, string> = {}, execArgv: string[] = []): Promise<EchoChild> {
  const file = fileURLToPath(new URL("./echo-child.js", import.meta.url)).replace(/\/src\/echo-child\.js$/, "/dist/echo-child.js");
  const proc = spawn(process.execPath, [...execArgv, file, ...args], { stdio: ["ignore", "pipe", "inherit"], env: { ...process.env, ...env } });
  let stats: EchoChild["stats"];
  const ready = await new Promise<{ address: string; raw?: string; heapMb: number }>((resolve, reject) => {
    createInterface({ input: proc.stdout! }).on("line", (l) => {
      if (l.startsWith("ECHO_READY ")) resolve(JSON.parse(l.slice(11)) as { address: string; raw?: string; heapMb: number });
      if (l.startsWith("ECHO_STATS ")) stats = JSON.parse(l.slice(11)) as EchoChild["stats"];
    });
    proc.once("exit", (c) => reject(new Error(`echo child exited with ${c}`)));
  });
  const exited = new Promise<void>((r) => proc.once("close", () => r()));
  return {
    address: ready.address,
    rawAddress: ready.raw,
    readyHeapMb: ready.heapMb,
    proc,
    get stats() {
      return stats;
    },
    async kill(signal = "SIGKILL") {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
      await exited;
    },
  };
}

/**
 * Registers a child's address under a lease renewed from here while the child lives, as `control` would while the
 * child sent keepalives: when the child dies, renewals stop and the lease runs out after `ttlMs`.
 */
export async function registerWhileAlive(registry: Registry, child: EchoChild, name: string, id: string, labels: Record<string, string>, ttlMs: number): Promise<void> {
  const lease = await registry.register({ service: name, address: child.address, labels: { id, ...labels }, instanceId: id }, ttlMs);
  const timer = setInterval(() => void registry.keepAlive(lease.leaseId).catch(() => undefined), Math.max(50, ttlMs / 3));
  timer.unref();
  child.proc.once("exit", () => clearInterval(timer));
}

export { Echo };
