// @switchyard/mesh: what services use. Optional weight lives in sub-paths, loaded only by those who import them:
// `@switchyard/mesh/etcd` (the etcd registry), `/tracing` (OpenTelemetry setup), `/metrics` (prom-client RED metrics),
// `/testing` (the echo service, fixtures and test helpers). See README.md.
export { createServer } from "./server.js";
export type { MeshServer, ServerOptions } from "./server.js";
export { createClient } from "./client.js";
export type { ClientOptions, Fallbacks } from "./client.js";
export { toGrpcServiceDefinition, methodPath } from "./adapter.js";
export { toGrpcError, fromGrpcError, newRefusal, retryAfterMs, wasNotExecuted } from "./status.js";
export type { CallContext, CallOptions, MeshClient, ServiceImpl } from "./types.js";

// Discovery: registries, chosen by configuration from the back ends registered by scheme.
export { MemoryRegistry } from "./registry-memory.js";
export type { MemoryRegistryOptions } from "./registry-memory.js";
export { createRemoteRegistry } from "./registry-remote.js";
export type { RemoteRegistryOptions } from "./registry-remote.js";
export { openRegistry, registerRegistryBackend, registeredRegistryBackends } from "./registry-open.js";
export type { RegistryBackend, RegistryBackendOptions } from "./registry-open.js";
export { parseHostPort, DEFAULT_LEASE_TTL_MS } from "./registry.js";
export type { Instance, Lease, Registry, WatchUpdate } from "./registry.js";
export { HealthState, healthService, ServingStatus } from "./health.js";

// Who is calling: service credentials and the identity they carry.
export { IDENTITY_METADATA } from "./types.js";
export { WorkloadIdentity, bootstrapCredentials, peerIdOf } from "./credentials.js";
export type { MeshCredentials, RenewCertificate } from "./credentials.js";
export { DEFAULT_TRUST_DOMAIN, parseSpiffeId, serviceId, spiffeId, spiffeIdOfSan, SYSTEM_NAMESPACE } from "./spiffe.js";
export type { SpiffeId } from "./spiffe.js";
export { caPaths, createCsr, generateWorkloadKey } from "./workload-key.js";
export type { IssuedCertificate, WorkloadKey } from "./workload-key.js";
// The CA (an X.509 library) is the `./ca` sub-path: loaded by control and tools, never by every importer.
export type { CertificateAuthority } from "./pki.js";
export { certificateFingerprint, DEFAULT_JOIN_TOKEN_TTL_MS, mintJoinToken, readJoinToken, verifyJoinToken } from "./join-token.js";
export type { JoinClaims } from "./join-token.js";
export { dataDirIdentity, DEFAULT_CERT_TTL_MS, enrollIdentity, identityEnv, localIdentity, parseCertTtl, platformIdentity } from "./platform-identity.js";
export type { EnrollOptions, IdentityEnv, PlatformIdentityOptions } from "./platform-identity.js";
export { verifiedCaller, requirePlatformAdmin, USER_DELEGATES } from "./identity.js";
export { GRANT_DELEGATE_LABELS, GRANT_DELEGATES, GRANT_KIND, GRANTS_NAMESPACE, GrantBook, grantCovers, grantDocument, grantName, newGrant, parseGrant } from "./grants.js";
export type { Grant, GrantInit } from "./grants.js";
export { grantRecorder, removeGrants } from "./grants-client.js";
export { inScope, notFoundIn, ownerOf, readScope, requireTeamWriter } from "./team-access.js";
export type { TeamScope } from "./team-access.js";
export type { GrantRecorder } from "./grants-client.js";
export type { VerifiedCaller, VerifiedCallerOptions, UserRole } from "./identity.js";
export { USER_TOKEN_HEADER, UserTokenMinter, UserTokenVerifier, verifierFor } from "./user-token.js";
export type { EndUser, VerifiedUser } from "./user-token.js";

// Governance: the runtime a composition root builds once, policies as data, events, balancers, co-hosting.
export { createMeshRuntime, MeshRuntime, WORKLOAD_LABEL } from "./runtime.js";
export type { MeshRuntimeOptions } from "./runtime.js";
export { MeshEvents } from "./events.js";
export type {
  MeshEventMap, ClientCallEvent, ServerCallEvent, RejectEvent, RejectReason, RetryEvent, RetryDeniedEvent, EndpointState, EndpointStateEvent,
  EjectEvent, BreakerState, BreakerStateEvent, FaultEvent, PolicyAppliedEvent, PolicyRejectedEvent,
} from "./events.js";
export { registerBalancer, registeredBalancers } from "./balancer-registry.js";
export type { Balancer, BalancerFactory, LoadBalancerConfig, LoadBalancerKind, Pickable } from "./balancer.js";
export { parseMeshPolicies, ISTIO_API_VERSIONS } from "./policy-parse.js";
export type { MeshPolicies, PolicyResource, PolicyOrigin } from "./policy-parse.js";
export { compileMeshPolicies } from "./policy-compile.js";
export { exportToIstio } from "./istio-export.js";
export { defaultAuthorizationPolicies, isSupersededDefault } from "./default-authz.js";
export type { IstioExport, IstioExportOptions, IstioResource, UnmappedPolicy } from "./istio-export.js";
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
export type { MeshTracing } from "./tracing.js";
export type { MeshMetrics } from "./metrics.js";
