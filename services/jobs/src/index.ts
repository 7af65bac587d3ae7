export { startJobs } from "./start.js";
export { loadConfig as loadJobsConfig } from "./config.js";
export type { JobsConfig } from "./config.js";
