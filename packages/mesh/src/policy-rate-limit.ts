import type { Clock } from "@switchyard/core";

/** Envoy's local rate limit token bucket: up to `maxTokens`, `tokensPerFill` added every `fillIntervalMs`. */
export interface TokenBucketOptions {
  maxTokens: number;
  tokensPerFill?: number;
  fillIntervalMs: number;
}

export interface CompiledTokenBucketOptions {
  readonly maxTokens: number;
  readonly tokensPerFill: number;
  readonly fillIntervalMs: number;
}

export function compileTokenBucketOptions(o: TokenBucketOptions): CompiledTokenBucketOptions {
  if (!(o.maxTokens >= 1)) throw new RangeError(`maxTokens must be ≥ 1, got ${o.maxTokens}`);
  const tokensPerFill = o.tokensPerFill ?? o.maxTokens;
  if (!(tokensPerFill >= 1)) throw new RangeError(`tokensPerFill must be ≥ 1, got ${tokensPerFill}`);
  if (!(o.fillIntervalMs >= 1)) throw new RangeError(`fillIntervalMs must be ≥ 1 ms, got ${o.fillIntervalMs}`);
  return { maxTokens: o.maxTokens, tokensPerFill, fillIntervalMs: o.fillIntervalMs };
}

/** A token bucket refilled lazily from the clock (no timers): whole fills are added when a call looks at it. */
export class TokenBucket {
  private tokens: number;
  private lastFillMs: number;

  constructor(
    private options: CompiledTokenBucketOptions,
    private readonly clock: Clock,
  ) {
    this.tokens = options.maxTokens;
    this.lastFillMs = clock.now();
  }

  update(options: CompiledTokenBucketOptions): void {
    this.refill();
    this.options = options;
    this.tokens = Math.min(this.tokens, options.maxTokens);
  }

  private refill(): void {
    const now = this.clock.now();
    const fills = Math.floor((now - this.lastFillMs) / this.options.fillIntervalMs);
    if (fills <= 0) return;
    this.tokens = Math.min(this.options.maxTokens, this.tokens + fills * this.options.tokensPerFill);
    this.lastFillMs += fills * this.options.fillIntervalMs;
  }

  /** 0 when a token is available now, else the ms until the next fill. Takes nothing. */
  waitMs(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.max(1, this.lastFillMs + this.options.fillIntervalMs - this.clock.now());
  }

  take(): void {
    this.tokens -= 1;
  }

  /** True when the bucket is full (an idle caller's bucket can be dropped and recreated without changing anything). */
  isFull(): boolean {
    this.refill();
    return this.tokens >= this.options.maxTokens;
  }
}

/** Who is calling, as a rate limit keys it. */
export type RateLimitKey = "caller" | "team" | "service" | "none";

/** The identity of a call, from the metadata the gateway (user, teams) and the calling client (service) set. */
export interface CallerIdentity {
  readonly user: string | undefined;
  readonly team: string | undefined;
  readonly service: string | undefined;
}

/**
 * The bucket key for a caller: `caller` keys by the user the gateway verified, `team` by their first team, `service`
 * by the calling service, `none` shares one bucket among all; where no user was verified, `caller` and `team` fall
 * back to the calling service.
 */
export function callerKey(per: RateLimitKey, id: CallerIdentity): string {
  switch (per) {
    case "none":
      return "*";
    case "team":
      if (id.team) return `team:${id.team}`;
      break;
    case "caller":
      if (id.user) return `user:${id.user}`;
      break;
    case "service":
      break;
  }
  return id.service ? `service:${id.service}` : "anonymous";
}

/**
 * One limit applied to many callers: a bucket per caller key, created on first use. Idle (full) buckets are dropped
 * when the table grows past `maxKeys`, so a flood of distinct callers cannot grow memory without bound.
 */
export class KeyedRateLimit {
  private readonly buckets = new Map<string, TokenBucket>();

  constructor(
    private options: CompiledTokenBucketOptions,
    readonly per: RateLimitKey,
    private readonly clock: Clock,
    private readonly maxKeys = 10_000,
  ) {}

  update(options: CompiledTokenBucketOptions): void {
    this.options = options;
    for (const b of this.buckets.values()) b.update(options);
  }

  bucket(key: string): TokenBucket {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) this.evict();
      b = new TokenBucket(this.options, this.clock);
      this.buckets.set(key, b);
    }
    return b;
  }

  get size(): number {
    return this.buckets.size;
  }

  private evict(): void {
    for (const [k, b] of this.buckets) if (b.isFull()) this.buckets.delete(k);
    // Every caller busy: drop the oldest half rather than grow (they get fresh, full buckets — the lenient error).
    if (this.buckets.size >= this.maxKeys) {
      let n = Math.floor(this.maxKeys / 2);
      for (const k of this.buckets.keys()) {
        if (n-- <= 0) break;
        this.buckets.delete(k);
      }
    }
  }
}

/**
 * Checks every limit that applies to a call and takes a token from each only when all have one, so a call refused by
 * one limit does not spend another's. Returns 0 when admitted, else the retry-after hint in ms.
 */
export function admitByLimits(limits: readonly KeyedRateLimit[], id: CallerIdentity): number {
  if (limits.length === 1) {
    const b = limits[0]!.bucket(callerKey(limits[0]!.per, id));
    const wait = b.waitMs();
    if (wait === 0) b.take();
    return wait;
  }
  const buckets: TokenBucket[] = [];
  let wait = 0;
  for (const l of limits) {
    const b = l.bucket(callerKey(l.per, id));
    wait = Math.max(wait, b.waitMs());
    buckets.push(b);
  }
  if (wait === 0) for (const b of buckets) b.take();
  return wait;
}
