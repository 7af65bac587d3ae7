import { SwitchyardError, type Clock } from "@switchyard/core";

export interface LookupCacheOptions {
  /** How long an answer (a value, or an error `cacheable` accepts) is reused. */
  ttlMs: number;
  /** The most answers kept; past it the oldest is dropped. */
  maxEntries: number;
  clock: Clock;
}

interface Entry<V> {
  readonly value: V | undefined;
  readonly error: SwitchyardError | undefined;
  readonly expiresAtMs: number;
}

/**
 * Answers of a remote lookup, reused for a short while: a hit is one map lookup and a clock read. Concurrent misses of
 * one key share one lookup (a hot key that expires under load costs one call, not one per waiting request). Errors
 * are kept only when `cacheable` says so (NOT_FOUND: a caller probing a missing name costs no more than a hit);
 * anything else (a service away) is tried again by the next caller. Bounded: the oldest answer goes first.
 */
export class LookupCache<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private readonly pending = new Map<string, Promise<V>>();

  constructor(
    private readonly o: Readonly<LookupCacheOptions>,
    private readonly cacheable: (err: SwitchyardError) => boolean = () => false,
  ) {}

  /** The answer for `key`: the cached one while fresh, else `load`'s (shared with concurrent callers of the key). */
  get(key: string, load: () => Promise<V>): V | Promise<V> {
    const e = this.entries.get(key);
    if (e !== undefined) {
      if (e.expiresAtMs > this.o.clock.now()) {
        if (e.error !== undefined) throw e.error;
        return e.value as V;
      }
      this.entries.delete(key);
    }
    let p = this.pending.get(key);
    if (p === undefined) {
      p = load().then(
        (value) => {
          this.pending.delete(key);
          this.put(key, { value, error: undefined });
          return value;
        },
        (err: unknown) => {
          this.pending.delete(key);
          const error = SwitchyardError.from(err);
          if (this.cacheable(error)) this.put(key, { value: undefined, error });
          throw error;
        },
      );
      this.pending.set(key, p);
    }
    return p;
  }

  /** Replaces the answer for `key` (a fresher one learnt another way), fresh for another ttlMs. */
  set(key: string, value: V): void {
    this.put(key, { value, error: undefined });
  }

  get size(): number {
    return this.entries.size;
  }

  private put(key: string, e: Omit<Entry<V>, "expiresAtMs">): void {
    this.entries.delete(key);
    if (this.entries.size >= this.o.maxEntries) {
      const oldest = this.entries.keys().next();
      if (!oldest.done) this.entries.delete(oldest.value);
    }
    this.entries.set(key, { ...e, expiresAtMs: this.o.clock.now() + this.o.ttlMs });
  }
}
