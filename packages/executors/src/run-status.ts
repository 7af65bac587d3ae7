/**
 * The run records every engine writes the same way, so one reader serves them all: the `status` file
 * (`<exitCode> <startedAtMs> <endedAtMs>`, written whole by temp + rename when the command has ended), its reading as
 * a `ReplicaState`, and the shell quoting of the generated scripts that set a replica's environment.
 *
 * Records may lie in a directory the job's own account can write (the Slurm engine's task directories): they are
 * read with `readRecord`, which never follows a symlink, never blocks on a FIFO and reads regular files only, so a
 * job cannot make the platform read (and show it) a file the job itself may not read.
 */
import { constants as fsConstants } from "node:fs";
import { open } from "node:fs/promises";
import { constants as osConstants } from "node:os";
import type { ReplicaState } from "./executor.js";

export interface StatusRecord {
  exitCode: number;
  startedAtMs: number;
  endedAtMs: number;
}

/** Whitespace-separated safe integers, exactly `count` of them; null otherwise. */
export function integers(text: string, count: number): number[] | null {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== count) return null;
  const values = parts.map(Number);
  return values.every((v) => Number.isSafeInteger(v)) ? values : null;
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

/** Quotes one word for a POSIX shell: inside single quotes nothing is special except `'` itself. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** `export 'K=V'` lines: read by a shell, they set exactly `env`. */
export function renderEnvScript(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([key, value]) => `export ${shellQuote(`${key}=${value}`)}\n`)
    .join("");
}

/** Flags for opening a file a job may have planted: no symlink at the last component, no blocking on a FIFO. */
export const SAFE_READ_FLAGS = fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK;

/**
 * A small record file's text (at most `maxBytes`), or null when it is missing, not a regular file, a symlink, or
 * unreadable. Never follows a symlink and never blocks (see the header).
 */
export async function readRecord(path: string, maxBytes = 4096): Promise<string | null> {
  let file;
  try {
    file = await open(path, SAFE_READ_FLAGS);
  } catch {
    return null;
  }
  try {
    const st = await file.stat();
    // Not a hard link either: a job's account could link a file only root may read into its run directory.
    if (!st.isFile() || st.nlink > 1) return null;
    const buffer = Buffer.alloc(Math.min(maxBytes, Math.max(0, st.size)));
    const { bytesRead } = buffer.length === 0 ? { bytesRead: 0 } : await file.read(buffer, 0, buffer.length, 0);
    return buffer.subarray(0, bytesRead).toString("utf8");
  } catch {
    return null;
  } finally {
    await file.close();
  }
}
