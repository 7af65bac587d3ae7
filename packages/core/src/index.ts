export { Code, SwitchyardError, invalidArgument, notFound, formatViolations, errorText } from "./errors.js";
export type { FieldViolation, SwitchyardErrorOptions } from "./errors.js";
export { systemClock, FakeClock, sleep } from "./clock.js";
export type { Clock, TimerHandle } from "./clock.js";
export { noopLogger, createLogger } from "./logger.js";
export type { Logger, LoggerOptions } from "./logger.js";
export { newUid, nameSuffix } from "./ids.js";
export { announceReady, parseReadyLine, onShutdown, READY_PREFIX } from "./service-lifecycle.js";
export type { ReadyInfo, RunningService } from "./service-lifecycle.js";
