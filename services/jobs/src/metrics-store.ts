/**
 * A job's metric series, bounded. Each stored row summarizes steps [step, step_to] of one series: the last value, the
 * min and the max, how many points it stands for, the time of the last. A series keeps at most `2 × maxPoints` rows:
 * past that it is downsampled to `maxPoints` buckets of equal step width, each keeping min, max and last of what it
 * merges — the curve's envelope and its latest values survive, the storage does not grow with the log (two million
 * `loss=` lines stored 2,000,123 rows before; now at most 2 × maxPoints per series). A job keeps at most `maxSeries`
 * names; further names are counted, not stored. Reads downsample the same way to the points a caller asks for.
 */
import type { Kysely, Selectable, Transaction } from "@switchyard/store";
import type { JobsDatabase, MetricsTable } from "./schema.js";

export interface MetricLimits {
  /** Rows kept per series after a downsampling (it happens at twice this). Default 2000; queues may set their own (append's maxPoints). */
  maxPoints: number;
  /** Distinct metric names per job. Default 64. */
  maxSeries: number;
  /** Longest metric name kept. Default 64 characters. */
  maxNameLength: number;
}

export const DEFAULT_METRIC_LIMITS: MetricLimits = { maxPoints: 2000, maxSeries: 64, maxNameLength: 64 };

/** One stored row or one bucket: steps [step, stepTo], `count` points, their last `value`, `min`, `max`, last `time`. */
export interface MetricBucket {
  step: number;
  stepTo: number;
  value: number;
  min: number;
  max: number;
  count: number;
  time: number;
}

export interface MetricSeriesRead {
  name: string;
  points: MetricBucket[];
  latest: number;
  min: number;
  max: number;
  /** Points the job reported in this series (kept or merged). */
  total: number;
}

const toBucket = (r: Selectable<MetricsTable>): MetricBucket => ({ step: r.step, stepTo: r.step_to ?? r.step, value: r.value, min: r.min ?? r.value, max: r.max ?? r.value, count: r.count, time: r.time });

/** Merges buckets (ordered by step) into at most `target` buckets of equal step width; min, max and last survive. */
export function downsample(rows: readonly MetricBucket[], target: number): MetricBucket[] {
  if (rows.length <= target || rows.length === 0) return [...rows];
  const first = rows[0]!.step;
  const span = rows[rows.length - 1]!.stepTo - first + 1;
  const width = Math.max(1, Math.ceil(span / target));
  const out: MetricBucket[] = [];
  for (const r of rows) {
    const last = out[out.length - 1];
    if (last !== undefined && Math.floor((r.step - first) / width) === Math.floor((last.step - first) / width)) mergeInto(last, r);
    else out.push({ ...r });
  }
  return out;
}

/** Adds bucket `r` (the later one) to `into`: its steps, its last value and time, the envelope, the count. */
function mergeInto(into: MetricBucket, r: MetricBucket): void {
  into.stepTo = r.stepTo;
  into.value = r.value;
  into.time = r.time;
  into.min = Math.min(into.min, r.min);
  into.max = Math.max(into.max, r.max);
  into.count += r.count;
}

export class MetricsStore {
  constructor(
    private readonly db: Kysely<JobsDatabase>,
    readonly limits: MetricLimits = DEFAULT_METRIC_LIMITS,
  ) {}

  /**
   * Appends new points (in order) to a job's series inside `tx`, downsampling a series that passes its budget.
   * Returns how many points were not kept because their series was over the job's name limit or too long a name.
   */
  async append(tx: Transaction<JobsDatabase>, jobUid: string, points: readonly { name: string; value: number }[], time: number, maxPoints = this.limits.maxPoints): Promise<number> {
    const byName = new Map<string, number[]>();
    let refused = 0;
    for (const p of points) {
      if (p.name.length > this.limits.maxNameLength) {
        refused++;
        continue;
      }
      let list = byName.get(p.name);
      if (list === undefined) byName.set(p.name, (list = []));
      list.push(p.value);
    }
    if (byName.size === 0) return refused;
    const known = new Map(
      (await tx.selectFrom("metrics").select(["name", (eb) => eb.fn.countAll<number>().as("rows"), (eb) => eb.fn.max(eb.fn.coalesce("step_to", "step")).as("last")]).where("job_uid", "=", jobUid).groupBy("name").execute()).map((r) => [r.name, { rows: Number(r.rows), last: Number(r.last) }]),
    );
    let series = known.size;
    for (const [name, values] of byName) {
      let k = known.get(name);
      if (k === undefined) {
        if (series >= this.limits.maxSeries) {
          refused += values.length;
          continue;
        }
        series++;
        k = { rows: 0, last: -1 };
      }
      // New points are merged at the series' current bucket width as they arrive (the width doubles at each
      // downsampling), so a long series grows by points ÷ width rows and is compacted rarely: ingestion stays cheap
      // however fast a job prints.
      const width = k.rows === 0 ? 1 : await lastWidth(tx, jobUid, name);
      const fresh = bucketize(values.map((v, i) => ({ step: k!.last + 1 + i, stepTo: k!.last + 1 + i, value: v, min: v, max: v, count: 1, time })), width);
      if (k.rows + fresh.length <= 2 * maxPoints) {
        await insert(tx, jobUid, name, fresh);
        continue;
      }
      const old = (await tx.selectFrom("metrics").selectAll().where("job_uid", "=", jobUid).where("name", "=", name).orderBy("step").execute()).map(toBucket);
      const kept = downsample([...old, ...downsample(fresh, maxPoints)], maxPoints);
      await tx.deleteFrom("metrics").where("job_uid", "=", jobUid).where("name", "=", name).execute();
      await insert(tx, jobUid, name, kept);
    }
    return refused;
  }

  /**
   * Stores what one read of a replica's log gave — its points (none is fine) and the log offset after them — in one
   * transaction, so a restart neither loses nor repeats a point.
   */
  async appendAndAdvance(o: { runId: string; jobUid: string; points: readonly { name: string; value: number }[]; time: number; maxPoints: number; offset: number }): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      if (o.points.length > 0) await this.append(tx, o.jobUid, o.points, o.time, o.maxPoints);
      await tx.updateTable("replicas").set({ metrics_offset: o.offset }).where("run_id", "=", o.runId).execute();
    });
  }

  /** A job's series (all, or `names`), each downsampled to at most `maxPoints` buckets. */
  async read(jobUid: string, o: { names?: readonly string[]; maxPoints: number }): Promise<MetricSeriesRead[]> {
    let q = this.db.selectFrom("metrics").selectAll().where("job_uid", "=", jobUid);
    if (o.names !== undefined && o.names.length > 0) q = q.where("name", "in", [...o.names]);
    const rows = await q.orderBy("name").orderBy("step").execute();
    const by = new Map<string, MetricBucket[]>();
    for (const r of rows) {
      let list = by.get(r.name);
      if (list === undefined) by.set(r.name, (list = []));
      list.push(toBucket(r));
    }
    return [...by].map(([name, all]) => ({
      name,
      points: downsample(all, o.maxPoints),
      latest: all[all.length - 1]!.value,
      min: Math.min(...all.map((b) => b.min)),
      max: Math.max(...all.map((b) => b.max)),
      total: all.reduce((n, b) => n + b.count, 0),
    }));
  }
}

/** The step width of a series' newest row (its bucket width since the last downsampling). */
async function lastWidth(tx: Transaction<JobsDatabase>, jobUid: string, name: string): Promise<number> {
  const r = await tx.selectFrom("metrics").select(["step", "step_to"]).where("job_uid", "=", jobUid).where("name", "=", name).orderBy("step", "desc").limit(1).executeTakeFirst();
  return r === undefined ? 1 : (r.step_to ?? r.step) - r.step + 1;
}

/** Merges consecutive points into buckets of `width` steps aligned on multiples of `width` (min, max, last kept). */
function bucketize(points: readonly MetricBucket[], width: number): MetricBucket[] {
  if (width <= 1) return [...points];
  const out: MetricBucket[] = [];
  for (const p of points) {
    const last = out[out.length - 1];
    if (last !== undefined && Math.floor(last.step / width) === Math.floor(p.step / width)) mergeInto(last, p);
    else out.push({ ...p });
  }
  return out;
}

async function insert(tx: Transaction<JobsDatabase>, jobUid: string, name: string, rows: readonly MetricBucket[]): Promise<void> {
  // In slices: SQLite takes at most 32,766 bound parameters per statement.
  for (let i = 0; i < rows.length; i += 500) {
    const slice = rows.slice(i, i + 500).map((b) => ({
      job_uid: jobUid,
      name,
      step: b.step,
      step_to: b.stepTo === b.step ? null : b.stepTo,
      value: b.value,
      min: b.count === 1 ? null : b.min,
      max: b.count === 1 ? null : b.max,
      count: b.count,
      time: b.time,
    }));
    await tx.insertInto("metrics").values(slice).execute();
  }
}
