import type { Balancer, Pickable } from "./balancer.js";

/** 32-bit FNV-1a over a string's UTF-16 code units, then a murmur3 finalizer to spread nearby keys over the ring. */
export function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

interface Ring<E> {
  readonly points: Uint32Array;
  readonly owners: E[];
}

/**
 * Points per endpoint: a fixed share of the ring size (an eighth; at least 16), not ringSize ÷ endpoints as Envoy does,
 * so that the points of the endpoints that stay do not change when one leaves and none of their keys move.
 */
export function pointsPerEndpoint(ringSize: number): number {
  return Math.max(16, Math.ceil(ringSize / 8));
}

function buildRing<E extends Pickable>(candidates: readonly E[], ringSize: number): Ring<E> {
  const perHost = pointsPerEndpoint(ringSize);
  const entries: { point: number; owner: E }[] = [];
  for (const e of candidates) for (let i = 0; i < perHost; i++) entries.push({ point: hash32(`${e.key}_${i}`), owner: e });
  entries.sort((x, y) => x.point - y.point);
  return { points: Uint32Array.from(entries, (x) => x.point), owners: entries.map((x) => x.owner) };
}

/** The first ring index whose point is ≥ h (wrapping to 0). */
function lowerBound(points: Uint32Array, h: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (points[mid]! < h) lo = mid + 1;
    else hi = mid;
  }
  return lo === points.length ? 0 : lo;
}

export interface RingHashOptions {
  /** Istio's minimumRingSize: each endpoint gets an eighth of it as points on the ring (see pointsPerEndpoint). */
  ringSize: number;
  random?: () => number;
}

/**
 * Consistent hashing on a request header (Istio's `consistentHash.httpHeaderName`, Envoy's ring hash): calls with the
 * same key go to the same endpoint while it stays a candidate; when it leaves, only its keys move (to the next endpoint
 * clockwise). Calls without the header are spread at random, as Envoy does. The ring is built once per candidate set.
 */
export function createRingHashBalancer(options: RingHashOptions): Balancer {
  const random = options.random ?? Math.random;
  const rings = new WeakMap<readonly Pickable[], Ring<Pickable>>();
  return {
    kind: "ring_hash",
    pick<E extends Pickable>(candidates: readonly E[], hashKey: string | undefined, avoid: E | undefined): E | undefined {
      const n = candidates.length;
      if (n === 0) return undefined;
      if (hashKey === undefined) return candidates[Math.floor(random() * n)];
      let ring = rings.get(candidates) as Ring<E> | undefined;
      if (ring === undefined) {
        ring = buildRing(candidates, options.ringSize);
        rings.set(candidates, ring as Ring<Pickable>);
      }
      let i = lowerBound(ring.points, hash32(hashKey));
      const first = ring.owners[i]!;
      if (first !== avoid || n === 1) return first;
      for (let k = 0; k < ring.owners.length; k++) {
        i = (i + 1) % ring.owners.length;
        if (ring.owners[i] !== avoid) return ring.owners[i];
      }
      return first;
    },
  };
}
