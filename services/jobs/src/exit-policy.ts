/** What a failed replica means for its job, from the restart policy (PyTorchJob's meanings, see ANCHORS.md). */
export type RestartPolicy = "Never" | "OnFailure" | "ExitCode";

export interface ExitDecision {
  retry: boolean;
  reason: string;
}

/**
 * `Never`: any failure fails the job. `OnFailure`: retried up to backoffLimit. `ExitCode`: exit codes 1–127 are
 * permanent failures (a bug), 128–255 are retried (killed by a signal, e.g. OOM or preemption). A replica whose
 * result was lost (its shim vanished) counts as retryable under OnFailure and ExitCode.
 */
export function decideOnFailure(policy: RestartPolicy, exitCode: number | null, retriesUsed: number, backoffLimit: number): ExitDecision {
  if (policy === "Never") return { retry: false, reason: "restartPolicy is Never" };
  if (policy === "ExitCode" && exitCode !== null && exitCode >= 1 && exitCode <= 127) {
    return { retry: false, reason: `exit code ${exitCode} is a permanent failure under restartPolicy ExitCode (1–127)` };
  }
  if (retriesUsed >= backoffLimit) return { retry: false, reason: `backoffLimit ${backoffLimit} reached after ${retriesUsed} retries` };
  return { retry: true, reason: `retry ${retriesUsed + 1} of ${backoffLimit}` };
}
