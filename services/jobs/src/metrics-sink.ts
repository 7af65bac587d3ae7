import type { Executor } from "@switchyard/executors";
import type { Logger } from "@switchyard/core";
import type { ReplicaRow } from "./job-rows.js";
import type { JobStore } from "./job-store.js";
import { parseMetricChunk } from "./metrics-collector.js";
import type { MetricsStore } from "./metrics-store.js";

/** Read, parsed and stored in one go: about 2,500 lines, a few ms of work; the event loop turns between reads. */
const MAX_READ_BYTES = 64 * 1024;
/** What one sweep (every 500 ms) reads of a running replica's log: up to 2 MB/s of output scanned per job. */
const SWEEP_BYTES = 1024 * 1024;

/**
 * Turns `name=value` lines of replica 0's output into stored time series. The read offset is stored in the same
 * transaction as the points, so a restart neither loses nor double-counts a point.
 */
export class MetricsCollector {
  private timer: NodeJS.Timeout | undefined;
  private busy = false;
  private readonly locks = new Map<string, Promise<void>>();

  constructor(
    private readonly store: JobStore,
    private readonly executor: Executor,
    private readonly log: Logger,
    private readonly series: MetricsStore,
    /** Points kept per series for a job's queue (queues.yaml limits.metricPoints). */
    private readonly maxPointsOf: (queue: string) => number,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => void this.sweep(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async sweep(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const live = await this.store.runningPrimaries();
      for (const r of live) await this.collect(r, false);
    } catch (err) {
      this.log.warn({ err: String(err) }, "metrics sweep failed");
    } finally {
      this.busy = false;
    }
  }

  /** Reads what replica 0 wrote since the last read; `final` also takes a last line without a newline. */
  collect(replica: ReplicaRow, final: boolean): Promise<void> {
    if (replica.idx !== 0) return Promise.resolve();
    const prev = this.locks.get(replica.run_id) ?? Promise.resolve();
    const next = prev.then(() => this.collectNow(replica, final));
    this.locks.set(replica.run_id, next);
    void next.finally(() => {
      if (this.locks.get(replica.run_id) === next) this.locks.delete(replica.run_id);
    }).catch(() => undefined);
    return next;
  }

  private async collectNow(replica: ReplicaRow, final: boolean): Promise<void> {
    // A sweep reads at most SWEEP_BYTES of a running replica's log (the next sweep goes on from there): a job that
    // floods its output costs the service a bounded share of its time, and the log writer's dropped stretches are
    // skipped whole when the reader reaches them. The final read after a replica ends takes the rest.
    let budget = final ? Infinity : SWEEP_BYTES;
    for (;;) {
      const current = (await this.store.replica(replica.run_id)) ?? replica;
      const chunk = await this.executor.readLog(replica.run_id, { offset: current.metrics_offset, maxBytes: MAX_READ_BYTES }).catch(() => undefined);
      if (!chunk || chunk.data.length === 0) return;
      const parsed = parseMetricChunk(chunk.data, final && chunk.data.length < MAX_READ_BYTES);
      // A line longer than a whole read is no metric line: skip what was read of it rather than wait forever.
      const { metrics, consumed } = parsed.consumed === 0 && chunk.data.length === MAX_READ_BYTES ? { metrics: [], consumed: chunk.data.length } : parsed;
      if (consumed === 0) return;
      const now = Date.now();
      const queue = metrics.length > 0 ? (await this.store.summaries([replica.job_uid])).get(replica.job_uid)?.queue : undefined;
      // A read that reached a dropped stretch of the log ends with the executor's marker line: then the next offset
      // is past the gap (nextOffset), not inside it.
      const offset = consumed === chunk.data.length ? chunk.nextOffset : current.metrics_offset + consumed;
      await this.series.appendAndAdvance({ runId: replica.run_id, jobUid: replica.job_uid, points: metrics, time: now, maxPoints: this.maxPointsOf(queue ?? ""), offset });
      if (chunk.data.length < MAX_READ_BYTES) return;
      budget -= chunk.data.length;
      if (budget <= 0) return;
      await new Promise((r) => setImmediate(r));
    }
  }
}
