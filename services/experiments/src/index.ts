export { loadExperimentsConfig } from "./config.js";
export type { ExperimentsConfig } from "./config.js";
export { startExperiments } from "./start.js";
export { Controller } from "./controller.js";
export type { ControllerOptions } from "./controller.js";
