// An echo server in its own process, for tests that SIGKILL an instance and for the mesh benchmark (which keeps the
// servers off the client's CPU). Prints `ECHO_READY {"address":…,"raw":…}` when it serves.
//   node packages/mesh/dist/echo-child.js --id a [--raw] [--delay-ms 10] [--metrics] [--semaphore 20:20] [--mtls DIR]
//   (policies: MESH_POLICY_YAML). --semaphore N:Q: the bulkhead's baseline — the handler admits N calls at once and
//   queues Q more with a plain semaphore, refusing the rest with RESOURCE_EXHAUSTED (no retry-after hint). --mtls DIR:
//   serve mutual TLS with a certificate from the CA of the data dir DIR (made there if missing).
import * as grpc from "@grpc/grpc-js";
import { parseArgs } from "node:util";
import { toGrpcServiceDefinition } from "./adapter.js";
import { echoImpl, Echo } from "./echo-fixture.js";
import { createMeshMetrics } from "./metrics.js";
import { createPolicyStore, MemoryPolicySource } from "./policy-source.js";
import { createMeshRuntime } from "./runtime.js";
import { dataDirIdentity } from "./platform-identity.js";
import { createServer } from "./server.js";
import { MeshEvents } from "./events.js";
import { Code, SwitchyardError } from "@switchyard/core";

const { values } = parseArgs({ options: { id: { type: "string", default: "child" }, name: { type: "string", default: "echo" }, raw: { type: "boolean", default: false }, "delay-ms": { type: "string", default: "0" }, metrics: { type: "boolean", default: false }, semaphore: { type: "string" }, mtls: { type: "string" } } });
const id = values.id!;
const events = new MeshEvents();
const source = new MemoryPolicySource();
if (process.env.MESH_POLICY_YAML) source.apply({ bench: process.env.MESH_POLICY_YAML });
const policies = createPolicyStore({ source, events });
await policies.ready();
if (values.metrics) createMeshMetrics({ events, processMetrics: false });
// Server-side latency of answered calls (admission wait included), reported on SIGTERM as `ECHO_STATS {…}`.
const handledMs: number[] = [];
events.on("serverCall", (e) => {
  if (e.code === 0 && handledMs.length < 1_000_000) handledMs.push(e.durationMs);
});
const credentials = values.mtls ? dataDirIdentity(values.mtls, values.name!) : undefined;
await credentials?.ready;
const runtime = createMeshRuntime({ serviceName: values.name!, events, policies, ...(credentials ? { credentials } : {}) });
const behavior = { delayMs: Number(values["delay-ms"]), failCode: 0 };
const server = createServer({ name: values.name!, labels: { id }, runtime });
const impl = echoImpl(id, behavior, { calls: 0 });
if (values.semaphore) {
  if (!/^\d+:\d+$/.test(values.semaphore)) throw new Error(`--semaphore ${values.semaphore}: expected SLOTS:QUEUE, e.g. 20:20`);
  const [slots, queue] = values.semaphore.split(":").map(Number) as [number, number];
  let inFlight = 0;
  const waiting: (() => void)[] = [];
  const echo = impl.echo.bind(impl);
  impl.echo = async (req, ctx) => {
    if (inFlight >= slots) {
      if (waiting.length >= queue) throw new SwitchyardError(Code.ResourceExhausted, "echo: all slots busy and the queue full");
      await new Promise<void>((r) => waiting.push(r));
    } else inFlight++;
    try {
      return await echo(req, ctx);
    } finally {
      // The slot passes to the next in the queue, or is freed.
      const next = waiting.shift();
      if (next) next();
      else inFlight--;
    }
  };
}
server.add(Echo, impl);
const address = await server.start();

let raw: string | undefined;
if (values.raw) {
  // The baseline: grpc-js alone with the same protobuf-es serializers and the same answer, no mesh in between.
  const rawServer = new grpc.Server({ "grpc.max_receive_message_length": 16 * 1024 * 1024 });
  rawServer.addService(toGrpcServiceDefinition(Echo), {
    echo: (call: grpc.ServerUnaryCall<{ payload: Uint8Array }, unknown>, cb: grpc.sendUnaryData<unknown>) => {
      if (behavior.delayMs > 0) setTimeout(() => cb(null, { payload: call.request.payload, instance: id }), behavior.delayMs);
      else cb(null, { payload: call.request.payload, instance: id });
    },
  });
  const port = await new Promise<number>((res, rej) => rawServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))));
  raw = `127.0.0.1:${port}`;
}
/** Heap in use after a full collection (when run with --expose-gc), to tell a leak from garbage not yet collected. */
const heapMb = () => {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
};
process.stdout.write(`ECHO_READY ${JSON.stringify({ address, raw, heapMb: heapMb() })}\n`);
// How late a timer of the handler's delay fires on this event loop (what "10 ms of waiting" really costs in slot time).
const lateMs: number[] = [];
if (behavior.delayMs > 0) {
  const probe = () => {
    const t = performance.now();
    setTimeout(() => {
      lateMs.push(performance.now() - t - behavior.delayMs);
      if (lateMs.length < 100_000) setTimeout(probe, 7);
    }, behavior.delayMs).unref();
  };
  probe();
}
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
};
process.on("SIGTERM", () => {
  const stats = { answered: handledMs.length, p50Ms: pct(handledMs, 50), p99Ms: pct(handledMs, 99), timerLateP50Ms: pct(lateMs, 50), timerLateMeanMs: lateMs.reduce((a, b) => a + b, 0) / Math.max(1, lateMs.length), rssMb: process.memoryUsage().rss / 2 ** 20, heapMb: heapMb() };
  process.stdout.write(`ECHO_STATS ${JSON.stringify(stats)}\n`);
  void server.stop(500).then(() => process.exit(0));
});
