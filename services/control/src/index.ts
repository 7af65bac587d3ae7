export { startControl, loadControlConfig } from "./start.js";
export type { ControlConfig } from "./start.js";
