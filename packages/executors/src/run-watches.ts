/**
 * Exit notifications for an engine (local, Slurm): one shared, unref'd poll timer for every watched run, plus inotify
 * (`fs.watch`) on each run directory so that an exit is usually seen within milliseconds. The poll stays the source
 * of truth: inotify only triggers an early check (it sees nothing on a network file system, nor what happens on
 * another machine), and a run directory that cannot be watched is simply polled. With `maxPollMs` above `pollMs`,
 * the poll backs off (×1.5 per quiet round) while nothing ends, and starts again at `pollMs` when a run is added.
 */
import { watch as watchFs, type FSWatcher } from "node:fs";
import type { Logger } from "@switchyard/core";
import type { ReplicaState } from "./executor.js";

export interface RunWatchesOptions {
  pollMs: number;
  /** The longest interval the poll backs off to; default `pollMs` (no backoff). */
  maxPollMs?: number;
  logger: Logger;
  runDir(runId: string): string;
  inspect(runId: string): Promise<ReplicaState>;
}

interface Entry {
  onExit: (state: ReplicaState) => void;
  done: boolean;
}

export class RunWatches {
  private readonly entries = new Map<string, Set<Entry>>();
  private readonly fsWatchers = new Map<string, FSWatcher>();
  private readonly checking = new Set<string>();
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private intervalMs: number;

  constructor(private readonly o: RunWatchesOptions) {
    this.intervalMs = o.pollMs;
  }

  /** Calls `onExit` once, when the run is `exited` or `lost`; returns the function that stops watching. */
  add(runId: string, onExit: (state: ReplicaState) => void): () => void {
    const entry: Entry = { onExit, done: false };
    let set = this.entries.get(runId);
    if (set === undefined) {
      set = new Set();
      this.entries.set(runId, set);
      this.watchDir(runId);
    }
    set.add(entry);
    void this.check(runId);
    if (this.timer !== null && this.intervalMs > this.o.pollMs) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.intervalMs = this.o.pollMs;
    this.schedule();
    return () => {
      entry.done = true;
      const current = this.entries.get(runId);
      current?.delete(entry);
      if (current !== undefined && current.size === 0) this.forget(runId);
    };
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const runId of [...this.entries.keys()]) this.forget(runId);
  }

  private watchDir(runId: string): void {
    try {
      const w = watchFs(this.o.runDir(runId), { persistent: false }, () => void this.check(runId));
      w.on("error", () => {
        w.close();
        if (this.fsWatchers.get(runId) === w) this.fsWatchers.delete(runId);
      });
      this.fsWatchers.set(runId, w);
    } catch {
      // No directory yet, or no inotify watches left: the poll covers it.
    }
  }

  private forget(runId: string): void {
    this.entries.delete(runId);
    this.fsWatchers.get(runId)?.close();
    this.fsWatchers.delete(runId);
  }

  private schedule(): void {
    if (this.timer !== null || this.closed || this.entries.size === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.intervalMs = Math.min(this.o.maxPollMs ?? this.o.pollMs, this.intervalMs * 1.5);
      void Promise.all([...this.entries.keys()].map((runId) => this.check(runId))).finally(() => this.schedule());
    }, this.intervalMs);
    this.timer.unref();
  }

  private async check(runId: string): Promise<void> {
    if (this.checking.has(runId) || !this.entries.has(runId)) return;
    this.checking.add(runId);
    try {
      if (!this.fsWatchers.has(runId)) this.watchDir(runId);
      const state = await this.o.inspect(runId);
      if (state.kind !== "exited" && state.kind !== "lost") return;
      const due = [...(this.entries.get(runId) ?? [])];
      this.forget(runId);
      for (const entry of due) {
        if (entry.done) continue;
        entry.done = true;
        try {
          entry.onExit(state);
        } catch (err) {
          this.o.logger.error({ runId, err }, "an onExit callback threw");
        }
      }
    } catch (err) {
      this.o.logger.warn({ runId, err }, "could not inspect a watched run; will retry");
    } finally {
      this.checking.delete(runId);
    }
  }
}
