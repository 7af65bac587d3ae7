/**
 * Bounded run logs, the format every engine writes and one reader reads: the first `headBytes` and the latest
 * `tailBytes` of what a replica wrote, kept as numbered chunk files in the run's directory while it writes, whether or
 * not anyone reads. The writer is `LOG_FILTER` under coreutils `split` (the local engine's shim and the Slurm engine's
 * task wrapper both start it); `log.limits` records the layout for the writer and for readers.
 *
 * Offsets are logical: positions in everything the replica wrote. Chunk N holds bytes [N·C, N·C + size) of it, so
 * what is missing between two chunk files (chunks the writer removed, or the rest of a chunk it could not write) is a
 * gap of known size. A read stops at a gap and ends with one marker line for it; `nextOffset` is then the gap's end.
 * A gap takes the cut lines at its edges with it (the last partial line before it and the first after it, when their
 * ends lie within `EDGE_BYTES`), so a line-by-line consumer (the metrics collector) never sees half a line.
 *
 * The directory may belong to the job's account (Slurm): every file is opened without following symlinks, without
 * blocking on FIFOs, and only when it is a regular file (`SAFE_READ_FLAGS`).
 */
import { existsSync } from "node:fs";
import { open, readdir, lstat, stat } from "node:fs/promises";
import { join } from "node:path";
import { SwitchyardError, invalidArgument, notFound } from "@switchyard/core";
import type { LogChunk, LogLimits, LogReadOptions } from "./executor.js";
import { SAFE_READ_FLAGS, integers, readRecord } from "./run-status.js";

/** The log's files in a run directory. */
export const LogFile = {
  /** `<chunkBytes> <headChunks> <tailChunks>`: the layout, for the writer and for readers. */
  limits: "log.limits",
  /** Symlink to the chunk being written, for `tail -F`. */
  current: "log.current",
  /** The whole output, appended, of runs without a layout (earlier versions, or a missing `log.limits`). */
  legacy: "output.log",
} as const;

/** How a run's log is stored (`log.limits`): chunks of `chunkBytes`; the first `headChunks` and the latest `tailChunks` are kept. */
export interface LogLayout {
  chunkBytes: number;
  headChunks: number;
  tailChunks: number;
}

export function parseLogLayout(text: string): LogLayout | null {
  const v = integers(text, 3);
  return v === null || v[0]! <= 0 || v[1]! < 0 || v[2]! < 0 ? null : { chunkBytes: v[0]!, headChunks: v[1]!, tailChunks: v[2]! };
}

/**
 * Run by `/bin/sh -c` for each chunk of a run's output, with `FILE` (`<dir>/log.<N>`, from split), `sy_head` and
 * `sy_tail` (chunk counts) in its environment and the chunk on stdin. Always exits 0: split gives up on the whole
 * stream when a filter fails. No single quote: the writers pass it single-quoted.
 */
export const LOG_FILTER =
  'n=${FILE##*.}; n=${n#"${n%%[!0]*}"}; old=$((${n:-0} - sy_tail - 1)); ' +
  'if [ "$old" -ge "$sy_head" ]; then o=000000000000$old; rm -f "${FILE%.*}.${o#"${o%????????????}"}"; fi; ' +
  'ln -sfn "${FILE##*/}" "${FILE%.*}.current"; cat > "$FILE" || cat > /dev/null; exit 0';

/**
 * Shell, run by both engines' wrappers once the job's process group is gone: waits for the log writer (`$writer`, the
 * pid of the `split` pipeline, leader of its own group) to drain the pipe, 500 × (10 ms + a fork), ~6 s. The writer is
 * gone once /proc shows it a zombie or not at all (dash reaps children while it waits for others); it is killed only
 * while /proc shows it alive as this shell's child and its group's leader, so a reused pid is never hit. No single
 * quote: the Slurm wrapper holds it in a quoted here-document.
 */
export const REAP_LOG_WRITER = `if [ -n "$writer" ]; then
  n=0
  while [ "$n" -lt 500 ] && read -r _ _ s _ 2>/dev/null < "/proc/$writer/stat" && [ "$s" != Z ]; do sleep 0.01; n=$((n + 1)); done
  if read -r _ _ s pp pg _ 2>/dev/null < "/proc/$writer/stat" && [ "$s" != Z ] && [ "$pp" = $$ ] && [ "$pg" = "$writer" ]; then
    kill -s KILL -- "-$writer"
  fi
  wait "$writer"
fi`;

const MiB = 1 << 20;
/** Per run: the first 8 MiB and the latest 56 MiB, so a run's log takes at most 64 MiB plus one chunk on disk. */
export const DEFAULT_LOG_LIMITS: Readonly<LogLimits> = Object.freeze({ headBytes: 8 * MiB, tailBytes: 56 * MiB });
/** The writer's unit: the log on disk exceeds head + tail by at most this; each chunk costs a few forks. */
export const DEFAULT_LOG_CHUNK_BYTES = 4 * MiB;
const MIN_LOG_CHUNK_BYTES = 4096;
const MAX_LOG_CHUNK_BYTES = 1 << 30;
/** How far from a gap its cut lines are looked for. */
const EDGE_BYTES = 64 * 1024;
const CHUNK_FILE = /^log\.(\d{12})$/;

export function compileLogChunkBytes(value: number | undefined): number {
  if (value === undefined) return DEFAULT_LOG_CHUNK_BYTES;
  if (!Number.isSafeInteger(value) || value < MIN_LOG_CHUNK_BYTES || value > MAX_LOG_CHUNK_BYTES) {
    throw invalidArgument(`local executor: logChunkBytes must be an integer from ${MIN_LOG_CHUNK_BYTES} to ${MAX_LOG_CHUNK_BYTES}`, [
      { field: "logChunkBytes", message: "out of range", expected: `${MIN_LOG_CHUNK_BYTES}..${MAX_LOG_CHUNK_BYTES}`, got: String(value) },
    ]);
  }
  return value;
}

/** Validates limits (`field` names them in the error: `logLimits`); undefined gives `fallback`. */
export function compileLogLimits(limits: LogLimits | undefined, field: string, fallback: Readonly<LogLimits>): Readonly<LogLimits> {
  if (limits === undefined) return fallback;
  const problems = (["headBytes", "tailBytes"] as const)
    .filter((key) => !Number.isSafeInteger(limits?.[key]) || limits[key] < 0)
    .map((key) => ({ field: `${field}.${key}`, message: "must be an integer >= 0", got: String(limits?.[key]) }));
  if (problems.length > 0) throw invalidArgument(`invalid log limits: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`, problems);
  return Object.freeze({ headBytes: limits.headBytes, tailBytes: limits.tailBytes });
}

/** Limits in whole chunks, each rounded up: the run keeps at least what was asked. */
export function logLayout(limits: Readonly<LogLimits>, chunkBytes: number): LogLayout {
  return { chunkBytes, headChunks: Math.ceil(limits.headBytes / chunkBytes), tailChunks: Math.ceil(limits.tailBytes / chunkBytes) };
}

/** `log.current` for runs with a layout; `output.log` for runs of earlier versions (no I/O beyond one existsSync). */
export function logPathIn(dir: string): string {
  const legacy = join(dir, LogFile.legacy);
  return existsSync(legacy) ? legacy : join(dir, LogFile.current);
}

/** Reads a run's log from a logical offset; the run directory must exist. */
export async function readRunLog(dir: string, offset: number, maxBytes: number): Promise<LogChunk> {
  const layout = parseLogLayout((await readRecord(join(dir, LogFile.limits))) ?? "");
  if (layout === null) return readLegacy(join(dir, LogFile.legacy), offset, maxBytes);
  // A chunk may be removed between listing and reading it: read again against the new listing.
  for (let attempt = 0; ; attempt++) {
    try {
      return await readChunks(dir, layout, offset, maxBytes);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "ENOENT" || attempt >= 8) throw err;
    }
  }
}

interface Piece {
  index: number;
  start: number;
  size: number;
}

interface Gap {
  start: number;
  end: number;
  before: Piece | null;
  after: Piece;
  /** Whether chunks the writer removed (log limits) lie in it. */
  rotated: boolean;
  /** Whether output the writer could not write (disk full) lies in it. */
  lost: boolean;
}

async function readChunks(dir: string, layout: LogLayout, offset: number, maxBytes: number): Promise<LogChunk> {
  const pieces = await listPieces(dir, layout.chunkBytes);
  const last = pieces.at(-1);
  const end = last === undefined ? 0 : last.start + last.size;
  if (offset >= end) return { data: Buffer.alloc(0), nextOffset: offset };
  for (const gap of gapsOf(pieces, layout)) {
    if (gap.after.start + gap.after.size <= offset) continue; // the gap and its edges lie before the offset
    if (offset + maxBytes <= gap.start - EDGE_BYTES) break; // the read ends before the gap's edge could begin
    const edge = await edgesOf(dir, gap);
    if (edge.to <= offset) continue;
    if (offset >= edge.from) {
      const dropped = edge.to - offset;
      return { data: marker(dropped, gap, layout, offset > edge.from || edge.cutLine), nextOffset: edge.to, droppedBytes: dropped };
    }
    const stop = Math.min(offset + maxBytes, edge.from);
    const data = await readRange(dir, pieces, offset, stop);
    if (stop < edge.from || data.length < stop - offset) return { data, nextOffset: offset + data.length };
    const dropped = edge.to - edge.from;
    return { data: Buffer.concat([data, marker(dropped, gap, layout, edge.cutLine)]), nextOffset: edge.to, droppedBytes: dropped };
  }
  const data = await readRange(dir, pieces, offset, Math.min(offset + maxBytes, end));
  return { data, nextOffset: offset + data.length };
}

/**
 * Sizes of chunks that are finished (a later chunk exists: the writer never touches them again), by run directory: a
 * reader that follows a log in small steps stats only the chunk being written, not every kept chunk each time.
 */
const finishedSizes = new Map<string, Map<number, number>>();

async function listPieces(dir: string, chunkBytes: number): Promise<Piece[]> {
  const indices = (await readdir(dir)).flatMap((name) => {
    const m = CHUNK_FILE.exec(name);
    return m === null ? [] : [Number(m[1])];
  });
  const last = Math.max(-1, ...indices);
  let known = finishedSizes.get(dir);
  if (known === undefined) {
    if (finishedSizes.size >= 1000) finishedSizes.delete(finishedSizes.keys().next().value!);
    finishedSizes.set(dir, (known = new Map()));
  }
  const pieces = await Promise.all(
    indices.map(async (index) => {
      let size = known.get(index);
      if (size === undefined) {
        size = await lstat(chunkPath(dir, index)).then(
          (s) => (s.isFile() ? Math.min(s.size, chunkBytes) : 0),
          () => 0,
        );
        if (index < last) known.set(index, size);
      }
      return { index, start: index * chunkBytes, size };
    }),
  );
  // Chunks the writer has removed since: forget them.
  for (const index of known.keys()) if (!indices.includes(index)) known.delete(index);
  return pieces.filter((p) => p.size > 0).sort((a, b) => a.index - b.index);
}

function gapsOf(pieces: readonly Piece[], layout: LogLayout): Gap[] {
  const lastIndex = pieces.at(-1)?.index ?? 0;
  // Chunks H .. last − T − 1 are the ones the writer removes (it removes N − T − 1 just before it creates chunk N, so
  // N − T − 1 may be gone while N − 1 is the last); a short chunk, or one missing elsewhere, could not be written.
  const removedFrom = layout.headChunks;
  const removedTo = lastIndex - layout.tailChunks;
  const gaps: Gap[] = [];
  let before: Piece | null = null;
  for (const piece of pieces) {
    const start = before === null ? 0 : before.start + before.size;
    if (piece.start > start) {
      const lo = before === null ? 0 : before.index + 1;
      const hi = piece.index - 1;
      const [from, to] = [Math.max(lo, removedFrom), Math.min(hi, removedTo)];
      const rotated = from <= to;
      const lost = (before !== null && before.size < layout.chunkBytes) || (lo <= hi && (!rotated || lo < from || hi > to));
      gaps.push({ start, end: piece.start, before, after: piece, rotated, lost });
    }
    before = piece;
  }
  return gaps;
}

/**
 * The gap as readers see it, [from, to): widened to the line boundaries around it when they are near. `cutLine`: the
 * output before `from` does not end a line, so the marker starts with a newline of its own.
 */
async function edgesOf(dir: string, gap: Gap): Promise<{ from: number; to: number; cutLine: boolean }> {
  let from = gap.start;
  let cutLine = false;
  if (gap.before !== null) {
    const lo = Math.max(gap.before.start, gap.start - EDGE_BYTES);
    const bytes = await readAt(chunkPath(dir, gap.before.index), lo - gap.before.start, gap.start - lo);
    const nl = bytes.lastIndexOf(0x0a);
    if (nl >= 0) from = lo + nl + 1;
    else cutLine = true;
  }
  const afterEnd = gap.after.start + gap.after.size;
  const bytes = await readAt(chunkPath(dir, gap.after.index), 0, Math.min(EDGE_BYTES, afterEnd - gap.end));
  const nl = bytes.indexOf(0x0a);
  return { from, to: nl >= 0 ? gap.end + nl + 1 : gap.end, cutLine };
}

function marker(dropped: number, gap: Gap, layout: LogLayout, newlineFirst: boolean): Buffer {
  const kept = `the log keeps the first ${size(layout.headChunks * layout.chunkBytes)} and the latest ${size(layout.tailChunks * layout.chunkBytes)} of each run`;
  const failed = "the log could not be written (disk full?)";
  const why = !gap.rotated ? `lost here — ${failed}` : gap.lost ? `dropped here — ${kept}, and part of it was lost: ${failed}` : `dropped here — ${kept}`;
  return Buffer.from(`${newlineFirst ? "\n" : ""}[switchyard: ${dropped} bytes of output ${why}]\n`);
}

function size(bytes: number): string {
  if (bytes > 0 && bytes % MiB === 0) return `${bytes / MiB} MiB`;
  if (bytes > 0 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Bytes [from, to) of the logical stream, which the caller knows to lie in consecutive pieces. */
async function readRange(dir: string, pieces: readonly Piece[], from: number, to: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  let at = from;
  for (const piece of pieces) {
    if (at >= to) break;
    if (piece.start + piece.size <= at) continue;
    const want = Math.min(to, piece.start + piece.size) - at;
    const got = await readAt(chunkPath(dir, piece.index), at - piece.start, want);
    parts.push(got);
    at += got.length;
    if (got.length < want) break;
  }
  return Buffer.concat(parts);
}

async function readAt(path: string, position: number, length: number): Promise<Buffer> {
  if (length <= 0) return Buffer.alloc(0);
  const file = await openRegular(path);
  try {
    const buffer = Buffer.alloc(length);
    const { bytesRead } = await file.read(buffer, 0, length, position);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

async function readLegacy(path: string, offset: number, maxBytes: number): Promise<LogChunk> {
  let file;
  try {
    file = await openRegular(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return { data: Buffer.alloc(0), nextOffset: offset };
    throw err;
  }
  try {
    const length = Math.max(0, Math.min(maxBytes, (await file.stat()).size - offset));
    const buffer = Buffer.alloc(length);
    const { bytesRead } = length === 0 ? { bytesRead: 0 } : await file.read(buffer, 0, length, offset);
    return { data: buffer.subarray(0, bytesRead), nextOffset: offset + bytesRead };
  } finally {
    await file.close();
  }
}

function chunkPath(dir: string, index: number): string {
  return join(dir, `log.${String(index).padStart(12, "0")}`);
}

/** Opens a log file for reading: never through a symlink, never blocking on a FIFO, regular files only (else ENOENT). */
async function openRegular(path: string): Promise<Awaited<ReturnType<typeof open>>> {
  const file = await open(path, SAFE_READ_FLAGS);
  const st = await file.stat();
  // A hard link is refused too: on a Slurm node the run directory is the job's account's, which could link a file
  // only root may read into it.
  if (!st.isFile() || st.nlink > 1) {
    await file.close();
    throw Object.assign(new Error(`${path} is not a regular file of its own`), { code: "ENOENT" });
  }
  return file;
}

/** How much `readLog` returns when the caller does not say. */
const DEFAULT_READ_BYTES = 1 << 20;

/**
 * Both engines' `readLog` over a run directory: the options checked, a missing directory NOT_FOUND (`where` says
 * where it was looked for), then `readRunLog`.
 */
export async function readLogOf(dir: string, runId: string, where: string, options: LogReadOptions = {}): Promise<LogChunk> {
  const offset = options.offset ?? 0;
  const maxBytes = options.maxBytes ?? DEFAULT_READ_BYTES;
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(maxBytes) || maxBytes <= 0) {
    throw invalidArgument("readLog: offset must be an integer >= 0 and maxBytes an integer > 0", [
      { field: "offset", message: "must be >= 0", got: String(offset) },
      { field: "maxBytes", message: "must be > 0", got: String(maxBytes) },
    ]);
  }
  if ((await stat(dir).catch(() => null)) === null) throw notFound(`no run "${runId}" in ${where}`);
  try {
    return await readRunLog(dir, offset, maxBytes);
  } catch (err) {
    throw SwitchyardError.from(err);
  }
}

/** Bytes the files directly in `dir` take on disk (never following a link); 0 for a directory that is not there. */
export async function dirDiskBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const st = await lstat(join(dir, name)).catch(() => undefined);
    if (st) total += st.blocks * 512;
  }
  return total;
}
