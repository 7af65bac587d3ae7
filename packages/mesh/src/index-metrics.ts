// @switchyard/mesh/metrics: Prometheus RED metrics from a runtime's events (prom-client loads when they are created).
// createServiceRuntime (the root) makes them for a service by itself.
export { createMeshMetrics } from "./metrics.js";
export type { MeshMetrics, MeshMetricsOptions } from "./metrics.js";
