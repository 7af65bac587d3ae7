/**
 * What the Slurm engine hands to Slurm: the batch script of a gang's allocation, the task wrapper it `srun`s once per
 * replica, and each replica's command script.
 *
 * A task directory, `<sharedDir>/tasks/<runId>/` (0700, owned by the job's account; root's 0711 `tasks/` above it, so
 * that no account lists the others' runs), is where the replica's side of the protocol lives, on a file system every
 * node of the allocation sees:
 * | file          | written by            | when | content |
 * |---------------|-----------------------|------|---------|
 * | `command.sh`  | engine (0600, the account's) | at launch | environment, working directory and argv; deleted by itself first thing |
 * | `log.limits`  | engine                | at launch | `<chunkBytes> <headChunks> <tailChunks>` (run-log.ts) |
 * | `allocation`  | batch script          | when the allocation starts | the Slurm job id |
 * | `batch.log`   | Slurm (first member only) | while the batch script runs | srun's and the wrappers' own messages |
 * | `lock/`       | wrapper               | first thing (mkdir is atomic: a task never starts a replica twice) | — |
 * | `started`     | wrapper               | before the command starts | `<wrapperPid> <startedAtMs> <slurmJobId> <node>` |
 * | `pgid`        | command               | in its own session, before exec | `<pgid> <startTicks>` (pids are the node's) |
 * | `log.<N>`, `log.current` | log writer | while the command writes | the local engine's chunk format (run-log.ts) |
 * | `terminate`   | engine                | before it signals the allocation | the grace in ms: the wrapper SIGKILLs the command's group then |
 * | `status`      | wrapper               | after the command ended and its output was written | `<exitCode> <startedAtMs> <endedAtMs>` (run-status.ts) |
 *
 * The wrapper runs as the job's account (the allocation's user) in the task Slurm started: everything of the task,
 * the wrapper, the log writer and the command, is in Slurm's hands (its signals, its time limit, its cgroups where
 * the site has them). The wrapper catches SIGTERM (the command gets it from Slurm directly), and once the engine has
 * written `terminate`, kills the command's process group when the grace is over, so that a replica that ignores
 * SIGTERM still ends with a recorded status (137). The log writer ignores SIGTERM, so it writes what the job printed
 * on its way out. A SIGKILL from Slurm (its time limit after KillWait, `scancel --signal=KILL`) ends the wrapper too:
 * that replica then has no status and reads `lost` with Slurm's state.
 */
import { LOG_FILTER, REAP_LOG_WRITER } from "./run-log.js";
import { renderEnvScript, shellQuote } from "./run-status.js";

/** The PATH of the batch script and the wrappers: fixed, so a job's PATH cannot break them. */
export const SLURM_SCRIPT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/**
 * The task wrapper: `sh -c WRAPPER switchyard-task TASKS_DIR RUN_0 … RUN_{N-1}`; task SLURM_PROCID runs RUN_i. No single
 * quote in it: the batch script holds it in a quoted here-document, and LOG_FILTER is passed single-quoted.
 */
export const TASK_WRAPPER = `# Switchyard task wrapper: runs one replica of a gang (executor-slurm-script.ts has the file protocol).
tasks=$1
shift
i=\${SLURM_PROCID:-0}
n=0
run=
for r do
  if [ "$n" = "$i" ]; then run=$r; break; fi
  n=$((n + 1))
done
if [ -z "$run" ]; then echo "switchyard: task $i of Slurm job $SLURM_JOB_ID has no replica" >&2; exit 1; fi
d=$tasks/$run
if ! mkdir "$d/lock" 2>/dev/null; then echo "switchyard: replica $run was started before; it does not start twice" >&2; exit 1; fi
started=$(date +%s%3N)
printf "%s %s %s %s\\n" "$$" "$started" "\${SLURM_JOB_ID:-0}" "\${SLURMD_NODENAME:-unknown}" > "$d/started.tmp" && mv -f "$d/started.tmp" "$d/started"
finish() {
  printf "%s %s %s\\n" "$1" "$started" "$(date +%s%3N)" > "$d/status.tmp" && mv -f "$d/status.tmp" "$d/status"
  exit "$1"
}
if [ -e "$d/terminate" ]; then rm -f "$d/command.sh"; finish 143; fi
master=$(scontrol show hostnames "$SLURM_JOB_NODELIST" 2>/dev/null | head -n 1)
[ -n "$master" ] || master=\${SLURMD_NODENAME:-localhost}
writer=
if read -r chunk head tail 2>/dev/null < "$d/log.limits" && [ "$chunk" -gt 0 ] && [ "$head" -ge 0 ] && [ "$tail" -ge 0 ] &&
  rm -f "$d/log.pipe" && mkfifo -m 600 "$d/log.pipe"; then
  exec 3<>"$d/log.pipe" 4<"$d/log.pipe" 5>"$d/log.pipe" 3>&-
  rm -f "$d/log.pipe"
  setsid /bin/sh -c 'trap "" TERM; sy_head=$3 sy_tail=$4 SHELL=/bin/sh split -b "$2" -d -a 12 --filter="$5" - "$1/log."; exec cat' \\
    switchyard-log "$d" "$chunk" "$head" "$tail" '${LOG_FILTER}' <&4 >/dev/null 2>&1 4<&- 5>&- &
  writer=$!
  exec 4<&-
else
  exec 5>> "$d/output.log"
fi
pid=
killer=
on_term() {
  [ -n "$pid" ] && [ -z "$killer" ] || return 0
  g=
  read -r g 2>/dev/null < "$d/terminate" || return 0
  case $g in "" | *[!0-9]*) return 0 ;; esac
  (sleep "$((g / 1000)).$(printf %03d $((g % 1000)))"; kill -s KILL -- "-$pid" 2>/dev/null) &
  killer=$!
}
trap on_term TERM
SWITCHYARD_SLURM_MASTER=$master setsid /bin/sh -c 'read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ t _ < /proc/self/stat
printf "%s %s\\n" "$$" "$t" > "$1/pgid.tmp" && mv -f "$1/pgid.tmp" "$1/pgid"
exec /bin/sh "$1/command.sh"' switchyard-replica "$d" < /dev/null >&5 2>&1 5>&- &
pid=$!
exec 5>&-
while :; do
  wait "$pid"
  code=$?
  if [ "$code" -gt 128 ] && kill -0 "$pid" 2>/dev/null; then continue; fi
  break
done
if [ "$code" -gt 128 ]; then wait "$pid" 2>/dev/null; c=$?; [ "$c" = 127 ] || code=$c; fi
trap "" TERM
[ -z "$killer" ] || kill "$killer" 2>/dev/null
kill -s KILL -- "-$pid" 2>/dev/null
${REAP_LOG_WRITER}
finish "$code"
`;

export interface BatchScriptOptions {
  gangId: string;
  /** `<sharedDir>/tasks`. */
  tasksDir: string;
  /** The members' run ids in index order: task i runs runIds[i]. */
  runIds: readonly string[];
  /** The node of each task in index order, when the gang spans several nodes (srun's arbitrary distribution). */
  hostfile: readonly string[] | null;
  /** srun's own flags (tasks, CPUs, memory, GPUs per task). */
  srunArgs: readonly string[];
}

/**
 * The gang's batch script, run by Slurm as the job's account on the allocation's first node: records the allocation,
 * then `srun`s one task per replica, each running TASK_WRAPPER.
 */
export function renderBatchScript(o: BatchScriptOptions): string {
  const first = `${o.tasksDir}/${o.runIds[0]}`;
  const lines = [
    "#!/bin/sh",
    `# Switchyard gang ${o.gangId}: ${o.runIds.length} replica(s) in one allocation, one srun task each (executor-slurm-script.ts).`,
    `PATH=${SLURM_SCRIPT_PATH}`,
    "export PATH",
    `printf "%s\\n" "$SLURM_JOB_ID" > ${shellQuote(`${first}/allocation.tmp`)} && mv -f ${shellQuote(`${first}/allocation.tmp`)} ${shellQuote(`${first}/allocation`)}`,
    "wrapper=$(cat <<'SWITCHYARD_WRAPPER'",
    TASK_WRAPPER.trimEnd(),
    "SWITCHYARD_WRAPPER",
    ")",
  ];
  const srun = ["srun", ...o.srunArgs];
  if (o.hostfile !== null) {
    lines.push(`printf "%s\\n" ${o.hostfile.map(shellQuote).join(" ")} > ${shellQuote(`${first}/hostfile`)}`, `SLURM_HOSTFILE=${shellQuote(`${first}/hostfile`)}`, "export SLURM_HOSTFILE");
    srun.push("--distribution=arbitrary");
  }
  lines.push(`exec ${srun.map(shellQuote).join(" ")} /bin/sh -c "$wrapper" switchyard-task ${shellQuote(o.tasksDir)} ${o.runIds.map(shellQuote).join(" ")}`);
  return `${lines.join("\n")}\n`;
}

/**
 * The variables of the task's own environment that a replica keeps: Slurm's (less the two that only describe how the
 * platform submitted: a nested `srun` of the job's own must not inherit `--export=NONE`) and the GPUs Slurm gave it.
 */
const KEPT = "SLURM_* | SLURMD_NODENAME | CUDA_VISIBLE_DEVICES | GPU_DEVICE_ORDINAL | ROCR_VISIBLE_DEVICES | sy_*";

/**
 * A replica's command script, run by its wrapper as `/bin/sh command.sh` and deleted by itself first thing (it holds
 * the environment, which may hold secrets). It keeps Slurm's variables and the GPUs Slurm bound (CUDA_VISIBLE_DEVICES,
 * empty when the replica has none), drops the rest of the task's environment, sets `env` (the base environment, the
 * account's identity and the spec's), then the rendezvous Slurm decides: MASTER_ADDR (and PET_MASTER_ADDR) = the
 * allocation's first node, RANK (and PET_NODE_RANK) = SLURM_PROCID, LOCAL_RANK = SLURM_LOCALID. The argv is exec'd
 * verbatim: nothing in an argument or a value is parsed by a shell.
 */
export function renderTaskCommand(runId: string, argv: readonly string[], env: Readonly<Record<string, string>>, cwd: string): string {
  const { CUDA_VISIBLE_DEVICES: _cvd, ...rest } = env;
  const pet = [
    ...("PET_MASTER_ADDR" in env ? [`PET_MASTER_ADDR="$sy_master"`] : []),
    ...("PET_NODE_RANK" in env ? [`PET_NODE_RANK="\${SLURM_PROCID:-0}"`] : []),
  ];
  const lines = [
    `/bin/rm -f -- "$0"`,
    `# Generated by Switchyard for run ${runId}, run by its Slurm task wrapper. Every value is single-quoted.`,
    `sy_master=\${SWITCHYARD_SLURM_MASTER:-localhost}`,
    `sy_cvd=\${CUDA_VISIBLE_DEVICES-}`,
    `for sy_name in $(/usr/bin/env | /bin/sed -n 's/^\\([A-Za-z_][A-Za-z0-9_]*\\)=.*/\\1/p'); do`,
    `  case $sy_name in SLURM_EXPORT_ENV | SLURM_GET_USER_ENV) unset "$sy_name" ;; ${KEPT}) ;; *) unset "$sy_name" 2>/dev/null ;; esac`,
    "done",
    `cd ${shellQuote(cwd)} || exit 126`,
    "unset OLDPWD",
    renderEnvScript(rest).trimEnd(),
    `export CUDA_VISIBLE_DEVICES="$sy_cvd" MASTER_ADDR="$sy_master" RANK="\${SLURM_PROCID:-0}" LOCAL_RANK="\${SLURM_LOCALID:-0}"${pet.length > 0 ? ` ${pet.join(" ")}` : ""}`,
    "unset sy_master sy_cvd sy_name",
    `exec ${argv.map(shellQuote).join(" ")}`,
  ].filter((line) => line !== "");
  return `${lines.join("\n")}\n`;
}
