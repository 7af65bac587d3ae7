/**
 * The local executor's on-disk protocol: the files of a run directory, the POSIX shell shim that owns a replica, and
 * the generated scripts that set the replica's environment and exec its argv.
 *
 * `runsDir/<runId>/` (0700, inside the platform's private data dir: nothing of the job ever opens a file here):
 * | file          | written by | when | content |
 * |---------------|------------|------|---------|
 * | `launched`    | node       | before spawning the shim (exclusive create: the launch claim) | launch time, ms |
 * | `spec.json`   | node       | before spawning | the launch spec for people: env variable names only, never values |
 * | `command.sh`  | node       | before spawning | run as root by the shim under `env -i`; deletes itself first thing (below) |
 * | `env.sh`      | node       | before spawning, with runAs or a sandbox | `export` lines of the environment; opened on fd 3 and deleted by command.sh |
 * | `shim.sh`     | node       | before spawning | the shim below |
 * | `log.limits`  | node       | before spawning | `<chunkBytes> <headChunks> <tailChunks>`: the run's log layout, for the writer and for readers |
 * | `nice`        | node       | before spawning | the nice value the replica and its log writer run at (the shim applies it with `nice -n`) |
 * | `lock/`       | shim       | first thing (mkdir is atomic: a second shim for the run exits) | — |
 * | `shim.pid`    | shim       | before starting the command | `<pid> <startTicks> <startedAtMs>` |
 * | `log.pipe`    | shim       | a FIFO (0622: the job's account may reopen /dev/stdout), unlinked once the shim has it open | — |
 * | `pgid`        | command    | in its own new session, before exec | `<pgid> <startTicks>` |
 * | `log.<12 digits>` | writer | chunk N holds bytes [N·chunkBytes, (N+1)·chunkBytes) of the output; written whole, in order | — |
 * | `log.current` | writer     | as each chunk starts | symlink to it, for `tail -F` |
 * | `output.log`  | command    | only for runs of earlier versions (or a missing `log.limits`): the whole output, appended | — |
 * | `status`      | shim       | after the command ended and the writer wrote all its output (temp + mv) | `<exitCode> <startedAtMs> <endedAtMs>` |
 *
 * The job's environment may hold secrets: it is in no argv (argv is world-readable in /proc) and it leaves the disk
 * the moment the command starts (command.sh and env.sh are deleted once open). `inspect` and recovery read only
 * `launched`, `lock`, `shim.pid`, `pgid` and `status`; a relaunch of an absent run writes every file afresh.
 *
 * The log writer. The command's stdout and stderr go into a pipe whose only reader is the writer, started by the shim
 * (root, the platform's, never in the sandbox or as the job's account) in a session and process group of its own: a
 * signal to the job's group (terminate, the shim's final SIGKILL) never reaches it, so it writes what the job printed
 * on its way out. It is `sh` around coreutils `split -b chunkBytes --filter`, which hands each chunk to `LOG_FILTER` (run-log.ts)
 * (one `sh` and `cat` per chunk, waited for before the next starts): the filter first removes the chunk that just left
 * the tail (index N − tailChunks − 1, unless it is one of the first headChunks), then writes its chunk. So the run
 * directory never holds more than headChunks + tailChunks full chunks plus the one being written, whether or not
 * anyone reads. Costs per replica: `sh` and `split` while it is quiet (~3 MB VmRSS, ~0.2 MB PSS: shared pages), plus
 * `sh`, `rm`, `ln` and `cat` per chunk while it writes (~6.5 MB VmRSS and ~1 MB PSS at most, measured in a flood).
 * The writer never fails the job: the pipe only applies backpressure; a chunk that cannot be written (disk full) is
 * read and discarded, split keeps chunk boundaries (readers show the hole as lost output), and should split itself
 * die, `cat` drains the pipe to /dev/null. When the command's leader ends and its group is killed, the writer sees
 * end-of-file once the last copy of the pipe closes; the shim waits for it (at most ~6 s: a process that left the
 * job's group may hold the pipe open, and then loses its output when the writer is killed) before writing `status`.
 */

import { rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { ReplicaLaunch } from "./executor.js";
import type { LaunchPlan } from "./executor-local-sandbox.js";
import { LOG_FILTER, LogFile, REAP_LOG_WRITER, type LogLayout } from "./run-log.js";
import { integers, renderEnvScript, shellQuote } from "./run-status.js";

export const RunFile = {
  launched: "launched",
  spec: "spec.json",
  command: "command.sh",
  env: "env.sh",
  shim: "shim.sh",
  lock: "lock",
  shimPid: "shim.pid",
  pgid: "pgid",
  log: LogFile.legacy,
  logLimits: LogFile.limits,
  nice: "nice",
  logCurrent: LogFile.current,
  status: "status",
} as const;

/**
 * The shim, run as `/bin/sh shim.sh RUN_DIR` in a session of its own. It costs one dash process (~1.6 MB RSS, most of
 * it shared libc pages) per replica while the replica runs, plus the log writer (above). The command is started
 * through `setsid` in a new session (the shim's background child is not a group leader, so `setsid` does not fork and
 * `$!` is the command's pid and pgid); it records its own pgid before exec'ing, so no instant exists where it runs
 * unrecorded. When the command's leader ends, what is left of its group is killed, as a container's processes die
 * with its init. With a user switch or a sandbox the leader's pid passes by exec from that root shell to setpriv, then
 * to the outer bwrap, so the recorded group is the whole chain (bwrap's pid-1 reaper and the job included). The pipe
 * is opened read-write first (which never blocks), so that neither end's open waits for the other.
 */
export const SHIM_SCRIPT = `#!/bin/sh
# Switchyard local-executor shim: sh shim.sh RUN_DIR. See executor-local-shim.ts for the file protocol.
dir=$1
mkdir "$dir/lock" 2>/dev/null || exit 0
read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ ticks _ < /proc/self/stat
started=$(date +%s%3N)
printf '%s %s %s\\n' "$$" "$ticks" "$started" > "$dir/shim.pid.tmp" && mv -f "$dir/shim.pid.tmp" "$dir/shim.pid"
read -r nice 2>/dev/null < "$dir/nice" && [ "$nice" -ge 0 ] 2>/dev/null || nice=0
writer=
if read -r chunk head tail 2>/dev/null < "$dir/log.limits" && [ "$chunk" -gt 0 ] && [ "$head" -ge 0 ] && [ "$tail" -ge 0 ] &&
  rm -f "$dir/log.pipe" && mkfifo -m 622 "$dir/log.pipe"; then
  exec 3<>"$dir/log.pipe" 4<"$dir/log.pipe" 5>"$dir/log.pipe" 3>&-
  rm -f "$dir/log.pipe"
  nice -n "$nice" setsid /bin/sh -c 'sy_head=$3 sy_tail=$4 SHELL=/bin/sh split -b "$2" -d -a 12 --filter="$5" - "$1/log."; exec cat' \\
    switchyard-log "$dir" "$chunk" "$head" "$tail" '${LOG_FILTER}' <&4 >/dev/null 2>&1 4<&- 5>&- &
  writer=$!
  exec 4<&-
else
  exec 5>> "$dir/output.log"
fi
setsid /bin/sh -c 'read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ t _ < /proc/self/stat
printf "%s %s\\n" "$$" "$t" > "$1/pgid.tmp" && mv -f "$1/pgid.tmp" "$1/pgid"
exec nice -n "$2" env -i /bin/sh "$1/command.sh"' switchyard-replica "$dir" "$nice" < /dev/null >&5 2>&1 5>&- &
pid=$!
exec 5>&-
wait "$pid"
code=$?
kill -s KILL -- "-$pid" 2>/dev/null
${REAP_LOG_WRITER}
ended=$(date +%s%3N)
printf '%s %s %s\\n' "$code" "$started" "$ended" > "$dir/status.tmp" && mv -f "$dir/status.tmp" "$dir/status"
`;

/**
 * Writes what the shim needs to start a claimed run: command.sh (and env.sh with a chain), shim.sh, and spec.json
 * with the names of the environment's variables but none of its values. Every file is written whole (temp + rename).
 */
export async function writeRunFiles(
  dir: string,
  spec: ReplicaLaunch,
  plan: LaunchPlan,
  env: Readonly<Record<string, string>>,
  sandbox: string,
  log: LogLayout,
  niceness = 0,
): Promise<void> {
  await rm(join(dir, RunFile.env), { force: true });
  await writeAtomic(join(dir, RunFile.nice), `${niceness}\n`);
  await writeAtomic(join(dir, RunFile.logLimits), `${log.chunkBytes} ${log.headChunks} ${log.tailChunks}\n`);
  if (plan.chain === null) {
    await writeAtomic(join(dir, RunFile.command), renderCommandScript(spec.runId, spec.command, env, plan.cwd));
  } else {
    await writeAtomic(join(dir, RunFile.env), renderEnvScript(env));
    await writeAtomic(join(dir, RunFile.command), renderChainScript(spec.runId, join(dir, RunFile.env), plan.chain));
  }
  await writeAtomic(join(dir, RunFile.shim), SHIM_SCRIPT);
  const { env: _values, ...rest } = spec;
  const record = { ...rest, workingDir: plan.cwd, envNames: Object.keys(env).sort(), sandbox };
  await writeAtomic(join(dir, RunFile.spec), `${JSON.stringify(record, null, 2)}\n`);
}

async function writeAtomic(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o600 });
  await rename(tmp, path);
}

/**
 * The replica's script when it runs as the platform's user, unsandboxed: run under `env -i /bin/sh`, it deletes
 * itself, and its environment is exactly `env` (plus the `PWD` the shell sets); `argv` is exec'd verbatim, so nothing
 * in an argument or a value is ever parsed by a shell.
 */
export function renderCommandScript(runId: string, argv: readonly string[], env: Readonly<Record<string, string>>, cwd: string): string {
  const lines = [
    `/bin/rm -f -- "$0"`,
    `# Generated by Switchyard for run ${runId}: working directory, environment, argv. Every value is single-quoted.`,
    `cd ${shellQuote(cwd)} || exit 126`,
    "unset OLDPWD",
    renderEnvScript(env).trimEnd(),
    `exec ${argv.map(shellQuote).join(" ")}`,
  ].filter((line) => line !== "");
  return `${lines.join("\n")}\n`;
}

/**
 * The replica's script with a user switch or a sandbox (see executor-local-sandbox.ts): run as root under `env -i`,
 * it opens `envPath` on fd 3 for the switched user's shell, deletes itself and `envPath`, leaves the run directory,
 * ignores SIGTERM (inherited by setpriv and bwrap; restored for the program) and execs `chain`. No variable of the
 * job's environment is ever set in a process that runs as root.
 */
export function renderChainScript(runId: string, envPath: string, chain: readonly string[]): string {
  const lines = [
    `# Generated by Switchyard for run ${runId}; run as root: the environment goes to the switched user on fd 3.`,
    `exec 3< ${shellQuote(envPath)} || exit 126`,
    `/bin/rm -f -- "$0" ${shellQuote(envPath)}`,
    "cd / || exit 126",
    "unset PWD OLDPWD",
    "trap '' TERM",
    `exec ${chain.map(shellWord).join(" ")}`,
  ];
  return `${lines.join("\n")}\n`;
}

/** A word as is when it holds nothing a shell treats specially, else single-quoted. */
function shellWord(word: string): string {
  return /^[A-Za-z0-9_./:,+=@%-]+$/.test(word) ? word : shellQuote(word);
}

export interface ShimRecord {
  pid: number;
  startTicks: number;
  startedAtMs: number;
}

export interface GroupRecord {
  pgid: number;
  leaderStartTicks: number;
}

export function parseShimRecord(text: string): ShimRecord | null {
  const v = integers(text, 3);
  return v === null ? null : { pid: v[0]!, startTicks: v[1]!, startedAtMs: v[2]! };
}

export function parseGroupRecord(text: string): GroupRecord | null {
  const v = integers(text, 2);
  return v === null || v[0]! <= 1 ? null : { pgid: v[0]!, leaderStartTicks: v[1]! };
}
