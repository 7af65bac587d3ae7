/**
 * A replica of a revision as a job of the jobs service: the model server (services/model-server) run as the
 * deployment owner's account, in the jobs service's sandbox, placed by its scheduler under the team's quota like any
 * training job, marked `serving` (never demoted by least-attained-service, not preempted by training of its priority).
 * It serves on a Unix socket in its own job directory (`serve.sock`): the platform reaches it, other accounts cannot.
 */
import { PRIORITY_CLASSES, type DeploymentSpec } from "@switchyard/specs";
import { stringify } from "yaml";

export const REPLICA_SOCKET = "serve.sock";
export const DEPLOYMENT_LABEL = "serving.switchyard.io/deployment";
export const REVISION_LABEL = "serving.switchyard.io/revision";
/** The replica serves inference with mutual TLS beside its socket, at `<socket>-mtls` (model-server identity.ts). */
export const MTLS_SUFFIX = "-mtls";

export interface ReplicaJobInput {
  jobName: string;
  deployment: string;
  revision: number;
  spec: DeploymentSpec;
  /** How the model server is started: `node` and its entry file. */
  modelServer: readonly string[];
  /** The model file the replica reads itself (file:// models); undefined when the serving service sends it. */
  modelPath: string | undefined;
  /** Platform variables (OTEL_*) every replica gets; the spec's own win. */
  env?: Readonly<Record<string, string>>;
}

const mib = (bytes: number) => `${Math.max(1, Math.ceil(bytes / 1024 ** 2))}Mi`;

export function replicaJobManifest(i: ReplicaJobInput): string {
  const s = i.spec;
  const args = ["--name", i.deployment, "--revision", String(i.revision)];
  if (s.containerConcurrency > 0) args.push("--container-concurrency", String(s.containerConcurrency));
  const b = s.batching;
  if (b) {
    args.push("--max-batch-size", String(b.maxBatchSize), "--max-queue-delay-us", String(b.maxQueueDelayMicroseconds), "--max-queue-size", String(b.maxQueueSize), "--queue-timeout-us", String(b.queueTimeoutMicroseconds));
    if (b.preferredBatchSizes.length) args.push("--preferred-batch-sizes", b.preferredBatchSizes.join(","));
  }
  if (s.resources.gpus >= 1) args.push("--gpu");
  if (s.model.format === "custom") {
    args.push("--custom", "--", ...(s.model.command ?? []), ...(s.model.args ?? []));
  } else if (i.modelPath !== undefined) {
    args.push("--model", i.modelPath);
  }
  const own = new Set((s.model.env ?? []).map((e) => e.name));
  const env = [...Object.entries(i.env ?? {}).filter(([k]) => !own.has(k)).map(([name, value]) => ({ name, value })), ...(s.model.env ?? [])];
  if (s.model.storageUri) env.push({ name: "STORAGE_URI", value: s.model.storageUri });
  const doc = {
    apiVersion: "switchyard/v1",
    kind: "Job",
    metadata: { name: i.jobName, team: s.team, labels: { [DEPLOYMENT_LABEL]: i.deployment, [REVISION_LABEL]: String(i.revision) } },
    spec: {
      ...(s.queue ? { queue: s.queue } : {}),
      ...(s.priorityClassName !== undefined ? { priority: priorityOf(s.priorityClassName) } : {}),
      replicas: 1,
      resources: { gpus: s.resources.gpus, cpu: s.resources.cpu, memory: mib(s.resources.memoryBytes) },
      command: [...i.modelServer],
      args,
      ...(env.length ? { env } : {}),
      ...(s.model.workingDir ? { workingDir: s.model.workingDir } : {}),
      // A replica that fails is replaced by the serving service (a new job), not retried in place.
      restartPolicy: "Never",
    },
  };
  return stringify(doc);
}

/** The spec's priority class as the jobs' number (the specs package validated it: a known class or an integer). */
function priorityOf(name: string): number {
  return PRIORITY_CLASSES[name.toLowerCase()] ?? (/^[+-]?\d+$/.test(name) ? Number(name) : 0);
}
