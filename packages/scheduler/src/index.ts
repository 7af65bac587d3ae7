export type {
  NodeInfo,
  ReplicaRequest,
  PendingJob,
  ReplicaPlacement,
  RunningJob,
  ScheduleInput,
  ScheduleDecision,
  Scheduler,
  PreemptionKind,
  QueuesConfig,
  QueueSpec,
  QuotaResource,
  ResourceQuota,
} from "./types.js";
export { createPriorityFifoScheduler } from "./scheduler-priority-fifo.js";
export type { PriorityFifoOptions } from "./scheduler-priority-fifo.js";
export { createSwitchyardScheduler, compileSwitchyardOptions } from "./scheduler-switchyard.js";
export type { SwitchyardSchedulerOptions, CompiledSwitchyardOptions } from "./scheduler-switchyard.js";
export { parseQueuesConfig, validateQueuesConfig } from "./queues-config.js";
export type { PlacementStrategy } from "./placement.js";
