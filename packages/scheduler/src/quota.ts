import { WHOLE, type Alloc } from "./cluster-state.js";
import { isFractional } from "./placement.js";
import type { Topology } from "./topology.js";
import type { PendingJob, QueuesConfig, ReplicaRequest } from "./types.js";

/**
 * Queues and cohorts compiled for the cycle (cached by config identity). Kueue's model, per resource r:
 * a queue may use up to `nominal + borrowingLimit` (nominal only outside a cohort); the part of its nominal quota
 * above `nominal - lendingLimit` is lent to a cohort pool, and the cohort's members together draw no more than the
 * pool holds for their use beyond what each keeps guaranteed.
 */
export interface CompiledQueue {
  readonly index: number;
  readonly name: string;
  readonly team: string;
  readonly cohort: string | undefined;
  readonly cohortIndex: number;
  readonly weight: number;
  readonly limited: Uint8Array;
  readonly nominal: Float64Array;
  /** nominal + borrowingLimit (Infinity when unlimited; nominal outside a cohort). */
  readonly ceiling: Float64Array;
  /** nominal - lendingLimit: what is never lent. */
  readonly guaranteed: Float64Array;
}

export interface CompiledQueues {
  readonly resources: readonly string[];
  readonly resourceIndex: ReadonlyMap<string, number>;
  readonly queues: readonly CompiledQueue[];
  readonly byName: ReadonlyMap<string, CompiledQueue>;
  readonly byTeam: ReadonlyMap<string, CompiledQueue>;
  readonly cohorts: readonly string[];
  /** Per cohort, per resource: what its members lend. */
  readonly poolCapacity: readonly Float64Array[];
  /** Some queue limits GPUs of one type (`gpus/<TYPE>`): usage then depends on where a job lands. */
  readonly typed: boolean;
}

/** A quota that refuses a job now: its queue, the resource at its limit (and the cohort when the pool is short). */
export interface QuotaRefusal {
  readonly queue: string;
  readonly resource: string;
  readonly cohort?: string;
  readonly text: string;
}

const compiledCache = new WeakMap<QueuesConfig, CompiledQueues>();

export function compileQueues(config: QueuesConfig): CompiledQueues {
  const hit = compiledCache.get(config);
  if (hit !== undefined) return hit;
  const resources: string[] = [];
  const resourceIndex = new Map<string, number>();
  for (const q of config.queues) for (const r of Object.keys(q.resources)) if (!resourceIndex.has(r)) resourceIndex.set(r, resources.push(r) - 1);
  const cohorts: string[] = [];
  const R = resources.length;
  const queues: CompiledQueue[] = config.queues.map((q, index) => {
    let cohortIndex = -1;
    if (q.cohort !== undefined) {
      cohortIndex = cohorts.indexOf(q.cohort);
      if (cohortIndex < 0) cohortIndex = cohorts.push(q.cohort) - 1;
    }
    const limited = new Uint8Array(R);
    const nominal = new Float64Array(R);
    const ceiling = new Float64Array(R).fill(Infinity);
    const guaranteed = new Float64Array(R);
    for (const [r, quota] of Object.entries(q.resources)) {
      const i = resourceIndex.get(r)!;
      limited[i] = 1;
      nominal[i] = quota.nominalQuota;
      ceiling[i] = cohortIndex < 0 ? quota.nominalQuota : quota.nominalQuota + (quota.borrowingLimit ?? Infinity);
      guaranteed[i] = cohortIndex < 0 ? quota.nominalQuota : quota.nominalQuota - Math.min(quota.nominalQuota, quota.lendingLimit ?? quota.nominalQuota);
    }
    return { index, name: q.name, team: q.team, cohort: q.cohort, cohortIndex, weight: q.weight ?? 1, limited, nominal, ceiling, guaranteed };
  });
  const poolCapacity = cohorts.map(() => new Float64Array(R));
  for (const q of queues) {
    if (q.cohortIndex < 0) continue;
    for (let r = 0; r < R; r++) if (q.limited[r] === 1) poolCapacity[q.cohortIndex]![r]! += q.nominal[r]! - q.guaranteed[r]!;
  }
  const byName = new Map(queues.map((q) => [q.name, q]));
  const byTeam = new Map<string, CompiledQueue>();
  for (const q of queues) if (!byTeam.has(q.team)) byTeam.set(q.team, q);
  const compiled: CompiledQueues = {
    resources,
    resourceIndex,
    queues,
    byName,
    byTeam,
    cohorts,
    poolCapacity,
    typed: resources.some((r) => r.startsWith("gpus/")),
  };
  compiledCache.set(config, compiled);
  return compiled;
}

/** The queue a job belongs to: by its `queue` name, else the first queue of its team. */
export function resolveQueue(cq: CompiledQueues, job: PendingJob): CompiledQueue | undefined {
  return cq.byName.get(job.queue) ?? cq.byTeam.get(job.team);
}

/** Amount per resource index, sparse. */
export type UsageVector = { index: number; amount: number }[];

function addTo(vec: UsageVector, index: number | undefined, amount: number): void {
  if (index === undefined || amount === 0) return;
  for (const e of vec) if (e.index === index) return void (e.amount += amount);
  vec.push({ index, amount });
}

/**
 * What a job counts against quotas. From its allocations when placed (GPU types are then known), else from its
 * request (a typed quota is then counted only when the request names exactly one type).
 */
export function usageOf(cq: CompiledQueues, replicas: readonly ReplicaRequest[], allocs: readonly Alloc[] | undefined, topo: Topology): UsageVector {
  const vec: UsageVector = [];
  const ri = cq.resourceIndex;
  replicas.forEach((r, i) => {
    addTo(vec, ri.get("cpuMilli"), r.cpuMilli);
    addTo(vec, ri.get("memoryMb"), r.memoryMb);
    if (isFractional(r)) addTo(vec, ri.get("gpuMilli"), r.gpuMilli!);
    if (r.gpus <= 0) return;
    addTo(vec, ri.get("gpus"), r.gpus);
    if (!cq.typed) return;
    const a = allocs?.[i];
    if (a !== undefined) {
      for (const s of a.slots) if (a.milli === WHOLE) addTo(vec, ri.get(`gpus/${topo.typeNames[topo.slotType[s]!]}`), 1);
    } else if (r.gpuType !== undefined && !r.gpuType.includes("|")) {
      addTo(vec, ri.get(`gpus/${r.gpuType}`), r.gpus);
    }
  });
  return vec;
}

const EPS = 1e-9;

/** Quota usage during one cycle: what each queue uses, and what each cohort's pool has lent. */
export class QuotaBook {
  private readonly usage: Float64Array[];
  private readonly poolUsed: Float64Array[];
  /**
   * Of `usage`, what jobs already stopping hold (victims chosen in this cycle, or terminating): counted for capacity and
   * ceilings until they are gone, but not as borrowing a preemption could still reclaim, nor against nominal quota.
   */
  private readonly leaving: Float64Array[];
  /**
   * Of `usage`, what serving replicas that stay hold (not stopping). Serving counts first against a queue's nominal
   * quota: reclaim takes from serving replicas only what they alone hold beyond it (`servingBorrowingAny`).
   */
  private readonly serving: Float64Array[];

  constructor(readonly cq: CompiledQueues) {
    const R = cq.resources.length;
    this.usage = cq.queues.map(() => new Float64Array(R));
    this.leaving = cq.queues.map(() => new Float64Array(R));
    this.serving = cq.queues.map(() => new Float64Array(R));
    this.poolUsed = cq.cohorts.map(() => new Float64Array(R));
  }

  used(q: CompiledQueue, r: number): number {
    return this.usage[q.index]![r]!;
  }

  private drawn(q: CompiledQueue, r: number, u: number): number {
    return q.limited[r] === 1 ? Math.max(0, u - q.guaranteed[r]!) : 0;
  }

  add(q: CompiledQueue, vec: UsageVector, sign = 1): void {
    const u = this.usage[q.index]!;
    for (const { index: r, amount } of vec) {
      const before = u[r]!;
      const after = before + sign * amount;
      u[r] = after;
      if (q.cohortIndex >= 0) this.poolUsed[q.cohortIndex]![r]! += this.drawn(q, r, after) - this.drawn(q, r, before);
    }
  }

  remove(q: CompiledQueue, vec: UsageVector): void {
    this.add(q, vec, -1);
  }

  /** Marks part of `q`'s usage (added already) as held by jobs that are stopping. */
  markLeaving(q: CompiledQueue, vec: UsageVector, sign = 1): void {
    const l = this.leaving[q.index]!;
    for (const { index: r, amount } of vec) l[r]! += sign * amount;
  }

  /** Marks part of `q`'s usage (added already) as held by serving replicas that stay; `sign` −1 when one leaves. */
  markServing(q: CompiledQueue, vec: UsageVector, sign = 1): void {
    const s = this.serving[q.index]!;
    for (const { index: r, amount } of vec) s[r]! += sign * amount;
  }

  /** Do `q`'s serving replicas alone hold more than its nominal quota of one of the resources in `vec`? */
  servingBorrowingAny(q: CompiledQueue, vec: UsageVector): boolean {
    for (const { index: r } of vec) if (q.limited[r] === 1 && this.serving[q.index]![r]! > q.nominal[r]! + EPS) return true;
    return false;
  }

  /** Would `q`'s serving replicas keep at least its nominal quota of each resource in `vec` if one using `vec` left? */
  servingKeepsNominalWithout(q: CompiledQueue, vec: UsageVector): boolean {
    for (const { index: r, amount } of vec) if (q.limited[r] === 1 && this.serving[q.index]![r]! - amount < q.nominal[r]! - EPS) return false;
    return true;
  }

  /** `q`'s usage once its stopping jobs are gone. */
  private staying(q: CompiledQueue, r: number): number {
    return this.usage[q.index]![r]! - this.leaving[q.index]![r]!;
  }

  /** Why `vec` cannot be admitted to `q` now (the resource at its limit, and a sentence), or undefined when it can. */
  check(q: CompiledQueue, vec: UsageVector): QuotaRefusal | undefined {
    const u = this.usage[q.index]!;
    for (const { index: r, amount } of vec) {
      if (q.limited[r] !== 1) continue;
      const name = this.cq.resources[r]!;
      const after = u[r]! + amount;
      if (after > q.ceiling[r]! + EPS) {
        const limit = q.cohortIndex < 0 ? `its nominal quota ${fmt(q.nominal[r]!)}` : `nominal ${fmt(q.nominal[r]!)} + borrowing limit ${fmt(q.ceiling[r]! - q.nominal[r]!)}`;
        return { queue: q.name, resource: name, text: `queue ${q.name} is at its ${name} quota: ${fmt(u[r]!)} in use + ${fmt(amount)} needed > ${limit}` };
      }
      if (q.cohortIndex >= 0) {
        const pool = this.poolUsed[q.cohortIndex]!;
        const extra = this.drawn(q, r, after) - this.drawn(q, r, u[r]!);
        const cap = this.cq.poolCapacity[q.cohortIndex]![r]!;
        if (pool[r]! + extra > cap + EPS) {
          const mine = after <= q.nominal[r]! + EPS;
          const text =
            `cohort ${q.cohort} has no ${name} left for queue ${q.name}: ${fmt(pool[r]!)} of the ${fmt(cap)} lent in the cohort are in use, ${fmt(amount)} needed` +
            (mine ? ` (within the queue's nominal quota: it will be reclaimed from queues that borrowed it)` : "");
          return { queue: q.name, resource: name, cohort: q.cohort!, text };
        }
      }
    }
    return undefined;
  }

  /** Would `q` stay within its nominal quota with `vec` added (so that it may reclaim what it lent)? */
  withinNominal(q: CompiledQueue, vec: UsageVector): boolean {
    for (const { index: r, amount } of vec) if (q.limited[r] === 1 && this.staying(q, r) + amount > q.nominal[r]! + EPS) return false;
    return true;
  }

  /** Does `q` use more than its nominal quota of one of the resources in `vec` (borrowed quota that may be reclaimed)? */
  borrowingAny(q: CompiledQueue, vec: UsageVector): boolean {
    for (const { index: r } of vec) if (q.limited[r] === 1 && this.staying(q, r) > q.nominal[r]! + EPS) return true;
    return false;
  }

  /** Would `q` keep at least its nominal quota of each resource in `vec` if a job using `vec` left (reclaim's floor)? */
  keepsNominalWithout(q: CompiledQueue, vec: UsageVector): boolean {
    for (const { index: r, amount } of vec) if (q.limited[r] === 1 && this.staying(q, r) - amount < q.nominal[r]! - EPS) return false;
    return true;
  }

  /** Is any queue above its ceiling (for tests and invariants)? Returns a description or undefined. */
  overCeiling(): string | undefined {
    for (const q of this.cq.queues) {
      const u = this.usage[q.index]!;
      for (let r = 0; r < u.length; r++) if (q.limited[r] === 1 && u[r]! > q.ceiling[r]! + EPS) return `${q.name} uses ${u[r]} ${this.cq.resources[r]} > ${q.ceiling[r]}`;
    }
    return undefined;
  }
}

function fmt(x: number): string {
  return Number.isInteger(x) ? String(x) : x.toFixed(2);
}
