import { invalidArgument } from "@switchyard/core";
import type { PlacementStrategy } from "../placement.js";
import { createPriorityFifoScheduler } from "../scheduler-priority-fifo.js";
import { createSwitchyardScheduler, type SwitchyardSchedulerOptions } from "../scheduler-switchyard.js";
import type { Scheduler } from "../types.js";
import { createSrtfOracleScheduler, createTiresiasScheduler, requireOracle, type SimOracle } from "./reference-policies.js";

/**
 * `fifo`: strict arrival order, gangs whole, no preemption, no backfill. `best-effort-fifo`: arrival order, a job
 * that does not fit does not block the ones behind it (Kueue's default). `first-fit`: fifo with first-fit
 * placement. `switchyard`: ours. Two references, in the simulator only: `tiresias` (discretized 2D-LAS, the best
 * published policy without duration knowledge) and `srtf-oracle` (knows run times: the ceiling).
 */
export type PolicyName = "fifo" | "best-effort-fifo" | "first-fit" | "switchyard" | "tiresias" | "srtf-oracle";
export const POLICIES: readonly PolicyName[] = ["switchyard", "fifo", "best-effort-fifo", "first-fit", "tiresias", "srtf-oracle"];

export function createPolicy(name: PolicyName, options: SwitchyardSchedulerOptions = {}, oracle?: SimOracle): Scheduler {
  switch (name) {
    case "fifo":
      return createPriorityFifoScheduler({ blocking: true, name: "fifo" });
    case "best-effort-fifo":
      return createPriorityFifoScheduler({ blocking: false, name: "best-effort-fifo" });
    case "first-fit":
      return createPriorityFifoScheduler({ blocking: true, placement: "first-fit", name: "first-fit" });
    case "switchyard":
      return createSwitchyardScheduler(options);
    case "tiresias":
      return createTiresiasScheduler();
    case "srtf-oracle":
      return createSrtfOracleScheduler(requireOracle(oracle));
    default:
      throw invalidArgument(`unknown policy "${String(name)}"`, [{ field: "policy", message: "unknown policy", expected: POLICIES.join(", "), got: String(name) }]);
  }
}

/** Where each policy puts replicas (the packing experiment uses this). */
export function policyPlacement(name: PolicyName, options: SwitchyardSchedulerOptions = {}): PlacementStrategy {
  if (name === "first-fit") return "first-fit";
  if (name === "switchyard") return options.placement ?? "fgd";
  return "best-fit";
}
