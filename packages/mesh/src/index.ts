export { createServer } from "./server.js";
export type { MeshServer, ServerOptions } from "./server.js";
export { createClient } from "./client.js";
export type { ClientOptions, Fallbacks } from "./client.js";
export { toGrpcServiceDefinition, methodPath } from "./adapter.js";
export { toGrpcError, fromGrpcError, retryAfterMs, wasNotExecuted } from "./status.js";
export { MemoryRegistry } from "./registry-memory.js";
export type { MemoryRegistryOptions } from "./registry-memory.js";
export { createRemoteRegistry } from "./registry-remote.js";
export type { RemoteRegistryOptions } from "./registry-remote.js";
export { createEtcdRegistry, etcdHosts } from "./registry-etcd.js";
export { openRegistry } from "./registry-open.js";
export type { EtcdRegistryOptions } from "./registry-etcd.js";
export { parseHostPort, DEFAULT_LEASE_TTL_MS } from "./registry.js";
export type { Instance, Lease, Registry, WatchUpdate } from "./registry.js";
export { HealthState, healthService, ServingStatus } from "./health.js";
export { IDENTITY_METADATA } from "./types.js";
export { createSharedKeyCredentials, CALLER_HEADER, PROOF_HEADER } from "./credentials.js";
export { loadPlatformCredentials } from "./platform-credentials.js";
export type { MeshCredentials } from "./credentials.js";
export { verifiedCaller, requirePlatformAdmin, USER_DELEGATES } from "./identity.js";
export type { VerifiedCaller, VerifiedCallerOptions, UserRole } from "./identity.js";
export type { CallContext, CallOptions, MeshClient, ServiceImpl } from "./types.js";

// Governance: the runtime a composition root builds once, policies as data, events, metrics, tracing, co-hosting.
export { createMeshRuntime, MeshRuntime } from "./runtime.js";
export type { MeshRuntimeOptions } from "./runtime.js";
export { MeshEvents } from "./events.js";
export type {
  MeshEventMap, ClientCallEvent, ServerCallEvent, RejectEvent, RejectReason, RetryEvent, RetryDeniedEvent, EndpointState, EndpointStateEvent,
  EjectEvent, BreakerState, BreakerStateEvent, FaultEvent, PolicyAppliedEvent, PolicyRejectedEvent,
} from "./events.js";
export { parseMeshPolicies, ISTIO_API_VERSIONS } from "./policy-parse.js";
export type { MeshPolicies, PolicyResource, PolicyOrigin } from "./policy-parse.js";
export { compileMeshPolicies } from "./policy-compile.js";
export type { CompiledPolicies, DestinationPolicy, ServerMethodPolicy } from "./policy-compile.js";
export { SWITCHYARD_API_VERSION } from "./switchyard-schema.js";
export { createPolicyStore, MemoryPolicySource, validatePolicyDocuments } from "./policy-source.js";
export type { PolicyDocument, PolicySnapshot, PolicySource, PolicyStore, PolicyStoreOptions } from "./policy-source.js";
export { createConfigCenterPolicySource } from "./policy-source-control.js";
export type { ConfigCenterPolicySourceOptions } from "./policy-source-control.js";
export { createServiceRuntime, fetchMetrics } from "./service-runtime.js";
export type { ServiceRuntime, ServiceRuntimeOptions } from "./service-runtime.js";
export { LocalTable } from "./local-transport.js";
export type { LocalServer, LocalCallInit } from "./local-transport.js";
export { createMeshTracing, startTracingFromEnv } from "./tracing.js";
export type { MeshTracing, EnvTracing } from "./tracing.js";
export { createMeshMetrics } from "./metrics.js";
export type { MeshMetrics, MeshMetricsOptions } from "./metrics.js";
// A small echo service (switchyard.mesh.testing.v1.Echo, proto in packages/mesh/proto) for tests, benchmarks and interop.
export { Echo, EchoRequestSchema, EchoResponseSchema } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
export type { EchoRequest, EchoResponse } from "./gen/switchyard/mesh/testing/v1/echo_pb.js";
export { startEcho, spawnEcho, registerWhileAlive, echoImpl } from "./echo-fixture.js";
export type { EchoInstance, EchoChild, EchoBehavior, StartEchoOptions } from "./echo-fixture.js";
