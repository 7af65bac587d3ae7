// @switchyard/mesh/testing: what tests, benchmarks and interop checks run against — never imported by a service.
// A small echo service (switchyard.mesh.testing.v1.Echo, proto in packages/mesh/proto), in process or as a child
// process; a real etcd; runtimes with policies from YAML and recorded events.
export { Echo, EchoRequestSchema, EchoResponseSchema } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
export type { EchoRequest, EchoResponse } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
export { startEcho, spawnEcho, registerWhileAlive, echoImpl } from "./echo-fixture.js";
export type { EchoInstance, EchoChild, EchoBehavior, StartEchoOptions } from "./echo-fixture.js";
export { startEtcd } from "./etcd-test-server.js";
export type { EtcdServer } from "./etcd-test-server.js";
export { testRuntime, runConcurrent, backgroundLoad, tally, until, DR, VS, OWN } from "./test-support.js";
export type { TestRuntime } from "./test-support.js";
