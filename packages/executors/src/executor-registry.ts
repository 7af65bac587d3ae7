/**
 * Executors chosen by name, as grpc-js chooses load balancers: a service's config names an engine (`local` and
 * `slurm`, built in) and `createExecutor` builds it; `kubernetes` is an addition (`registerExecutor` in the module
 * that brings it), not an edit of the jobs service. The jobs service and the scheduler see only the `Executor` contract.
 */
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import type { Executor } from "./executor.js";
import { createLocalExecutor } from "./executor-local.js";
import type { SandboxOptions } from "./executor-local-sandbox.js";
import { createSlurmExecutor, type SlurmExecutorOptions } from "./executor-slurm.js";

/** What the platform gives every engine; each takes what it needs. */
export interface ExecutorOptions {
  /** A private directory the engine keeps its records of runs in (local: one directory per run, logs included). */
  runsDir: string;
  logger?: Logger;
  /** How replicas are confined, as decided at start (probeSandbox); engines that confine otherwise ignore it (slurm). */
  sandbox?: SandboxOptions;
  /** The `slurm` engine's settings (SLURM_CONF, partition, shared directory, …); other engines ignore them. */
  slurm?: SlurmExecutorOptions;
}

export type ExecutorFactory = (options: ExecutorOptions) => Executor;

const factories = new Map<string, ExecutorFactory>([
  ["local", (o) => createLocalExecutor({ runsDir: o.runsDir, ...(o.logger ? { logger: o.logger } : {}), ...(o.sandbox ? { sandbox: o.sandbox } : {}) })],
  [
    "slurm",
    (o) => {
      if (o.sandbox !== undefined && o.sandbox.kind !== "none") {
        o.logger?.warn({ sandbox: o.sandbox.kind }, "the slurm executor does not apply the local sandbox: jobs are confined by Slurm's own means (cgroups)");
      }
      return createSlurmExecutor({ ...o.slurm, runsDir: o.runsDir, ...(o.logger ? { logger: o.logger } : {}) });
    },
  ],
]);

/**
 * Engines that run replicas elsewhere and cannot apply this machine's bubblewrap sandbox. A platform that is not root
 * relies on that sandbox to keep members' jobs from the platform's own files (job-isolation.ts `sandbox` mode): with
 * such an engine it must run single-user instead (only admins submit), or members' jobs would run with its rights.
 */
const withoutSandbox = new Set<string>(["slurm"]);

/**
 * Makes `create` the engine for `name` (a later registration of the same name replaces it). `appliesSandbox: false`:
 * the engine ignores `ExecutorOptions.sandbox` (see `executorAppliesSandbox`).
 */
export function registerExecutor(name: string, create: ExecutorFactory, o: { appliesSandbox?: boolean } = {}): void {
  if (!/^[a-z][a-z0-9-]*$/.test(name)) throw new SwitchyardError(Code.InvalidArgument, `executor name "${name}": use lowercase letters, digits and '-'`);
  factories.set(name, create);
  if (o.appliesSandbox === false) withoutSandbox.add(name);
  else withoutSandbox.delete(name);
}

/** Whether the engine applies the local sandbox it is given; the jobs service runs single-user when it does not and it is not root. */
export function executorAppliesSandbox(name: string): boolean {
  return !withoutSandbox.has(name);
}

/** The names of the registered engines, sorted. */
export function executorNames(): string[] {
  return [...factories.keys()].sort();
}

/** Builds the engine registered as `name`. */
export function createExecutor(name: string, options: ExecutorOptions): Executor {
  const create = factories.get(name);
  if (create === undefined) {
    throw new SwitchyardError(Code.InvalidArgument, `no executor "${name}": the executors are ${executorNames().join(", ")} (set SWITCHYARD_EXECUTOR to one of them)`, {
      details: [{ field: "executor", message: "is not a registered executor", expected: executorNames().join(" | "), got: name }],
    });
  }
  return create(options);
}
