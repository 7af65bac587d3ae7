export { loadServingConfig } from "./config.js";
export type { ServingConfig } from "./config.js";
export { startServing } from "./start.js";
export { Autoscaler } from "./autoscaler.js";
export type { AutoscalerOptions } from "./autoscaler.js";
export { trafficPolicies } from "./traffic-policy.js";
