import { Code, type Clock, type TimerHandle } from "@switchyard/core";

/** Istio's `outlierDetection`, with durations in ms. */
export interface OutlierOptions {
  /** Ejects after this many consecutive "5xx" results (default 5; 0 = off). */
  consecutive5xxErrors?: number;
  /** Ejects after this many consecutive gateway errors (UNAVAILABLE, DEADLINE_EXCEEDED; default 0 = off). */
  consecutiveGatewayErrors?: number;
  /** How often ejections are reviewed (ejected hosts return, healthy hosts' multipliers shrink). Default 10 s. */
  intervalMs?: number;
  /** Ejection time for the first ejection; the n-th in a row lasts n times as long (default 30 s)… */
  baseEjectionMs?: number;
  /** …capped here (Envoy's max_ejection_time, default 300 s). */
  maxEjectionMs?: number;
  /** At most this share of the destination's hosts are ejected at once (default 10%, at least one host). */
  maxEjectionPercent?: number;
  /** Below this share of available hosts, balancing ignores ejections (Istio's minHealthPercent; default 0). */
  minHealthPercent?: number;
}

export interface CompiledOutlierOptions {
  readonly consecutive5xxErrors: number;
  readonly consecutiveGatewayErrors: number;
  readonly intervalMs: number;
  readonly baseEjectionMs: number;
  readonly maxEjectionMs: number;
  readonly maxEjectionPercent: number;
  readonly minHealthPercent: number;
}

export function compileOutlierOptions(o: OutlierOptions): CompiledOutlierOptions {
  const base = o.baseEjectionMs ?? 30_000;
  const c = {
    consecutive5xxErrors: o.consecutive5xxErrors ?? 5,
    consecutiveGatewayErrors: o.consecutiveGatewayErrors ?? 0,
    intervalMs: o.intervalMs ?? 10_000,
    baseEjectionMs: base,
    maxEjectionMs: o.maxEjectionMs ?? Math.max(300_000, base),
    maxEjectionPercent: o.maxEjectionPercent ?? 10,
    minHealthPercent: o.minHealthPercent ?? 0,
  };
  if (c.intervalMs <= 0 || c.baseEjectionMs <= 0) throw new RangeError("interval and baseEjectionTime must be > 0");
  if (c.maxEjectionPercent < 0 || c.maxEjectionPercent > 100) throw new RangeError("maxEjectionPercent must be 0–100");
  if (c.minHealthPercent < 0 || c.minHealthPercent > 100) throw new RangeError("minHealthPercent must be 0–100");
  return c;
}

/**
 * gRPC codes Envoy counts as 5xx (it maps grpc-status to HTTP: UNKNOWN/INTERNAL/DATA_LOSS → 500, UNIMPLEMENTED → 501,
 * UNAVAILABLE → 503, DEADLINE_EXCEEDED → 504) and as gateway errors (502/503/504).
 */
export const FIVE_XX_CODES: ReadonlySet<number> = new Set([Code.Unknown, Code.Internal, Code.DataLoss, Code.Unimplemented, Code.Unavailable, Code.DeadlineExceeded]);
export const GATEWAY_CODES: ReadonlySet<number> = new Set([Code.Unavailable, Code.DeadlineExceeded]);

/** Per-host outlier state, kept on the host object itself so recording an outcome is a field update. */
export interface OutlierState {
  consecutive5xx: number;
  consecutiveGateway: number;
  ejected: boolean;
  ejectedAtMs: number;
  ejectionMs: number;
  /** Ejections in a row (the multiplier); shrinks by one per interval the host stays in. */
  times: number;
}

export interface OutlierHost {
  readonly key: string;
  readonly outlier: OutlierState;
}

export function newOutlierState(): OutlierState {
  return { consecutive5xx: 0, consecutiveGateway: 0, ejected: false, ejectedAtMs: 0, ejectionMs: 0, times: 0 };
}

export interface OutlierHooks<H> {
  onEject(host: H, ejectionMs: number, times: number): void;
  onReturn(host: H): void;
}

/**
 * Envoy's outlier detection for one destination: consecutive errors eject a host for baseEjectionTime × (ejections in
 * a row), capped by maxEjectionPercent; the interval sweep brings hosts back. Timers come from the Clock.
 */
export class OutlierDetector<H extends OutlierHost> {
  private timer: TimerHandle | undefined;

  constructor(
    private options: CompiledOutlierOptions,
    private readonly clock: Clock,
    private readonly hosts: () => Iterable<H>,
    private readonly hooks: OutlierHooks<H>,
  ) {
    this.schedule();
  }

  get config(): CompiledOutlierOptions {
    return this.options;
  }

  update(options: CompiledOutlierOptions): void {
    const reschedule = options.intervalMs !== this.options.intervalMs;
    this.options = options;
    if (reschedule) this.schedule();
  }

  /** The outcome of one attempt on `host`. */
  record(host: H, code: number): void {
    const s = host.outlier;
    if (!FIVE_XX_CODES.has(code)) {
      s.consecutive5xx = 0;
      s.consecutiveGateway = 0;
      return;
    }
    s.consecutive5xx++;
    if (GATEWAY_CODES.has(code)) s.consecutiveGateway++;
    else s.consecutiveGateway = 0;
    if (s.ejected) return;
    const o = this.options;
    const by5xx = o.consecutive5xxErrors > 0 && s.consecutive5xx >= o.consecutive5xxErrors;
    const byGateway = o.consecutiveGatewayErrors > 0 && s.consecutiveGateway >= o.consecutiveGatewayErrors;
    if (by5xx || byGateway) this.eject(host);
  }

  private eject(host: H): void {
    let total = 0;
    let ejected = 0;
    for (const h of this.hosts()) {
      total++;
      if (h.outlier.ejected) ejected++;
    }
    const allowed = this.options.maxEjectionPercent === 0 ? 0 : Math.max(1, Math.floor((total * this.options.maxEjectionPercent) / 100));
    if (ejected >= allowed) return;
    const s = host.outlier;
    s.times++;
    s.ejected = true;
    s.ejectedAtMs = this.clock.now();
    s.ejectionMs = Math.min(this.options.baseEjectionMs * s.times, this.options.maxEjectionMs);
    s.consecutive5xx = 0;
    s.consecutiveGateway = 0;
    this.hooks.onEject(host, s.ejectionMs, s.times);
  }

  /** The interval's review: hosts whose ejection has run out return; hosts that stayed in shrink their multiplier. */
  sweep(): void {
    const now = this.clock.now();
    for (const h of this.hosts()) {
      const s = h.outlier;
      if (s.ejected) {
        if (now >= s.ejectedAtMs + s.ejectionMs) {
          s.ejected = false;
          this.hooks.onReturn(h);
        }
      } else if (s.times > 0 && now >= s.ejectedAtMs + s.ejectionMs + this.options.intervalMs) {
        s.times--;
      }
    }
  }

  close(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    this.close();
    this.timer = this.clock.setTimeout(() => {
      this.sweep();
      this.schedule();
    }, this.options.intervalMs);
  }
}
