// @switchyard/mesh/tracing: OpenTelemetry setup for a runtime's `tracing` (the SDK loads only when tracing is on).
export { createMeshTracing, startTracingFromEnv } from "./tracing-setup.js";
export type { EnvTracing } from "./tracing-setup.js";
export type { MeshTracing } from "./tracing.js";
