/**
 * The executor contract: where a job's replicas run. One interface, engines chosen by name from config
 * (`local` now; `slurm` and `kubernetes` later). Executors never import each other; the jobs service and the
 * scheduler depend on this file only.
 *
 * Every operation is idempotent by `runId` (one replica of one attempt of one job), so the jobs service can be killed
 * at any instant, restart, and call `launch` again for a run it is unsure about without starting anything twice.
 */

/**
 * The Unix account a replica runs as: never the platform's own. The executor switches to it before anything of the
 * job runs, so the job has this account's rights and nothing more.
 */
export interface RunAs {
  /** Never 0: a job never runs as root. */
  uid: number;
  /** Never 0. */
  gid: number;
  /** passwd name, when the account has one (it must then name `uid` on this machine). */
  user?: string;
  /** HOME for the replica; also its working directory when neither `workingDir` nor the env's HOME is given. */
  home: string;
  /**
   * Supplementary groups (never 0); default: the account's groups from initgroups when `user` is set, none otherwise.
   */
  groups?: number[];
}

export interface ReplicaLaunch {
  /** Unique per replica per attempt, e.g. `<jobUid>.a0.r1`. Safe as a file name ([A-Za-z0-9._-]). */
  runId: string;
  /** argv: command and its arguments. `command[0]` is resolved on PATH. */
  command: string[];
  /**
   * Absolute; must exist, and must be reachable (every ancestor enterable, itself readable and enterable) by the
   * `runAs` account. Default: engine-specific (local: with `runAs` or a sandbox, the replica's HOME, i.e. the env's
   * HOME, else `runAs.home`, else the base environment's, and required when there is none; the run's own directory
   * otherwise).
   */
  workingDir?: string;
  /**
   * The job's environment, added on top of the executor's base environment (PATH, LANG, and with `runAs` HOME, USER,
   * LOGNAME). Values may be secrets: engines never put them in argv or leave them on disk after the start.
   */
  env: Record<string, string>;
  /** GPU indices this replica is pinned to (the executor sets CUDA_VISIBLE_DEVICES from them). */
  gpuIndices: number[];
  /** Runs the replica as this account instead of the platform's; engines refuse what they cannot honour. */
  runAs?: RunAs;
  /**
   * Absolute paths that stay visible and writable inside the engine's sandbox even when they lie under a path it
   * hides (the job's own directory, its working directory). Each must exist and, with `runAs`, be reachable by the
   * account on the host (an unprivileged sandbox mounts them as that account). Without a sandbox they change nothing.
   */
  visiblePaths?: string[];
}

export type ReplicaState =
  /** Never launched (or launch never reached the shim): safe to launch. */
  | { kind: "absent" }
  /**
   * Launched and running; `shimPid` is the shim's pid and `pgid` the command's process group. Both are null for the
   * moment between the launch and the shim recording itself (then `startedAtMs` is the launch time).
   */
  | { kind: "running"; shimPid: number | null; pgid: number | null; startedAtMs: number }
  /**
   * The command ended; exit code (or 128+signal when killed by a signal) and times from the status file. `signal` is
   * derived from a code above 128, so a program that itself exits 137 reads as SIGKILL (the shell cannot tell).
   */
  | { kind: "exited"; exitCode: number; signal: string | null; startedAtMs: number; endedAtMs: number }
  /** The shim vanished without writing a status (machine reboot, kill -9 of the shim): the result is unknown. */
  | { kind: "lost"; reason: string };

export interface ReplicaHandle {
  runId: string;
  state: ReplicaState;
}

export interface LogReadOptions {
  /** Byte offset to start from (0 = beginning). */
  offset?: number;
  maxBytes?: number;
}

export interface LogChunk {
  data: Buffer;
  /** Offset after the returned data; pass it back to continue. */
  nextOffset: number;
}

export interface Executor {
  readonly name: string;
  /** Starts the replica unless a run with this id was already launched; returns its current state. */
  launch(spec: ReplicaLaunch): Promise<ReplicaHandle>;
  /** Current state from durable evidence (files, process table), never from memory alone. */
  inspect(runId: string): Promise<ReplicaState>;
  /**
   * Calls `onExit` once when the run reaches `exited` or `lost` (immediately if it already has).
   * Returns a function that stops watching.
   */
  watch(runId: string, onExit: (state: ReplicaState) => void): () => void;
  /** SIGTERM to the replica's whole process group, then SIGKILL after `graceMs`. Resolves when no process is left. */
  terminate(runId: string, graceMs: number): Promise<void>;
  /** Reads the combined stdout+stderr log of a run from `offset`. Works after the run ended and after restarts. */
  readLog(runId: string, options?: LogReadOptions): Promise<LogChunk>;
  /** Absolute path of the run's log file (for tailing). */
  logPath(runId: string): string;
  /** Stops timers and watchers; leaves every replica running (they are detached). */
  close(): Promise<void>;
}

/** A GPU as the inventory sees it. */
export interface GpuDevice {
  index: number;
  uuid: string;
  name: string;
  memoryMb: number;
  /** True when the inventory was simulated (`--gpus N`) rather than read from nvidia-smi. */
  simulated: boolean;
}
