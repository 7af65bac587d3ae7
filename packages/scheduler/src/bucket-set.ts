/**
 * Items (small integers) kept in numbered buckets with O(1) add, remove and move. The free-capacity indexes of the
 * cluster state are built on it: nodes bucketed by how many whole GPUs they have free, shared GPUs by free milli.
 */
export class BucketSet {
  /** bucket → items in it (unordered; removal swaps with the last). */
  readonly buckets: number[][];
  private readonly bucketOf: Int32Array;
  private readonly posOf: Int32Array;
  private sizeTotal = 0;

  constructor(universe: number, bucketCount: number) {
    this.buckets = Array.from({ length: bucketCount }, () => []);
    this.bucketOf = new Int32Array(universe).fill(-1);
    this.posOf = new Int32Array(universe);
  }

  get size(): number {
    return this.sizeTotal;
  }

  has(item: number): boolean {
    return (this.bucketOf[item] ?? -1) >= 0;
  }

  bucketOfItem(item: number): number {
    return this.bucketOf[item] ?? -1;
  }

  /** Puts `item` in `bucket` (or takes it out of every bucket when `bucket` is -1). */
  set(item: number, bucket: number): void {
    const current = this.bucketOf[item] ?? -1;
    if (current === bucket) return;
    if (current >= 0) this.removeFrom(item, current);
    if (bucket >= 0) {
      const list = this.buckets[bucket]!;
      this.posOf[item] = list.length;
      list.push(item);
      this.bucketOf[item] = bucket;
      this.sizeTotal++;
    }
  }

  private removeFrom(item: number, bucket: number): void {
    const list = this.buckets[bucket]!;
    const pos = this.posOf[item]!;
    const last = list.pop()!;
    if (last !== item) {
      list[pos] = last;
      this.posOf[last] = pos;
    }
    this.bucketOf[item] = -1;
    this.sizeTotal--;
  }

  /** Highest non-empty bucket, or -1. */
  highest(): number {
    for (let b = this.buckets.length - 1; b >= 0; b--) if (this.buckets[b]!.length > 0) return b;
    return -1;
  }
}
