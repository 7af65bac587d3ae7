export { startControl } from "./start.js";
export { loadControlConfig, type ControlConfig } from "./config.js";
