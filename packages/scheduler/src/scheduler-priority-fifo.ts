import { buildClusterState } from "./cluster-build.js";
import { placeJob, type PlacementStrategy } from "./placement.js";
import { compareFifo, shapeKey } from "./order.js";
import { explainUnfit, neverFits } from "./reasons.js";
import type { PendingJob, ScheduleDecision, ScheduleInput, Scheduler } from "./types.js";

export interface PriorityFifoOptions {
  /**
   * `true` (default): strict order, a job that does not fit blocks every job behind it (classic FIFO, Kueue's
   * StrictFIFO). `false`: a job that does not fit is passed over (Kueue's BestEffortFIFO).
   */
  readonly blocking?: boolean;
  /** Where replicas go (default `best-fit`). */
  readonly placement?: PlacementStrategy;
  /** Name reported by `Scheduler.name`. */
  readonly name?: string;
}

/**
 * Priority then arrival order; a job starts only when all its replicas fit at once (gang), never partly.
 * No preemption, no quotas: the baseline, and the scheduler of a single machine. Serving replicas (`serving`) are
 * placed like any job; as nothing is ever preempted, none is ever stopped for other work.
 */
export function createPriorityFifoScheduler(options: PriorityFifoOptions = {}): Scheduler {
  const blocking = options.blocking ?? true;
  const strategy = options.placement ?? "best-fit";
  const name = options.name ?? (blocking ? (strategy === "first-fit" ? "first-fit" : "fifo") : "best-effort-fifo");
  return {
    name,
    schedule(input: ScheduleInput): ScheduleDecision {
      const { state } = buildClusterState(input.nodes, input.running);
      const order = [...input.pending].sort(compareFifo);
      const decision: ScheduleDecision = { start: [], preempt: [], waiting: [] };
      const failed = new Map<string, string>();
      const impossible = new Map<string, string | null>();
      let blocker: { job: PendingJob; position: number } | undefined;
      for (const job of order) {
        const position = decision.waiting.length + 1;
        if (blocker !== undefined) {
          const b = blocker.job;
          decision.waiting.push({ uid: job.uid, position, reason: `behind job ${b.name} (priority ${b.priority}) at position ${blocker.position}, which does not fit yet (strict FIFO)`, cause: { kind: "behind", blockedBy: b.name, blockerPosition: blocker.position } });
          continue;
        }
        const key = shapeKey(job.replicas);
        let never = impossible.get(key);
        if (never === undefined) impossible.set(key, (never = neverFits(state, job) ?? null));
        if (never !== null) {
          // A job that can never run here does not hold the queue up forever.
          decision.waiting.push({ uid: job.uid, position, reason: never, cause: { kind: "neverFits" } });
          continue;
        }
        let reason = failed.get(key);
        if (reason === undefined) {
          const allocs = job.replicas.length > 0 ? placeJob(state, job.replicas, { strategy }) : undefined;
          if (allocs !== undefined) {
            decision.start.push({ uid: job.uid, placement: allocs.map((a) => state.toPlacement(a)) });
            continue;
          }
          reason = explainUnfit(state, job);
          failed.set(key, reason);
        }
        decision.waiting.push({ uid: job.uid, position, reason, cause: { kind: "resources" } });
        if (blocking) blocker = { job, position };
      }
      return decision;
    },
  };
}
