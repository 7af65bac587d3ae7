export type {
  Executor,
  ExecutorNode,
  GangMembership,
  GpuDevice,
  LogChunk,
  LogLimits,
  LogReadOptions,
  ReplicaHandle,
  ReplicaLaunch,
  ReplicaState,
  RunAs,
} from "./executor.js";
export { createExecutor, executorAppliesSandbox, executorNames, registerExecutor } from "./executor-registry.js";
export type { ExecutorFactory, ExecutorOptions } from "./executor-registry.js";
export { createLocalExecutor, compileLocalExecutorOptions } from "./executor-local.js";
export type { CompiledLocalExecutorOptions, LocalExecutorOptions } from "./executor-local.js";
export { createSlurmExecutor, compileSlurmExecutorOptions } from "./executor-slurm.js";
export type { CompiledSlurmExecutorOptions, SlurmCrashPoint, SlurmExecutorConfig, SlurmExecutorOptions } from "./executor-slurm.js";
export { DEFAULT_LOG_CHUNK_BYTES, DEFAULT_LOG_LIMITS } from "./run-log.js";
export { probeSandbox } from "./executor-local-sandbox.js";
export type { SandboxOptions, SandboxProbe } from "./executor-local-sandbox.js";
export { checkReachable } from "./check-reachable.js";
export type { Account } from "./check-reachable.js";
export { detectGpus, parseNvidiaSmi, NVIDIA_SMI_ARGS } from "./gpu-inventory.js";
export type { DetectGpusOptions } from "./gpu-inventory.js";
export { pytorchEnv, findFreePort } from "./pytorch-env.js";
export type { PytorchEnvOptions } from "./pytorch-env.js";
