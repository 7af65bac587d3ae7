export type {
  Executor,
  GpuDevice,
  LogChunk,
  LogReadOptions,
  ReplicaHandle,
  ReplicaLaunch,
  ReplicaState,
} from "./executor.js";
export { createLocalExecutor, compileLocalExecutorOptions } from "./executor-local.js";
export type { CompiledLocalExecutorOptions, LocalExecutorOptions } from "./executor-local.js";
export { detectGpus, parseNvidiaSmi, NVIDIA_SMI_ARGS } from "./gpu-inventory.js";
export type { DetectGpusOptions } from "./gpu-inventory.js";
export { pytorchEnv, findFreePort } from "./pytorch-env.js";
export type { PytorchEnvOptions } from "./pytorch-env.js";
