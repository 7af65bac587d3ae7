import type { Alloc, ClusterState } from "./cluster-state.js";
import { buildClusterState } from "./cluster-build.js";
import { shapeClasses } from "./fragmentation.js";
import { Heap } from "./heap.js";
import { nextClimbMs, nextLevelMs, pendingLevel, runningAttainedMs, runningLevel } from "./las.js";
import { compareLevelled, jobGpus, shapeKey } from "./order.js";
import { placeJob, type PlaceOptions } from "./placement.js";
import { findVictims, protectedForMs, releaseVictim, restoreVictim, type PreemptionContext, type PreemptorView, type RunningEntry, type Victim } from "./preemption.js";
import { QuotaBook, compileQueues, resolveQueue, usageOf, type CompiledQueue, type CompiledQueues, type QuotaRefusal, type UsageVector } from "./quota.js";
import { explainUnfit, neverFits } from "./reasons.js";
import type { CompiledSwitchyardOptions } from "./switchyard-options.js";
import type { PendingJob, ReplicaRequest, ScheduleDecision, ScheduleInput, WaitingCause } from "./types.js";

/** Admission then placement: placed (`allocs` applied to the state), or refused by a quota, or (no `quota`) not fitting. */
type Admission = { ok: true; allocs: Alloc[]; vec: UsageVector } | { ok: false; quota?: QuotaRefusal };

interface PendingEntry extends PreemptorView {
  readonly group: Group;
}

/** A queue's waiting jobs in order, and its usage for dominant-resource fair share. */
interface Group {
  readonly key: string;
  readonly weight: number;
  readonly jobs: PendingEntry[];
  next: number;
  gpu: number;
  cpu: number;
  mem: number;
  /** The queue's decayed past usage, as a share of what the cluster could have given. */
  readonly past: number;
}


function jobTotals(replicas: readonly ReplicaRequest[]): { gpu: number; cpu: number; mem: number } {
  let cpu = 0;
  let mem = 0;
  for (const r of replicas) [cpu, mem] = [cpu + r.cpuMilli, mem + r.memoryMb];
  return { gpu: jobGpus(replicas), cpu, mem };
}

const KIND_WORDS: Record<string, string> = {
  backfill: "it was backfilled ahead of",
  reclaim: "its queue borrowed quota that is reclaimed by",
  las: "it has had more GPU time than",
  priority: "it has a lower priority than",
};

/** One scheduling cycle of the switchyard policy over a snapshot. Pure: reads the input, returns decisions. */
export function runCycle(o: CompiledSwitchyardOptions, input: ScheduleInput): ScheduleDecision {
  const now = input.nowMs;
  const { state, allocs } = buildClusterState(input.nodes, input.running);
  const topo = state.topo;
  const config = input.queues ?? o.queues;
  const cq: CompiledQueues | undefined = config === undefined ? undefined : compileQueues(config);
  const book = cq === undefined ? undefined : new QuotaBook(cq);
  const decision: ScheduleDecision = { start: [], preempt: [], waiting: [] };

  // Dominant-resource shares, per queue (or per `queue` name without a config).
  const byJobOrder = (a: PendingEntry, b: PendingEntry): number => compareLevelled(a, b, o.smallestFirst);
  const groups = new Map<string, Group>();
  const groupFor = (job: PendingJob, queue: CompiledQueue | undefined): Group => {
    const key = queue?.name ?? (job.queue !== "" ? job.queue : job.team);
    let g = groups.get(key);
    if (g === undefined) {
      g = { key, weight: queue?.weight ?? 1, jobs: [], next: 0, gpu: 0, cpu: 0, mem: 0, past: past(key) };
      groups.set(key, g);
    }
    return g;
  };
  const charge = (g: Group, replicas: readonly ReplicaRequest[]): void => {
    const t = jobTotals(replicas);
    g.gpu += t.gpu;
    g.cpu += t.cpu;
    g.mem += t.mem;
  };
  // Past usage as a share too: decayed GPU time against what the cluster could give over the decay's mean life
  // (half-life / ln 2), so that a queue that used every GPU all along counts 1, as it would using all of them now.
  const history = input.usageHistory;
  const capacityMs = topo.totalGpus * (o.usageHalfLifeMs / Math.LN2);
  const past = (key: string): number => (history === undefined || !(capacityMs > 0) ? 0 : Math.min(1, (history[key] ?? 0) / capacityMs));
  const share = (g: Group): number =>
    (Math.max(topo.totalGpus > 0 ? g.gpu / topo.totalGpus : 0, topo.totalCpuMilli > 0 ? g.cpu / topo.totalCpuMilli : 0, topo.totalMemoryMb > 0 ? g.mem / topo.totalMemoryMb : 0) + g.past) / g.weight;

  const running: RunningEntry[] = input.running.map((job) => {
    const a = allocs.get(job.uid) ?? [];
    const queue = cq === undefined ? undefined : resolveQueue(cq, job);
    const vec = cq === undefined ? [] : usageOf(cq, job.replicas, a, topo);
    if (book !== undefined && queue !== undefined) {
      book.add(queue, vec);
      // A job already stopping is not borrowing anyone can still reclaim (nor its queue's use of its nominal).
      if (job.terminating === true) book.markLeaving(queue, vec);
      else if (job.serving === true) book.markServing(queue, vec);
    }
    charge(groupFor(job, queue), job.replicas);
    const gpus = jobGpus(job.replicas);
    const since = Math.max(job.startedAtMs, job.checkpointedAtMs ?? job.startedAtMs);
    const attainedGpuMs = runningAttainedMs(job, now);
    return {
      job,
      allocs: a,
      queue,
      vec,
      gpus,
      level: runningLevel(o.las, job, attainedGpuMs),
      attainedGpuMs,
      ranMs: now - job.startedAtMs,
      lostGpuMs: gpus * Math.max(0, now - since),
      claimed: false,
    };
  });

  // Jobs that running jobs were preempted for go first, so that what their victims free is theirs (the rest of
  // the order would otherwise hand it to whoever comes first, and the preemptor would preempt again).
  const reserved: PendingEntry[] = [];
  for (const job of input.pending) {
    const queue = cq === undefined ? undefined : resolveQueue(cq, job);
    const group = groupFor(job, queue);
    const entry: PendingEntry = { job, level: pendingLevel(o.las, job, now), queue, vec: cq === undefined ? [] : usageOf(cq, job.replicas, undefined, topo), group };
    (job.reserved === true ? reserved : group.jobs).push(entry);
  }
  const heap = new Heap<Group>((a, b) => {
    const x = a.jobs[a.next]!;
    const y = b.jobs[b.next]!;
    return (
      y.job.priority - x.job.priority || x.level - y.level || shareOrder(share(a) - share(b)) || byJobOrder(x, y) || (a.key < b.key ? -1 : 1)
    ) < 0;
  });
  for (const g of groups.values()) {
    if (g.jobs.length === 0) continue;
    g.jobs.sort(byJobOrder);
    heap.push(g);
  }

  // FGD's gain is in packing shares of GPUs; with whole GPUs only, best-fit's consolidation keeps whole nodes free
  // for the gangs that need them (with FGD, 2 × 8 GPUs under short jobs waited 30% longer than best-effort FIFO).
  const fgd = o.placement === "fgd" && (anyShared(input.pending) || anyShared(input.running));
  const placeOpts: PlaceOptions = {
    strategy: o.placement === "fgd" && !fgd ? "best-fit" : o.placement,
    ...(fgd ? { classes: shapeClasses(state, pendingReplicas(input.pending)) } : {}),
  };
  const waitingUids = new Set<string>();
  for (const j of input.pending) waitingUids.add(j.uid);
  const cycle = new Cycle(o, state, book, cq, placeOpts, running, decision, now, waitingUids);
  reserved.sort(byJobOrder);
  for (const entry of reserved) if (cycle.consider(entry)) charge(entry.group, entry.job.replicas);
  for (let g = heap.pop(); g !== undefined; g = heap.pop()) {
    const entry = g.jobs[g.next++]!;
    if (cycle.consider(entry)) charge(g, entry.job.replicas);
    if (g.next < g.jobs.length) heap.push(g);
  }
  if (decision.waiting.length > 0) {
    const review = cycle.nextReview(input.pending);
    if (review !== undefined) decision.nextReviewAtMs = review;
  }
  return decision;
}

/** Shares within a millionth are equal (a week-old trace of usage does not outrank arrival order). */
function shareOrder(diff: number): number {
  return Math.abs(diff) < 1e-6 ? 0 : diff;
}

function anyShared(jobs: readonly PendingJob[]): boolean {
  for (const j of jobs) for (const r of j.replicas) if (r.gpus === 0 && (r.gpuMilli ?? 0) > 0) return true;
  return false;
}

function* pendingReplicas(pending: readonly PendingJob[]): Iterable<ReplicaRequest> {
  for (const j of pending) yield* j.replicas;
}

class Cycle implements PreemptionContext {
  private readonly neverCache = new Map<string, string | null>();
  private readonly unfit = new Map<string, string | undefined>();
  private readonly preemptFailed = new Set<string>();
  private searches = 0;
  private blocker: PendingJob | undefined;

  constructor(
    readonly policy: CompiledSwitchyardOptions,
    readonly state: ClusterState,
    readonly book: QuotaBook | undefined,
    private readonly cq: CompiledQueues | undefined,
    private readonly placeOpts: PlaceOptions,
    private readonly running: RunningEntry[],
    private readonly decision: ScheduleDecision,
    readonly nowMs: number,
    private readonly waitingUids: ReadonlySet<string>,
  ) {}

  isWaiting(uid: string): boolean {
    return this.waitingUids.has(uid);
  }

  private wait(job: PendingJob, reason: string, cause: WaitingCause): void {
    this.decision.waiting.push({ uid: job.uid, reason, position: this.decision.waiting.length + 1, cause });
  }

  /** Admission (quota) then placement; on success the allocation is applied and returned with its quota usage. */
  private admit(p: PreemptorView): Admission {
    if (this.book !== undefined && p.queue !== undefined) {
      const quota = this.book.check(p.queue, p.vec);
      if (quota !== undefined) return { ok: false, quota };
    }
    const allocs = placeJob(this.state, p.job.replicas, this.placeOpts);
    if (allocs === undefined) return { ok: false };
    let vec = p.vec;
    if (this.cq?.typed === true && this.book !== undefined && p.queue !== undefined) {
      vec = usageOf(this.cq, p.job.replicas, allocs, this.state.topo);
      const quota = this.book.check(p.queue, vec);
      if (quota !== undefined) {
        for (let i = allocs.length - 1; i >= 0; i--) this.state.release(allocs[i]!);
        return this.steer(p) ?? { ok: false, quota };
      }
    }
    return { ok: true, allocs, vec };
  }

  /**
   * A job asking for GPUs of no particular type, refused by a per-type quota where it landed: placed again on each
   * GPU type its queue still has quota for (most room first), the first that fits and passes the quotas winning.
   */
  private steer(p: PreemptorView): Admission | undefined {
    const { cq, book, state } = this;
    const q = p.queue;
    if (cq === undefined || book === undefined || q === undefined) return undefined;
    if (!p.job.replicas.some((r) => r.gpus > 0 && r.gpuType === undefined)) return undefined;
    const topo = state.topo;
    const room = (t: string): number => {
      const r = cq.resourceIndex.get(`gpus/${t}`);
      return r === undefined || q.limited[r] !== 1 ? Infinity : q.ceiling[r]! - book.used(q, r);
    };
    const types = topo.typeNames.map((t) => ({ t, room: room(t) })).filter((x) => x.room > 0).sort((a, b) => b.room - a.room || (a.t < b.t ? -1 : 1));
    for (const { t } of types) {
      const replicas = p.job.replicas.map((r) => (r.gpus > 0 && r.gpuType === undefined ? { ...r, gpuType: t } : r));
      const allocs = placeJob(state, replicas, this.placeOpts);
      if (allocs === undefined) continue;
      const vec = usageOf(cq, p.job.replicas, allocs, topo);
      if (book.check(q, vec) === undefined) return { ok: true, allocs, vec };
      for (let i = allocs.length - 1; i >= 0; i--) state.release(allocs[i]!);
    }
    return undefined;
  }

  fits(p: PreemptorView): boolean {
    const r = this.admit(p);
    if (!r.ok) return false;
    for (let i = r.allocs.length - 1; i >= 0; i--) this.state.release(r.allocs[i]!);
    return true;
  }

  /** Decides one waiting job; true when it starts. */
  consider(p: PendingEntry): boolean {
    const job = p.job;
    const key = shapeKey(job.replicas);
    let never = this.neverCache.get(key);
    if (never === undefined) this.neverCache.set(key, (never = neverFits(this.state, job) ?? null));
    if (never !== null) {
      this.wait(job, never, { kind: "neverFits" });
      return false;
    }
    if (this.cq !== undefined && p.queue === undefined) {
      const names = this.cq.queues.map((q) => q.name).join(", ");
      this.wait(job, `queue "${job.queue}" (team ${job.team}) is not in the queues config; queues: ${names || "none"}`, { kind: "noQueue", queue: job.queue });
      return false;
    }
    if (!this.policy.backfill && this.blocker !== undefined) {
      this.wait(job, `behind job ${this.blocker.name} (priority ${this.blocker.priority}), which does not fit yet (strict order, no backfill)`, { kind: "behind", blockedBy: this.blocker.name });
      return false;
    }
    if (job.serving === true && this.blocker !== undefined) {
      // Never backfilled: a serving replica never ends and never gives way as backfill, so started here it would hold
      // the blocked job's room for good. It waits its turn (and preempts nothing for it).
      this.wait(job, `behind job ${this.blocker.name} (priority ${this.blocker.priority}), which does not fit yet (a serving replica is not started ahead of it)`, { kind: "behind", blockedBy: this.blocker.name });
      return false;
    }
    let quotaReason = this.book !== undefined && p.queue !== undefined ? this.book.check(p.queue, p.vec) : undefined;
    if (quotaReason === undefined && !this.unfit.has(key)) {
      const r = this.admit(p);
      if (r.ok) {
        this.start(p, r.allocs, r.vec);
        return true;
      }
      if (r.quota !== undefined) quotaReason = r.quota;
      else this.unfit.set(key, undefined);
    }
    if (this.policy.preemption && this.searches < this.policy.maxPreemptionSearches) {
      const within = this.book !== undefined && p.queue !== undefined && this.book.withinNominal(p.queue, p.vec);
      const evicts = this.nowMs - (job.queuedAtMs ?? job.submittedAtMs) >= this.policy.backfillEvictAfterMs;
      const pkey = `${key}|${job.priority}|${p.level}|${p.queue?.index ?? -1}|${within}|${evicts}`;
      if (!this.preemptFailed.has(pkey)) {
        this.searches++;
        const victims = findVictims(this, p, this.victimPool(p));
        if (victims !== undefined && this.reserve(p, victims)) return false;
        this.preemptFailed.add(pkey);
      }
    }
    if (quotaReason !== undefined) {
      const q = quotaReason;
      this.wait(job, q.text, { kind: "quota", queue: q.queue, resource: q.resource, ...(q.cohort !== undefined ? { cohort: q.cohort } : {}) });
      return false;
    }
    let reason = this.unfit.get(key);
    if (reason === undefined) this.unfit.set(key, (reason = explainUnfit(this.state, job)));
    this.blocker ??= job;
    this.wait(job, reason, { kind: "resources" });
    return false;
  }

  private pools: { backfilled: RunningEntry[]; byQueue: Map<number, RunningEntry[]> } | undefined;

  /**
   * The running jobs that may give way to `p` on some ground: backfilled work, then (with queues) its own queue's
   * jobs and those of cohort queues that borrow; without queues, everything. The search filters them further.
   */
  private *victimPool(p: PreemptorView): Iterable<RunningEntry> {
    if (this.pools === undefined) {
      const backfilled: RunningEntry[] = [];
      const byQueue = new Map<number, RunningEntry[]>();
      for (const e of this.running) {
        if (e.job.preemptible === true || e.job.terminating === true) backfilled.push(e);
        else {
          const k = e.queue?.index ?? -1;
          let list = byQueue.get(k);
          if (list === undefined) byQueue.set(k, (list = []));
          list.push(e);
        }
      }
      this.pools = { backfilled, byQueue };
    }
    const { backfilled, byQueue } = this.pools;
    yield* backfilled;
    if (this.cq === undefined || this.book === undefined) {
      for (const list of byQueue.values()) yield* list;
      return;
    }
    if (p.queue === undefined) return;
    yield* byQueue.get(p.queue.index) ?? [];
    if (p.queue.cohortIndex < 0 || !this.book.withinNominal(p.queue, p.vec)) return;
    for (const q of this.cq.queues) {
      if (q === p.queue || q.cohortIndex !== p.queue.cohortIndex || !this.book.borrowingAny(q, p.vec)) continue;
      yield* byQueue.get(q.index) ?? [];
    }
  }

  private start(p: PreemptorView, allocs: Alloc[], vec: UsageVector): void {
    const entry: ScheduleDecision["start"][number] = { uid: p.job.uid, placement: allocs.map((a) => this.state.toPlacement(a)) };
    if (this.blocker !== undefined) entry.preemptible = true;
    this.decision.start.push(entry);
    if (this.book !== undefined && p.queue !== undefined) {
      this.book.add(p.queue, vec);
      if (p.job.serving === true) this.book.markServing(p.queue, vec);
    }
  }

  /**
   * Preempts `victims` for `p` and holds what they free for `p` for the rest of the cycle (its placement applied,
   * its quota charged, but not started: the victims still hold it until they stop). Nothing after `p` in this cycle
   * can take it, and `p`, reserved, is considered first in the next cycle: a preemption is made only for a job that
   * starts on what it frees.
   */
  private reserve(p: PreemptorView, victims: Victim[]): boolean {
    for (const v of victims) releaseVictim(this, v.entry);
    const r = this.admit(p);
    if (!r.ok) {
      // findVictims proved that p fits once they are gone; should that change, nothing is preempted.
      for (const v of victims) restoreVictim(this, v.entry);
      return false;
    }
    if (this.book !== undefined && p.queue !== undefined) this.book.add(p.queue, r.vec);
    // What the victims free beyond what p takes stays theirs until they stop: nothing else starts on it now. Their
    // quota stays charged too, until they are gone (p's is charged already).
    for (const v of victims) {
      for (const a of v.entry.allocs) this.holdLeftover(a);
      if (this.book !== undefined && v.entry.queue !== undefined) {
        this.book.add(v.entry.queue, v.entry.vec);
        this.book.markLeaving(v.entry.queue, v.entry.vec);
      }
    }
    this.preempt(p, victims);
    return true;
  }

  /** Takes out of the cycle's state what of `a` is free now (a stopping victim's capacity that its preemptor left). */
  private holdLeftover(a: Alloc): void {
    const s = this.state;
    const cpu = Math.min(a.cpuMilli, Math.max(0, s.cpuFree[a.node]!));
    const mem = Math.min(a.memoryMb, Math.max(0, s.memFree[a.node]!));
    if (cpu > 0 || mem > 0) s.allocate({ node: a.node, slots: [], milli: 0, cpuMilli: cpu, memoryMb: mem });
    for (const slot of a.slots) {
      const milli = Math.min(a.milli, Math.max(0, s.gpuFree[slot]!));
      if (milli > 0) s.allocate({ node: a.node, slots: [slot], milli, cpuMilli: 0, memoryMb: 0 });
    }
  }

  private preempt(p: PreemptorView, victims: Victim[]): void {
    const fresh: string[] = [];
    let stopping = 0;
    for (const v of victims) {
      v.entry.claimed = true;
      if (v.kind === "terminating") {
        stopping++;
        continue;
      }
      const j = p.job;
      const why = `${KIND_WORDS[v.kind]} job ${j.name} (priority ${j.priority}, service level ${p.level}${p.queue !== undefined ? `, queue ${p.queue.name}` : ""})`;
      this.decision.preempt.push({ uid: v.entry.job.uid, reason: `preempted: ${why}`, kind: v.kind, forUid: j.uid });
      fresh.push(v.entry.job.name);
    }
    const parts: string[] = [];
    if (fresh.length > 0) parts.push(`preempting ${fresh.length} job${fresh.length === 1 ? "" : "s"} to make room (${fresh.slice(0, 5).join(", ")}${fresh.length > 5 ? ", …" : ""})`);
    if (stopping > 0) parts.push(`waiting for ${stopping} preempted job${stopping === 1 ? "" : "s"} to stop`);
    this.wait(p.job, parts.join("; "), { kind: "preempting" });
  }

  /** The earliest time at which levels, minimum run times or starvation guards change what this cycle decided. */
  nextReview(pending: readonly PendingJob[]): number | undefined {
    let next = Infinity;
    const las = this.policy.las;
    if (this.policy.preemption) {
      // Only a running job that some waiting job could overtake by LAS (same priority) matters.
      const waitingPriorities = new Set<number>();
      for (const j of pending) waitingPriorities.add(j.priority);
      for (const e of this.running) {
        if (e.claimed || e.job.terminating === true || e.gpus <= 0 || !waitingPriorities.has(e.job.priority)) continue;
        const t = nextLevelMs(las, e.job, this.nowMs);
        if (t !== undefined && t < next) next = t;
        const guarded = protectedForMs(this.policy, e.job);
        if (guarded === Infinity) continue; // preempted as often as allowed: no waiting changes that
        const owed = Math.max(e.level > 0 ? this.policy.minRunTimeMs : 0, guarded);
        if (e.ranMs < owed) next = Math.min(next, e.job.startedAtMs + owed);
      }
    }
    const backfilled = this.policy.preemption && this.running.some((e) => e.job.preemptible === true && !e.claimed);
    for (const j of pending) {
      const t = nextClimbMs(las, j, this.nowMs);
      if (t !== undefined && t < next) next = t;
      // A blocked job may make backfilled work give way once it has waited backfillEvictAfterMs.
      const evictAt = (j.queuedAtMs ?? j.submittedAtMs) + this.policy.backfillEvictAfterMs;
      if (backfilled && evictAt > this.nowMs && evictAt < next) next = evictAt;
    }
    return Number.isFinite(next) && next > this.nowMs ? next : undefined;
  }
}
