/**
 * The Linux process table as durable evidence: `/proc/<pid>/stat` and process-group signals.
 *
 * A pid alone is not an identity (pids are reused, and `pid_max` is often 32768), so every process this package
 * remembers is remembered as `(pid, startTicks)`: field 22 of `/proc/<pid>/stat`, the start time in clock ticks since
 * boot, which never changes for a process and differs for any later process that reuses the pid.
 */
import { readFile, readdir } from "node:fs/promises";
import { Code, SwitchyardError } from "@switchyard/core";

export interface ProcStat {
  pid: number;
  /** One letter: R, S, D, Z (zombie), T, X, … */
  state: string;
  ppid: number;
  pgrp: number;
  startTicks: number;
}

/** Parses `/proc/<pid>/stat`; `comm` may hold spaces and parentheses, so fields are counted after the last `)`. */
export function parseProcStat(text: string): ProcStat | null {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) return null;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 2).split(" ");
  // rest[0] is field 3 (state), so field N is rest[N - 3].
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const startTicks = Number(rest[19]);
  if (state === undefined || !Number.isInteger(pid) || !Number.isInteger(startTicks)) return null;
  return { pid, state, ppid, pgrp, startTicks };
}

export async function readProcStat(pid: number): Promise<ProcStat | null> {
  try {
    return parseProcStat(await readFile(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return null;
  }
}

/** True when the process `(pid, startTicks)` exists and is not a zombie. */
export async function processAlive(pid: number, startTicks: number): Promise<boolean> {
  const stat = await readProcStat(pid);
  return stat !== null && stat.startTicks === startTicks && stat.state !== "Z" && stat.state !== "X";
}

/** A process group as recorded at its creation: the leader's pid (= pgid) and start time. */
export interface GroupIdentity {
  pgid: number;
  leaderStartTicks: number;
}

/**
 * Pids of the live (non-zombie) members of the group. Empty when the group is gone, or when its id now belongs to an
 * unrelated process (the leader's pid reused: Linux frees a pgid only once the whole group is gone, so a live
 * process with that pid and another start time means ours ended).
 */
export async function groupMembers(group: GroupIdentity): Promise<number[]> {
  if (!signalExists(-group.pgid)) return [];
  const leader = await readProcStat(group.pgid);
  if (leader !== null && leader.startTicks !== group.leaderStartTicks) return [];
  const members: number[] = [];
  let names: string[];
  try {
    names = await readdir("/proc");
  } catch {
    return [];
  }
  await Promise.all(
    names.map(async (name) => {
      if (!/^\d+$/.test(name)) return;
      const stat = await readProcStat(Number(name));
      if (stat !== null && stat.pgrp === group.pgid && stat.state !== "Z" && stat.state !== "X") members.push(stat.pid);
    }),
  );
  return members.sort((a, b) => a - b);
}

/** Whether any live process of the group is left: `groupMembers` with a fast path while the leader itself lives. */
export async function groupAlive(group: GroupIdentity): Promise<boolean> {
  if (!signalExists(-group.pgid)) return false;
  const leader = await readProcStat(group.pgid);
  if (leader !== null && leader.startTicks !== group.leaderStartTicks) return false;
  if (leader !== null && leader.state !== "Z" && leader.state !== "X" && leader.pgrp === group.pgid) return true;
  return (await groupMembers(group)).length > 0;
}

/** Sends `signal` to every process of the group if the group is still ours; returns whether anything was signalled. */
export async function signalGroup(group: GroupIdentity, signal: NodeJS.Signals): Promise<boolean> {
  const leader = await readProcStat(group.pgid);
  if (leader !== null && leader.startTicks !== group.leaderStartTicks) return false;
  try {
    process.kill(-group.pgid, signal);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return false;
    throw new SwitchyardError(
      code === "EPERM" ? Code.PermissionDenied : Code.Internal,
      `could not send ${signal} to process group ${group.pgid}: ${(err as Error).message}`,
      { cause: err },
    );
  }
}

/** `kill(target, 0)`: whether a process (or, for a negative target, a process group) exists, zombies included. */
function signalExists(target: number): boolean {
  try {
    process.kill(target, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}
