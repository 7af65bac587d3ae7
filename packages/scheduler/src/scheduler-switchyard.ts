import { runCycle } from "./switchyard-cycle.js";
import { compileSwitchyardOptions, type SwitchyardSchedulerOptions } from "./switchyard-options.js";
import type { ScheduleDecision, ScheduleInput, Scheduler } from "./types.js";

export { compileSwitchyardOptions } from "./switchyard-options.js";
export type { CompiledSwitchyardOptions, SwitchyardSchedulerOptions } from "./switchyard-options.js";

/**
 * The platform's scheduler: team queues with quotas and cohorts (Kueue semantics), user priority, then
 * least-attained-service levels, then dominant-resource fair share across queues, then arrival; gangs placed whole;
 * fragmentation-aware placement; backfill; preemption of backfilled work, then reclaimed borrowed quota, then
 * higher LAS levels, then lower priority, fewest GPU-seconds lost and most recently started first. Serving replicas
 * (`PendingJob.serving`) are outside LAS, never backfilled, and stopped only for a higher priority or to reclaim what
 * serving borrowed beyond nominal quota.
 */
export function createSwitchyardScheduler(options: SwitchyardSchedulerOptions = {}): Scheduler {
  const compiled = compileSwitchyardOptions(options);
  return {
    name: compiled.name,
    schedule(input: ScheduleInput): ScheduleDecision {
      return runCycle(compiled, input);
    },
  };
}
