import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Queues, QueuedJobSchema, QueueStatusSchema } from "@switchyard/api";
import { invalidArgument, parseSinceMs } from "@switchyard/core";
import type { CallContext, ServiceImpl } from "@switchyard/mesh";
import { parseQueuesConfig, type NodeInfo, type QueuesConfig } from "@switchyard/scheduler";
import { callerOf, inScope, readScope, requireAdmin, seesJobOf, type Caller } from "./authz.js";
import type { JobController } from "./controller.js";
import type { JobSummary, ReplicaRow } from "./job-rows.js";
import type { JobStore } from "./job-store.js";
import type { QueueConfigStore } from "./queue-config-store.js";
import { statusMessage } from "./to-proto.js";
import { usageLines } from "./usage.js";

type QueueStatusInit = MessageInitShape<typeof QueueStatusSchema>;
type QueuedJobInit = MessageInitShape<typeof QueuedJobSchema>;

/** Pending jobs listed per queue unless the request asks for another number. */
const DEFAULT_MAX_PENDING_JOBS = 100;

/**
 * A queue's pending jobs, next first: in the order of the scheduler's last cycle (the waiting reason's position),
 * then the jobs it has not considered yet by priority and submission; suspended ones last, not in line (position 0).
 */
function pendingInOrder(jobs: readonly JobSummary[]): { job: JobSummary; position: number }[] {
  const suspended = (j: JobSummary) => j.reason === "Suspended";
  const considered = (j: JobSummary) => (j.reason === "Waiting" && j.waiting !== null ? j.waiting.position : Infinity);
  const sorted = [...jobs].sort((a, b) => Number(suspended(a)) - Number(suspended(b)) || considered(a) - considered(b) || b.priority - a.priority || a.seq - b.seq);
  let next = 0;
  return sorted.map((job) => ({ job, position: suspended(job) ? 0 : ++next }));
}

/** A pending job as `caller` may see it: another team's without its name, uid and user. */
function queuedJobToProto(caller: Caller, job: JobSummary, position: number): QueuedJobInit {
  const sees = seesJobOf(caller, job.team);
  return {
    name: sees ? job.name : "(another team's job)",
    team: job.team,
    uid: sees ? job.uid : "",
    user: sees ? job.user : "",
    priority: job.priority,
    position,
    reason: job.reason,
    // The reason text may name other jobs ("behind job X", "preempting … (names)"): only for jobs the caller sees.
    message: sees ? statusMessage(job) : "",
    queuedTime: timestampFromMs(job.queued_at),
  };
}

/** Loads the newest applied queues configuration (none: one shared pool without quotas). */
export async function loadQueues(configs: QueueConfigStore): Promise<{ config: QueuesConfig | undefined; version: number }> {
  const row = await configs.latest();
  if (!row) return { config: undefined, version: 0 };
  return { config: parseQueuesConfig(row.yaml, `queues v${row.version}`), version: row.version };
}

/** Resource amounts one replica row holds, by quota resource name. */
function holdings(r: ReplicaRow, nodes: readonly NodeInfo[]): Record<string, number> {
  const idx = r.gpus;
  const out: Record<string, number> = { cpuMilli: r.cpu_milli, memoryMb: r.memory_mb };
  if (r.gpu_milli > 0) out.gpuMilli = r.gpu_milli;
  else if (idx.length > 0) {
    out.gpus = idx.length;
    for (const i of idx) {
      const type = nodes.find((n) => n.name === r.node)?.gpus.find((g) => g.index === i)?.type;
      if (type) out[`gpus/${type}`] = (out[`gpus/${type}`] ?? 0) + 1;
    }
  }
  return out;
}

/** The Queues gRPC service: apply quotas without a restart, show them with usage, and account GPU-hours. */
export function queuesService(d: { store: JobStore; configs: QueueConfigStore; controller: JobController }): ServiceImpl<typeof Queues> {
  const { store, controller } = d;
  let version = 0;

  async function status(caller: Caller, maxPendingJobs = DEFAULT_MAX_PENDING_JOBS): Promise<QueueStatusInit[]> {
    const config = controller.queues;
    const active = await store.active();
    const live = await store.liveReplicas();
    const byUid = new Map(active.map((j) => [j.uid, j]));
    const queueOf = (j: JobSummary) => (config ? (config.queues.find((q) => q.name === j.queue) ?? config.queues.find((q) => q.team === j.team))?.name : j.queue);
    const names = config ? config.queues.map((q) => q.name) : [...new Set(active.map((j) => j.queue))].sort();
    const used = new Map<string, Record<string, number>>();
    const running = new Map<string, Set<string>>();
    for (const r of live) {
      // Replicas still stopping may belong to jobs already final (not in `active`).
      const job = byUid.get(r.job_uid) ?? (await store.summaries([r.job_uid])).get(r.job_uid);
      if (!job) continue;
      const q = queueOf(job);
      if (!q) continue;
      const u = used.get(q) ?? {};
      for (const [k, v] of Object.entries(holdings(r, controller.nodes.capacity()))) u[k] = (u[k] ?? 0) + v;
      used.set(q, u);
      running.set(q, (running.get(q) ?? new Set()).add(job.uid));
    }
    const pending = new Map<string, JobSummary[]>();
    for (const j of active) {
      // A cancel asked of a queued job ends it at once: it is no longer in line.
      if (j.phase !== "Queued" || j.cancel_requested === 1) continue;
      const q = queueOf(j) ?? "";
      let list = pending.get(q);
      if (list === undefined) pending.set(q, (list = []));
      list.push(j);
    }
    return names.map((name) => {
      const spec = config?.queues.find((q) => q.name === name);
      const u = used.get(name) ?? {};
      const resources = spec
        ? Object.entries(spec.resources).map(([res, quota]) => ({
            name: res,
            nominalQuota: quota.nominalQuota,
            ...(quota.borrowingLimit !== undefined ? { borrowingLimit: quota.borrowingLimit } : {}),
            ...(quota.lendingLimit !== undefined ? { lendingLimit: quota.lendingLimit } : {}),
            used: u[res] ?? 0,
            borrowed: Math.max(0, (u[res] ?? 0) - quota.nominalQuota),
          }))
        : Object.entries(u).map(([res, v]) => ({ name: res, nominalQuota: 0, used: v, borrowed: 0 }));
      const waiting = pendingInOrder(pending.get(name) ?? []);
      return {
        name,
        team: spec?.team ?? "",
        cohort: spec?.cohort ?? "",
        weight: spec?.weight ?? 1,
        resources,
        pending: waiting.length,
        running: running.get(name)?.size ?? 0,
        pendingJobs: waiting.slice(0, maxPendingJobs).map((w) => queuedJobToProto(caller, w.job, w.position)),
      };
    });
  }

  return {
    async applyQueues(req, ctx: CallContext) {
      const caller = callerOf(ctx);
      requireAdmin(caller, "apply queue configurations");
      const config = parseQueuesConfig(req.yaml, req.fileName || "queues.yaml");
      version = await d.configs.append(req.yaml, caller.kind === "user" ? caller.user : caller.service, Date.now());
      controller.queues = config;
      controller.kick();
      return { version: BigInt(version), queues: await status(caller) };
    },

    async listQueues(req, ctx: CallContext) {
      const caller = callerOf(ctx);
      if (req.maxPendingJobs < 0 || req.maxPendingJobs > 10_000) {
        throw invalidArgument(`maxPendingJobs: ${req.maxPendingJobs} is out of range`, [{ field: "maxPendingJobs", message: "is out of range", expected: "1 to 10000, or 0 for the default (100)", got: String(req.maxPendingJobs) }]);
      }
      if (version === 0 && controller.queues) version = (await loadQueues(d.configs)).version;
      return { version: BigInt(version), queues: await status(caller, req.maxPendingJobs || DEFAULT_MAX_PENDING_JOBS) };
    },

    async getUsage(req, ctx: CallContext) {
      // Members and viewers see their own teams' usage; admins (and internal callers) everyone's.
      const scope = readScope(callerOf(ctx), "");
      const now = Date.now();
      // Empty: all time.
      const since = req.since ? parseSinceMs(req.since, now) : 0;
      const lines = usageLines(await store.usageRecords(since), since, now).filter((l) => inScope(scope, l.team));
      return { rows: lines };
    },
  };
}
