/**
 * The executor contract: where a job's replicas run. One interface, engines chosen by name from config
 * (`local`, `slurm`; `kubernetes` later). Executors never import each other; the jobs service and the scheduler
 * depend on this file only. The platform places and the engine runs: `node`, the requests and `gang` say where and
 * with what the scheduler placed a replica; an engine with a scheduler of its own (Slurm) pins its allocation to that.
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
  /**
   * GPU indices this replica is pinned to (local: CUDA_VISIBLE_DEVICES is set from them). Slurm: only their count is
   * used (`--gpus-per-task`); which GPUs of the node the replica gets is Slurm's choice, and Slurm sets
   * CUDA_VISIBLE_DEVICES.
   */
  gpuIndices: number[];
  /** Runs the replica as this account instead of the platform's; engines refuse what they cannot honour. */
  runAs?: RunAs;
  /**
   * Absolute paths that stay visible and writable inside the engine's sandbox even when they lie under a path it
   * hides (the job's own directory, its working directory). Each must exist and, with `runAs`, be reachable by the
   * account on the host (an unprivileged sandbox mounts them as that account). Without a sandbox they change nothing.
   */
  visiblePaths?: string[];
  /**
   * How much of the replica's output (stdout and stderr together) is kept on disk: the first `headBytes` and the
   * latest `tailBytes`, enforced while the replica writes, whether or not anyone reads. Default: the engine's (local:
   * the executor's `logLimits`, 8 MiB + 56 MiB unless configured).
   */
  logLimits?: LogLimits;
  /**
   * The node the platform's scheduler placed the replica on (Slurm: `--nodelist`). Local: ignored (it is the one
   * node). Absent: the engine chooses.
   */
  node?: string;
  /**
   * CPU request in thousandths of a CPU (Slurm: `--cpus-per-task`, rounded up to whole CPUs, at least 1). Local: ignored.
   */
  cpuMilli?: number;
  /** Memory request in MiB (Slurm: `--mem-per-cpu` so that each task holds at least this). Local: ignored. */
  memoryMb?: number;
  /**
   * The engine's own time limit for the replica (Slurm: `--time`, whole minutes rounded up; Slurm then ends the
   * allocation, and a replica killed that way reads `lost` with reason TIMEOUT). A backstop behind the jobs service's
   * deadline (`activeDeadlineSeconds`). Local: ignored.
   */
  timeLimitSeconds?: number;
  /**
   * The replicas of one attempt placed together (a gang), launched one `launch` per replica in index order. An engine
   * with allocations (Slurm) starts them all at once in one allocation when the last is launched; until then a launched
   * member reads `running` with `shimPid` null. Absent: a gang of one. Local: ignored (each replica starts at once).
   */
  gang?: GangMembership;
}

/** A replica's place in its gang. */
export interface GangMembership {
  /** The gang's id, the same for all its members and unique per attempt (e.g. `<jobUid>.a0`); a file name. */
  id: string;
  /** How many replicas the gang has (>= 1). */
  size: number;
  /** This replica's index, 0 .. size-1; the rank it gets (RANK, SLURM_PROCID). */
  index: number;
}

/**
 * A node of an engine that has its own inventory (Slurm), as the platform's scheduler sees it: capacity whole, and
 * what allocations made outside the platform hold on it (so that the scheduler does not count it as free).
 */
export interface ExecutorNode {
  name: string;
  /** CPUs usable by jobs, in thousandths. */
  cpuMilli: number;
  /** Memory usable by jobs, MiB. */
  memoryMb: number;
  /** The node's GPUs (Slurm: from its GRES `gpu:<type>:<count>`, indices 0..count-1 in the node's order). */
  gpus: { index: number; type: string }[];
  /** Held by allocations that this platform did not make (another user's `sbatch`), in the same units; gpus is a count. */
  busy: { cpuMilli: number; memoryMb: number; gpus: number };
  /**
   * Lowercase: `idle`, `mixed`, `allocated`, `completing`, `down`, `drain` (drained or draining), `fail`,
   * `not_responding`, … Nothing new should be placed on a node that is down, drained, failing or not responding.
   */
  state: string;
}

/**
 * A run's log is bounded: what the replica wrote beyond the first `headBytes` and before the latest `tailBytes` is
 * dropped as it is written, and `readLog` returns one marker line in its place. Engines may round both up to their
 * unit of storage (local: whole chunks of `logChunkBytes`).
 */
export interface LogLimits {
  /** Bytes kept from the start of the output; integer >= 0. */
  headBytes: number;
  /** Bytes kept from the end of the output; integer >= 0. */
  tailBytes: number;
}

export type ReplicaState =
  /** Never launched (or launch never reached the shim): safe to launch. */
  | { kind: "absent" }
  /**
   * Launched and running; `shimPid` is the shim's pid and `pgid` the command's process group. Both are null for the
   * moment between the launch and the shim recording itself (then `startedAtMs` is the launch time), and, with an
   * engine that allocates (Slurm), while the replica's gang is incomplete or its allocation pending. Slurm: the pids
   * are the task wrapper's and the command's group on the node that runs it.
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
  /**
   * Logical byte offset to start from (0 = beginning): a position in everything the replica wrote, dropped bytes
   * included, so an offset stays valid while the log rotates and across restarts. Take it from `nextOffset`.
   */
  offset?: number;
  /** At most this many bytes of output (a marker that ends the chunk comes on top, whole). */
  maxBytes?: number;
}

/**
 * Consecutive output from `offset`. Where the executor dropped output (log limits, a write that failed), the chunk
 * stops there and ends with one marker line, `[switchyard: N bytes of output dropped here — …]\n`, returned once per
 * gap and never split; the marker contains no `=`, so a `name=value` parser never reads it as a metric. Around a
 * gap, the cut line on either side is dropped with it (when its end lies within 64 KiB), so every line returned is
 * one the replica wrote whole.
 */
export interface LogChunk {
  data: Buffer;
  /**
   * Offset after the returned data; pass it back to continue. `nextOffset - offset === data.length`, except when the
   * chunk ends with a marker (`droppedBytes` set): then `nextOffset` lies past the dropped bytes. A consumer that stores
   * offsets stores `nextOffset` once it has used a whole chunk (a marker chunk ends with `\n`), never
   * `offset + data.length`.
   */
  nextOffset: number;
  /** Set when the chunk ends with a marker: how many bytes of the logical stream it stands for. */
  droppedBytes?: number;
}

export interface Executor {
  readonly name: string;
  /**
   * The unit the engine allocates CPUs in, in thousandths (Slurm: 1000, whole CPUs per task); absent: any amount
   * (local). The platform rounds CPU requests up to it before placing, so that what it places is what the engine holds.
   */
  readonly cpuUnitMilli?: number;
  /**
   * True when the engine hands out whole GPUs only (Slurm's GRES): a fractional request (`gpuMilli`) is placed as one
   * whole GPU, as the engine will hold it. Absent: GPUs may be shared (local).
   */
  readonly wholeGpus?: boolean;
  /** Starts the replica unless a run with this id was already launched; returns its current state. */
  launch(spec: ReplicaLaunch): Promise<ReplicaHandle>;
  /** Current state from durable evidence (files, process table), never from memory alone. */
  inspect(runId: string): Promise<ReplicaState>;
  /**
   * Calls `onExit` once when the run reaches `exited` or `lost` (immediately if it already has).
   * Returns a function that stops watching.
   */
  watch(runId: string, onExit: (state: ReplicaState) => void): () => void;
  /**
   * SIGTERM to the replica's whole process group, then SIGKILL after `graceMs`. Resolves when no process is left.
   * An engine that runs a gang as one allocation (Slurm) ends the whole gang: every member gets SIGTERM, and the call
   * resolves when the allocation is gone.
   */
  terminate(runId: string, graceMs: number): Promise<void>;
  /**
   * Reads the combined stdout+stderr log of a run from a logical `offset` (see `LogChunk` for gaps). Works while it
   * runs, after it ended and after restarts; a run that has written nothing yet reads as empty. Once the run is
   * `exited`, its whole kept log is readable.
   */
  readLog(runId: string, options?: LogReadOptions): Promise<LogChunk>;
  /**
   * A path for people to follow the run's latest output with `tail -F` (local: a symlink to the chunk being written;
   * `output.log` for runs started before logs rotated). Programs use `readLog`.
   */
  logPath(runId: string): string;
  /** Bytes the run's files take on disk (its log and records); 0 for a run it has no files of. */
  diskBytes(runId: string): Promise<number>;
  /**
   * Deletes a run's files once it is over (retention): its log is gone afterwards. Refuses (FAILED_PRECONDITION) a run
   * that is still running; a run with no files is already removed.
   */
  remove(runId: string): Promise<void>;
  /** Stops timers and watchers; leaves every replica running (they are detached). */
  close(): Promise<void>;
  /**
   * The nodes this engine can run replicas on, when it has an inventory of its own (Slurm); absent otherwise (local:
   * the jobs service uses this machine's GPU inventory). Read again by the caller as often as it wants to see changes.
   */
  inventory?(): Promise<ExecutorNode[]>;
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
