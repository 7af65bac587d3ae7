export type {
  NodeInfo,
  ReplicaRequest,
  PendingJob,
  ReplicaPlacement,
  RunningJob,
  ScheduleInput,
  ScheduleDecision,
  Scheduler,
} from "./types.js";
export { createPriorityFifoScheduler } from "./scheduler-priority-fifo.js";
export type { PriorityFifoOptions } from "./scheduler-priority-fifo.js";
export type { PlacementStrategy } from "./placement.js";
