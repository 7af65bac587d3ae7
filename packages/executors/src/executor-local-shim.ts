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
 * | `lock/`       | shim       | first thing (mkdir is atomic: a second shim for the run exits) | — |
 * | `shim.pid`    | shim       | before starting the command | `<pid> <startTicks> <startedAtMs>` |
 * | `pgid`        | command    | in its own new session, before exec | `<pgid> <startTicks>` |
 * | `output.log`  | command    | stdout and stderr, appended (an fd the root shim opened: inherited, never reopened) | — |
 * | `status`      | shim       | after the command ended (temp + mv) | `<exitCode> <startedAtMs> <endedAtMs>` |
 *
 * The job's environment may hold secrets: it is in no argv (argv is world-readable in /proc) and it leaves the disk
 * the moment the command starts (command.sh and env.sh are deleted once open). `inspect` and recovery read only
 * `launched`, `lock`, `shim.pid`, `pgid` and `status`; a relaunch of an absent run writes every file afresh.
 */

import { rename, rm, writeFile } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import { join } from "node:path";
import type { ReplicaLaunch, ReplicaState } from "./executor.js";
import type { LaunchPlan } from "./executor-local-sandbox.js";

export const RunFile = {
  launched: "launched",
  spec: "spec.json",
  command: "command.sh",
  env: "env.sh",
  shim: "shim.sh",
  lock: "lock",
  shimPid: "shim.pid",
  pgid: "pgid",
  log: "output.log",
  status: "status",
} as const;

/**
 * The shim, run as `/bin/sh shim.sh RUN_DIR` in a session of its own. It costs one dash process (~1.6 MB RSS, most of
 * it shared libc pages) per replica while the replica runs. The command is started through `setsid` in a new session
 * (the shim's background child is not a group leader, so `setsid` does not fork and `$!` is the command's pid and
 * pgid); it records its own pgid before exec'ing, so no instant exists where it runs unrecorded. When the command's
 * leader ends, what is left of its group is killed, as a container's processes die with its init. With a user switch
 * or a sandbox the leader's pid passes by exec from that root shell to setpriv, then to the outer bwrap, so the
 * recorded group is the whole chain (bwrap's pid-1 reaper and the job included).
 */
export const SHIM_SCRIPT = `#!/bin/sh
# Switchyard local-executor shim: sh shim.sh RUN_DIR. See executor-local-shim.ts for the file protocol.
dir=$1
mkdir "$dir/lock" 2>/dev/null || exit 0
read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ ticks _ < /proc/self/stat
started=$(date +%s%3N)
printf '%s %s %s\\n' "$$" "$ticks" "$started" > "$dir/shim.pid.tmp" && mv -f "$dir/shim.pid.tmp" "$dir/shim.pid"
setsid /bin/sh -c 'read -r _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ _ t _ < /proc/self/stat
printf "%s %s\\n" "$$" "$t" > "$1/pgid.tmp" && mv -f "$1/pgid.tmp" "$1/pgid"
exec env -i /bin/sh "$1/command.sh"' switchyard-replica "$dir" < /dev/null >> "$dir/output.log" 2>&1 &
pid=$!
wait "$pid"
code=$?
kill -s KILL -- "-$pid" 2>/dev/null
ended=$(date +%s%3N)
printf '%s %s %s\\n' "$code" "$started" "$ended" > "$dir/status.tmp" && mv -f "$dir/status.tmp" "$dir/status"
`;

/**
 * Writes what the shim needs to start a claimed run: command.sh (and env.sh with a chain), shim.sh, and spec.json
 * with the names of the environment's variables but none of its values. Every file is written whole (temp + rename).
 */
export async function writeRunFiles(dir: string, spec: ReplicaLaunch, plan: LaunchPlan, env: Readonly<Record<string, string>>, sandbox: string): Promise<void> {
  await rm(join(dir, RunFile.env), { force: true });
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

/** Quotes one word for a POSIX shell: inside single quotes nothing is special except `'` itself. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
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

/** `export 'K=V'` lines: read by a shell, they set exactly `env`. */
export function renderEnvScript(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([key, value]) => `export ${shellQuote(`${key}=${value}`)}\n`)
    .join("");
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

export interface StatusRecord {
  exitCode: number;
  startedAtMs: number;
  endedAtMs: number;
}

function integers(text: string, count: number): number[] | null {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== count) return null;
  const values = parts.map(Number);
  return values.every((v) => Number.isSafeInteger(v)) ? values : null;
}

export function parseShimRecord(text: string): ShimRecord | null {
  const v = integers(text, 3);
  return v === null ? null : { pid: v[0]!, startTicks: v[1]!, startedAtMs: v[2]! };
}

export function parseGroupRecord(text: string): GroupRecord | null {
  const v = integers(text, 2);
  return v === null || v[0]! <= 1 ? null : { pgid: v[0]!, leaderStartTicks: v[1]! };
}

export function parseStatusRecord(text: string): StatusRecord | null {
  const v = integers(text, 3);
  return v === null ? null : { exitCode: v[0]!, startedAtMs: v[1]!, endedAtMs: v[2]! };
}

const SIGNAL_NAMES = new Map<number, string>();
for (const [name, number] of Object.entries(osConstants.signals)) if (!SIGNAL_NAMES.has(number)) SIGNAL_NAMES.set(number, name);

/** The shell reports death by signal N as 128+N; a program that itself exits 128+N reads the same. */
export function exitedState(s: StatusRecord): ReplicaState {
  const signal = s.exitCode > 128 ? (SIGNAL_NAMES.get(s.exitCode - 128) ?? null) : null;
  return { kind: "exited", exitCode: s.exitCode, signal, startedAtMs: s.startedAtMs, endedAtMs: s.endedAtMs };
}
