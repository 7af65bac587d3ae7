/**
 * What Kubeflow's PyTorchJob and TrainJob share once parsed: identity from ObjectMeta (namespace → team), and queue
 * and priority from Kueue's labels when the job itself does not say.
 */
import type * as z from "zod";
import type { Honoured } from "./ignored-fields.js";
import type { jobObjectMetaSchema } from "./k8s-meta-schema.js";
import { JOB_DEFAULTS } from "./job-spec.js";
import { KUEUE_PRIORITY_LABEL, KUEUE_QUEUE_LABEL, priorityFromClass, warnAt } from "./normalize-common.js";
import type { NormalizeContext } from "./normalize-common.js";

type JobMeta = z.output<typeof jobObjectMetaSchema>;

export interface KubeflowIdentity {
  name?: string;
  generateName?: string;
  team: string;
  labels: Record<string, string>;
}

export function kubeflowIdentity(meta: JobMeta, ctx: NormalizeContext): KubeflowIdentity {
  const out: KubeflowIdentity = {
    team: meta.namespace ?? JOB_DEFAULTS.team,
    labels: Object.fromEntries(Object.entries(meta.labels ?? {}).map(([k, v]) => [k, String(v)])),
  };
  if (meta.name !== undefined && meta.name !== null) {
    out.name = meta.name;
    if (meta.generateName !== undefined && meta.generateName !== null) warnAt(ctx, ["metadata", "generateName"], "ignored because `name` is set");
  } else if (meta.generateName !== undefined && meta.generateName !== null) {
    out.generateName = meta.generateName;
  }
  return out;
}

const QUEUE = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** The queue: the job's own field if it has one, else Kueue's queue-name label, else "default". */
export function kubeflowQueue(own: string | null | undefined, labels: Record<string, string>, ctx: NormalizeContext): string {
  if (own !== undefined && own !== null) return own;
  const label = labels[KUEUE_QUEUE_LABEL];
  if (label === undefined) return JOB_DEFAULTS.queue;
  if (!QUEUE.test(label)) {
    ctx.violations.add(["metadata", "labels", KUEUE_QUEUE_LABEL], {
      message: "is not a valid queue name", expected: "lowercase letters, digits, '-' and '.'", got: JSON.stringify(label), hint: "e.g. `kueue.x-k8s.io/queue-name: default`",
    });
  }
  return label;
}

/** The priority: the job's own priority class if it has one, else Kueue's priority-class label, else 0. */
export function kubeflowPriority(own: { name: string; path: (string | number)[] } | undefined, labels: Record<string, string>, ctx: NormalizeContext): number {
  if (own !== undefined) return priorityFromClass(own.name, own.path, ctx);
  const label = labels[KUEUE_PRIORITY_LABEL];
  if (label === undefined) return JOB_DEFAULTS.priority;
  return priorityFromClass(label, ["metadata", "labels", KUEUE_PRIORITY_LABEL], ctx);
}

/** The parts of a Kubeflow manifest's top level this engine uses. */
export const honouredTop = {
  apiVersion: true,
  kind: true,
  metadata: { name: true, generateName: true, namespace: true, labels: true },
} as const satisfies Record<string, Honoured>;
