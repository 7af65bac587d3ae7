export type {
  NodeInfo,
  ReplicaRequest,
  PendingJob,
  ReplicaPlacement,
  RunningJob,
  ScheduleInput,
  ScheduleDecision,
  WaitingCause,
  Scheduler,
  PreemptionKind,
  QueuesConfig,
  QueueLimits,
  QueueSpec,
  QuotaResource,
  ResourceQuota,
} from "./types.js";
export { createPriorityFifoScheduler } from "./scheduler-priority-fifo.js";
export type { PriorityFifoOptions } from "./scheduler-priority-fifo.js";
export { createSwitchyardScheduler, compileSwitchyardOptions } from "./scheduler-switchyard.js";
export type { SwitchyardSchedulerOptions, CompiledSwitchyardOptions } from "./scheduler-switchyard.js";
export { parseQueuesConfig, validateQueuesConfig } from "./queues-config.js";
export { DEFAULT_QUEUE_LIMITS, limitsOf, parseBytes } from "./queues-limits.js";
export type { PlacementStrategy } from "./placement.js";
export { accountUsage, jobUsage } from "./accounting.js";
export { neverFitsOn } from "./reasons.js";
export { DecayedUsage, DEFAULT_USAGE_HALF_LIFE_MS, usageKey } from "./decayed-usage.js";
export type { JobRecord, UsageReport, UsageRow, UsageWindow } from "./accounting.js";
export { simulateFromOptions, formatSimTable, duration as formatDurationS } from "./sim-cli.js";
export type { SimulateCommandOptions } from "./sim-cli.js";
export { simulate, checkFits } from "./sim/simulator.js";
export type { SimulateOptions, SimResult, SimJobResult, TeamResult, ServingResult } from "./sim/simulator.js";
export { simulateFill } from "./sim/fill.js";
export type { FillOptions, FillResult } from "./sim/fill.js";
export { createPolicy, policyPlacement, POLICIES } from "./sim/policies.js";
export type { PolicyName } from "./sim/policies.js";
export { createTiresiasScheduler, createSrtfOracleScheduler } from "./sim/reference-policies.js";
export type { SimOracle } from "./sim/reference-policies.js";
export { generatePhilly, generateShortJobs } from "./sim/synthetic.js";
export type { PhillyOptions, ShortJobsOptions } from "./sim/synthetic.js";
export { parseTrace, parseOpenbTrace, parseTiresiasTrace, parseSwitchyardTrace, TRACE_FORMATS, SWITCHYARD_COLUMNS } from "./sim/trace-formats.js";
export type { TraceFormat, ParsedTrace } from "./sim/trace-formats.js";
export { parseOpenbNodes, parseClusterYaml, uniformCluster } from "./sim/cluster-spec.js";
export type { ClusterFormat } from "./sim/cluster-spec.js";
export { rescaleLoad, assignTeams, splitOversized, simJobGpus } from "./sim/workload.js";
export type { SimJob } from "./sim/workload.js";
export { mulberry32 } from "./sim/prng.js";
export type { Rng } from "./sim/prng.js";
