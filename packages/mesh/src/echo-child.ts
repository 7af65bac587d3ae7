// An echo server in its own process, for tests that SIGKILL an instance and for the mesh benchmark (which keeps the
// servers off the client's CPU). Prints `ECHO_READY {"address":…,"raw":…}` when it serves.
//   node packages/mesh/dist/echo-child.js --id a [--raw] [--delay-ms 10] [--metrics]   (policies: MESH_POLICY_YAML)
import * as grpc from "@grpc/grpc-js";
import { parseArgs } from "node:util";
import { toGrpcServiceDefinition } from "./adapter.js";
import { echoImpl, Echo } from "./echo-fixture.js";
import { createMeshMetrics } from "./metrics.js";
import { createPolicyStore, MemoryPolicySource } from "./policy-source.js";
import { createMeshRuntime } from "./runtime.js";
import { createServer } from "./server.js";
import { MeshEvents } from "./events.js";

const { values } = parseArgs({ options: { id: { type: "string", default: "child" }, name: { type: "string", default: "echo" }, raw: { type: "boolean", default: false }, "delay-ms": { type: "string", default: "0" }, metrics: { type: "boolean", default: false } } });
const id = values.id!;
const events = new MeshEvents();
const source = new MemoryPolicySource();
if (process.env.MESH_POLICY_YAML) source.apply({ bench: process.env.MESH_POLICY_YAML });
const policies = createPolicyStore({ source, events });
await policies.ready();
if (values.metrics) createMeshMetrics({ events, processMetrics: false });
const runtime = createMeshRuntime({ serviceName: values.name!, events, policies });
const behavior = { delayMs: Number(values["delay-ms"]), failCode: 0 };
const server = createServer({ name: values.name!, labels: { id }, runtime });
server.add(Echo, echoImpl(id, behavior, { calls: 0 }));
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
process.stdout.write(`ECHO_READY ${JSON.stringify({ address, raw })}\n`);
process.on("SIGTERM", () => void server.stop(500).then(() => process.exit(0)));
