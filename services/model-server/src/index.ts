export { startModelServer } from "./start.js";
export type { RunningModelServer, StartOptions } from "./start.js";
export { parseConfig, USAGE, UsageError, MAX_SOCKET_PATH_BYTES } from "./config.js";
export type { ModelServerConfig } from "./config.js";
export { InferQueue } from "./infer-queue.js";
export type { InferQueueEvents, InferQueueOptions } from "./infer-queue.js";
export type { ModelBackend, ModelSignature, RunOptions, TensorSpec } from "./model-backend.js";
