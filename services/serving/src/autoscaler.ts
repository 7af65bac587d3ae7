/**
 * How many replicas a revision wants, from its load: Knative's KPA (which KServe uses) in small — the average
 * concurrency (or requests per second) over a stable window against a per-replica target, a short panic window
 * that scales up at once under a burst, scale-down only after the lower figure held for a delay, and scale to zero
 * (with minReplicas 0) after a grace with no request at all. Pure: samples and time in, a number out.
 *
 * Concurrency is measured, not sampled: each replica reports the time its requests spent in it, summed
 * (`busy_ms_total`); its change over an interval divided by the interval is the average number in flight (Little's
 * law) — sampling in-flight counts once a second would miss every request shorter than the gap between samples.
 */
export interface AutoscalerOptions {
  metric: "concurrency" | "rps";
  /** Per replica: average requests in flight (concurrency) or requests per second (rps). */
  target: number;
  minReplicas: number;
  maxReplicas: number;
  /** Window the steady decision averages over (Knative: 60 s). */
  stableWindowMs: number;
  /** Short window for bursts (Knative: 6 s, a tenth of the stable one). */
  panicWindowMs: number;
  /** A lower figure must hold this long before replicas are removed (Knative's scale-down delay). */
  scaleDownDelayMs: number;
  /** With minReplicas 0: no request for this long and the revision goes to zero. */
  scaleToZeroGraceMs: number;
}

interface Sample {
  at: number;
  /** Summed busy time (ms) over the revision's replicas, and completed requests: cumulative counters. */
  busyMs: number;
  completed: number;
}

export class Autoscaler {
  private readonly samples: Sample[] = [];
  private readonly recommendations: { at: number; want: number }[] = [];

  constructor(public options: AutoscalerOptions) {}

  /**
   * A reading of the revision's cumulative counters (summed over its ready replicas; a replica that went away takes
   * its counts with it, so a drop starts the window afresh rather than reading as negative load).
   */
  observe(at: number, busyMs: number, completed: number): void {
    const last = this.samples.at(-1);
    if (last && (busyMs < last.busyMs || completed < last.completed)) this.samples.length = 0;
    this.samples.push({ at, busyMs, completed });
    const horizon = at - Math.max(this.options.stableWindowMs, this.options.panicWindowMs) - 1000;
    while (this.samples.length > 2 && this.samples[0]!.at < horizon) this.samples.shift();
  }

  /** The load over the last `windowMs`: average concurrency or requests per second; undefined without two samples. */
  private load(at: number, windowMs: number): number | undefined {
    const last = this.samples.at(-1);
    if (!last) return undefined;
    let first: Sample | undefined;
    for (const s of this.samples) {
      if (s.at >= at - windowMs) {
        first = s;
        break;
      }
    }
    if (!first || first === last || last.at - first.at <= 0) return undefined;
    const span = last.at - first.at;
    return this.options.metric === "concurrency" ? (last.busyMs - first.busyMs) / span : ((last.completed - first.completed) * 1000) / span;
  }

  /**
   * The replicas wanted now. `current`: what is wanted at present; `lastActiveAt`: the last time a request was seen
   * (served, or held for activation).
   */
  desired(at: number, current: number, lastActiveAt: number): number {
    const o = this.options;
    const clamp = (n: number) => Math.min(o.maxReplicas, Math.max(o.minReplicas, n));
    const stable = this.load(at, o.stableWindowMs);
    const panic = this.load(at, o.panicWindowMs);
    if (stable === undefined && panic === undefined) return clamp(current);
    const want = Math.max(Math.ceil((stable ?? 0) / o.target - 1e-9), Math.ceil((panic ?? 0) / o.target - 1e-9));
    this.recommendations.push({ at, want });
    while (this.recommendations.length > 1 && this.recommendations[0]!.at < at - o.scaleDownDelayMs) this.recommendations.shift();
    // Up at once; down only to the highest figure of the delay window.
    let next = want >= current ? want : Math.max(want, ...this.recommendations.map((r) => r.want));
    if (next === 0) {
      // To zero only when allowed and idle for the grace; otherwise one replica stays.
      next = o.minReplicas === 0 && at - lastActiveAt >= o.scaleToZeroGraceMs ? 0 : 1;
    }
    return clamp(next);
  }

  /** Requests were seen in the last interval (for the deployment's last-active time). */
  sawRequests(): boolean {
    const n = this.samples.length;
    return n >= 2 && (this.samples[n - 1]!.completed > this.samples[n - 2]!.completed || this.samples[n - 1]!.busyMs > this.samples[n - 2]!.busyMs);
  }
}
