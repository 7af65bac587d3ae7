/**
 * `serve --wait`: polls the deployment until its newest revision has a ready replica, saying why it waits when that
 * takes a while (as `submit --wait` does for a queued job), and why it gave up when it does.
 */
import type { Deployment } from "@switchyard/api";
import { latestRevision } from "./deployment-format.js";
import { pollUntil, type PollTime } from "./poll.js";

/** Quiet this long before saying why a deployment is not ready yet: most replicas are ready by then. */
export const QUIET_DEPLOY_WAIT_MS = 3000;

export interface DeploymentWaitResult {
  ok: boolean;
  deployment: Deployment;
  /** One line (or a few) for the user: ready, or why not. */
  text: string;
}

/** Ready (exit 0), failed for good (exit 1), or undefined while it may still become ready. */
function verdict(d: Deployment): DeploymentWaitResult | undefined {
  const r = latestRevision(d);
  if (r !== undefined && r.readyReplicas >= 1) return { ok: true, deployment: d, text: `deployment/${d.name} ready: revision r${r.number} has ${r.readyReplicas}/${r.desiredReplicas} replica${r.desiredReplicas === 1 ? "" : "s"} ready` };
  if (d.state === "ScaledToZero") return { ok: true, deployment: d, text: `deployment/${d.name} is scaled to zero: the first request starts a replica` };
  if (d.state === "Deleting") return { ok: false, deployment: d, text: `deployment/${d.name} is being deleted${d.message ? `: ${d.message}` : ""}` };
  if (r !== undefined && r.state === "Retired") return { ok: false, deployment: d, text: `deployment/${d.name}: revision r${r.number} was retired before a replica was ready${d.message ? `: ${d.message}` : ""}` };
  return undefined;
}

/** Why it is not ready yet, in one line: the service's message and the newest revision's replicas. */
export function notReadyText(d: Deployment): string {
  const r = latestRevision(d);
  const replicas = r?.replicas.map((x) => `${x.job} ${x.phase || "starting"}`).join(", ") ?? "";
  const why = d.message || d.state || "starting";
  return replicas ? `${why} (replicas: ${replicas})` : why;
}

function hints(d: Deployment): string {
  const jobs = latestRevision(d)?.replicas.map((x) => x.job) ?? [];
  return `  see \`switchyard deployments describe ${d.name}\`${jobs.length > 0 ? `, and a replica's log: \`switchyard logs ${jobs[0]}\`` : ""}`;
}

export async function waitForDeployment(
  get: () => Promise<Deployment>,
  o: { timeoutMs: number; timeoutText: string; report?: (line: string) => void; time?: PollTime; intervalMs?: number },
): Promise<DeploymentWaitResult> {
  let notReadySince: number | undefined;
  let last = "";
  const now = () => (o.time ?? { now: Date.now }).now();
  const polled = await pollUntil(get, (d) => verdict(d) !== undefined, {
    timeoutMs: o.timeoutMs,
    ...(o.intervalMs !== undefined ? { intervalMs: o.intervalMs } : {}),
    ...(o.time !== undefined ? { time: o.time } : {}),
    onEach: (d) => {
      const t = now();
      notReadySince ??= t;
      if (o.report === undefined || t - notReadySince < QUIET_DEPLOY_WAIT_MS) return;
      const why = notReadyText(d);
      if (why === last) return;
      last = why;
      o.report(`deployment/${d.name} is not ready yet: ${why}`);
    },
  });
  const d = polled.value;
  const v = verdict(d);
  if (v !== undefined) return v.ok ? v : { ...v, text: `${v.text}\n${hints(d)}` };
  return { ok: false, deployment: d, text: `deployment/${d.name} has no ready replica after ${o.timeoutText}: ${notReadyText(d)}\n${hints(d)}` };
}
