import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ArtifactChunkSchema, Jobs, ListJobsRequest, LogChunkSchema } from "@switchyard/api";
import { Code, SwitchyardError, systemClock } from "@switchyard/core";
import type { Executor, GpuDevice } from "@switchyard/executors";
import type { CallContext, ServiceImpl } from "@switchyard/mesh";
import { listArtifacts, readArtifact } from "./artifacts.js";
import { authorizeRerunSecrets, authorizeSubmit, callerOf, serviceReaches, inScope, readScope, requireWriter, scopeText, seesJobOf, workloadClassOf, type Caller } from "./authz.js";
import type { JobController } from "./controller.js";
import { checkBaseDir, checkWorkingDirs } from "./job-admission.js";
import { deleteJob } from "./job-deletion.js";
import type { JobIsolation } from "./job-isolation.js";
import type { ManifestParser } from "./manifest-parser.js";
import type { MetricsStore } from "./metrics-store.js";
import type { JobRetention } from "./retention.js";
import { streamLogs } from "./job-logs.js";
import { gatherFor, listVisible, watchJobs, type Watchers, type WatchRequest } from "./job-watch.js";
import type { JobRow } from "./job-rows.js";
import type { JobStore } from "./job-store.js";
import { isFinal } from "./phases.js";
import { eventToProto, jobToProto, specToProto } from "./to-proto.js";

export interface JobsServiceDeps {
  store: JobStore;
  controller: JobController;
  executor: Executor;
  gpus: GpuDevice[];
  nodeName: string;
  isolation: JobIsolation;
  manifests: ManifestParser;
  metricSeries: MetricsStore;
  retention: JobRetention;
  /** WatchJobs streams open at once (default 1000). */
  maxWatchers?: number;
  /** How long WatchJobs gathers changes before sending them (default 50 ms). */
  watchCoalesceMs?: number;
  /** How long one WatchJobs stream lives before it ends and the client opens another (default 10 minutes). */
  watchLifetimeMs?: number;
}

const manifestOptions = (req: { fileName: string; baseDir: string }) => ({ ...(req.fileName ? { file: req.fileName } : {}), ...(req.baseDir ? { baseDir: req.baseDir } : {}) });


/** The Jobs gRPC service: thin handlers over the store and the controller. */
export function jobsService(d: JobsServiceDeps): ServiceImpl<typeof Jobs> {
  const { store, controller, executor } = d;

  /** The job a call names, among those the caller may see (authz.ts); `write`: the change, which viewers may not make. */
  async function resolveJob(name: string, team: string, ctx: CallContext, write?: string): Promise<JobRow> {
    // A read may come from a grant delegate passing on the user it serves now (serving reading a job's model for them).
    const caller = callerOf(ctx, write === undefined ? { acceptsOnBehalfOf: true } : {});
    if (write !== undefined) requireWriter(caller, write);
    const scope = readScope(caller, team);
    if (!name) throw new SwitchyardError(Code.InvalidArgument, "name: a job name or uid is required", { details: [{ field: "name", message: "required" }] });
    const found = (await store.find(name, team || undefined)).filter((j) => inScope(scope, j.team) && serviceReaches(caller, j.spec.labels));
    if (found.length === 0) throw new SwitchyardError(Code.NotFound, `job "${name}" not found${team ? ` in team "${team}"` : scopeText(scope)}: list jobs with \`switchyard list\``);
    if (found.length > 1) {
      throw new SwitchyardError(Code.FailedPrecondition, `job name "${name}" exists in teams ${found.map((j) => j.team).join(", ")}: give the team (--team) or the uid`);
    }
    return found[0]!;
  }

  /** Logs and artifacts of a job whose files retention (or gc) deleted: say so, rather than answer empty. */
  function requireFiles(row: JobRow, what: string): void {
    if (row.collected_at !== null) {
      throw new SwitchyardError(Code.FailedPrecondition, `job "${row.name}" ended ${new Date(row.completion_time ?? row.collected_at).toISOString()} and its files were deleted ${new Date(row.collected_at).toISOString()} (its queue's retention, or switchyard gc): its ${what} are gone; its record, events and metrics remain`);
    }
  }

  /** A ListJobs or WatchJobs request as the caller may make it: their scope (a team of theirs, or refused), the filter. */
  function listRequest(req: ListJobsRequest, ctx: CallContext): WatchRequest {
    const caller = callerOf(ctx);
    return { scope: readScope(caller, req.team), caller, phase: req.state, team: req.team, queue: req.queue, user: req.user, name: req.name, limit: req.limit };
  }

  /** Jobs as ListJobs and WatchJobs answer them: with their current attempt's replicas, no job directory. */
  async function listed(rows: readonly JobRow[]) {
    const replicas = await store.currentReplicas(rows);
    return rows.map((r) => jobToProto(r, replicas.get(r.uid) ?? []));
  }
  const watchers: Watchers = { open: 0, byCaller: new Map() };

  async function toProto(row: JobRow, caller?: Caller) {
    return jobToProto(row, row.attempt > 0 ? await store.replicas(row.uid, row.attempt) : [], caller?.kind === "service" || caller?.via === "serving" ? d.isolation.jobDir(row.uid) : "");
  }

  return {
    async submitJob(req, ctx) {
      const caller = callerOf(ctx, { honoursGrants: true });
      // Viewers are refused before their manifest is read; then it is read once, in bounded time (manifest-parser.ts).
      if (caller.kind === "user") requireWriter(caller, "submit jobs");
      checkBaseDir(req.baseDir);
      const { parsed, redacted } = await d.manifests.read(req.manifest, manifestOptions(req));
      authorizeSubmit(caller, parsed.spec.team, parsed.spec.labels);
      // A relative working directory with nothing to resolve it against (REST): refused now, not failed at launch.
      checkWorkingDirs(parsed.spec, parsed.source, req.baseDir);
      // A team over its disk quota gets no new work until it frees space (retention.ts).
      await d.retention.checkQuota(parsed.spec.team);
      const user = caller.kind === "user" ? caller.user : "";
      // Who would run it: refused now (with the fix) rather than at launch when no account may run this user's jobs.
      d.isolation.checkSubmitter(user, caller.kind === "user" ? caller.role : undefined);
      const r = await controller.submit({
        parsed,
        manifest: redacted,
        requestId: req.requestId,
        generateName: req.generateName,
        user,
        allowUnschedulable: req.allowUnschedulable,
        ...(req.replace ? { replace: "replace" as const } : {}),
        workloadClass: workloadClassOf(caller, req.workloadClass),
      });
      if (r.replayed && !inScope(readScope(caller, ""), r.job.team)) throw new SwitchyardError(Code.PermissionDenied, "request_id belongs to another team's submission: use a new request id");
      return { job: await toProto(r.job, caller), warnings: r.warnings, replayed: r.replayed };
    },

    async validateJob(req, ctx: CallContext) {
      // Nothing of anyone's is read, but like every method it answers a proven caller only (the gateway names its user).
      callerOf(ctx);
      checkBaseDir(req.baseDir);
      const { parsed, native } = await d.manifests.read(req.manifest, manifestOptions(req), { native: true });
      checkWorkingDirs(parsed.spec, parsed.source, req.baseDir);
      return {
        spec: specToProto(parsed.spec),
        name: parsed.spec.name ?? "",
        team: parsed.spec.team,
        warnings: parsed.warnings,
        nativeManifest: native,
      };
    },

    async getJob(req, ctx) {
      return toProto(await resolveJob(req.name, req.team, ctx), callerOf(ctx, { acceptsOnBehalfOf: true }));
    },

    async listJobs(req, ctx) {
      return { jobs: await listed(await listVisible(store, listRequest(req, ctx))) };
    },

    watchJobs(req, ctx) {
      return watchJobs(
        { store, toProtos: listed, watchers, maxWatchers: d.maxWatchers ?? 1000, maxPerCaller: 32, lifetimeMs: d.watchLifetimeMs ?? 600_000, gather: gatherFor(d.watchCoalesceMs ?? 50) },
        listRequest(req, ctx),
        ctx.signal,
      );
    },

    async describeJob(req, ctx) {
      const row = await resolveJob(req.name, req.team, ctx);
      return { job: await toProto(row), events: (await store.events(row.uid)).map(eventToProto) };
    },

    async cancelJob(req, ctx) {
      const row = await resolveJob(req.name, req.team, ctx, "cancel jobs");
      // Cancelled already: answered as it is, so that a retried cancel (CancelJob is IDEMPOTENT) succeeds.
      if (isFinal(row.phase) && row.phase !== "Cancelled") {
        const when = row.completion_time !== null ? ` at ${new Date(row.completion_time).toISOString()}` : "";
        throw new SwitchyardError(Code.FailedPrecondition, `job "${row.name}" has already finished (${row.phase}${when}): there is nothing to cancel; delete it with \`switchyard delete ${row.name}\`, or run it again with \`switchyard rerun ${row.name}\``);
      }
      await controller.cancel(row.uid);
      return toProto((await store.byUid(row.uid))!);
    },

    async deleteJob(req, ctx) {
      const row = await resolveJob(req.name, req.team, ctx, "delete jobs");
      const job = await toProto(row);
      const r = await deleteJob({ store, retention: d.retention, clock: systemClock }, row.uid, req.purge);
      if (r === undefined) throw new SwitchyardError(Code.NotFound, `job "${req.name}" not found: it was deleted meanwhile`);
      return { job, purged: r.purged, freedBytes: BigInt(r.freedBytes), outputDir: r.purged ? "" : controller.jobDir(row.uid, "output") };
    },

    async rerunJob(req, ctx) {
      const caller = callerOf(ctx);
      const row = await resolveJob(req.name, req.team, ctx, "rerun jobs");
      // As a submission by the caller: to one of their teams, within its disk quota, run by their account.
      authorizeSubmit(caller, row.team);
      authorizeRerunSecrets(caller, row);
      await d.retention.checkQuota(row.team);
      const user = caller.kind === "user" ? caller.user : "";
      d.isolation.checkSubmitter(user, caller.kind === "user" ? caller.role : undefined);
      const r = await controller.rerun(row, { requestId: req.requestId, generateName: req.generateName, user, allowUnschedulable: req.allowUnschedulable });
      if (r.replayed && !inScope(readScope(caller, ""), r.job.team)) throw new SwitchyardError(Code.PermissionDenied, "request_id belongs to another team's submission: use a new request id");
      return { job: await toProto(r.job), warnings: r.warnings, replayed: r.replayed };
    },

    async *getLogs(req, ctx: CallContext): AsyncIterable<MessageInitShape<typeof LogChunkSchema>> {
      const row = await resolveJob(req.name, req.team, ctx);
      requireFiles(row, "logs");
      yield* streamLogs({ store, executor }, row, { attempt: req.attempt, replica: req.replica, follow: req.follow }, ctx.signal);
    },

    async getMetrics(req, ctx) {
      const row = await resolveJob(req.name, req.team, ctx);
      if (req.maxPoints < 0 || req.maxPoints > 10_000) {
        throw new SwitchyardError(Code.InvalidArgument, `maxPoints: ${req.maxPoints} is out of range`, { details: [{ field: "maxPoints", message: "is out of range", expected: "1 to 10000, or 0 for the default (1000)", got: String(req.maxPoints) }] });
      }
      const series = await d.metricSeries.read(row.uid, { names: req.names.slice(0, 64), maxPoints: req.maxPoints || 1000 });
      return {
        series: series.map((s) => ({
          name: s.name,
          latest: s.latest,
          min: s.min,
          max: s.max,
          totalPoints: BigInt(s.total),
          points: s.points.map((b) => ({ step: BigInt(b.step), stepTo: BigInt(b.stepTo), value: b.value, min: b.min, max: b.max, count: BigInt(b.count), time: timestampFromMs(b.time) })),
        })),
      };
    },

    async listArtifacts(req, ctx) {
      const row = await resolveJob(req.name, req.team, ctx);
      requireFiles(row, "artifacts");
      const dir = controller.jobDir(row.uid, "output");
      const artifacts = (await listArtifacts(dir)).map((a) => ({ path: a.path, sizeBytes: BigInt(a.sizeBytes), modified: timestampFromMs(a.modifiedMs), symlink: a.symlink }));
      return { artifacts, outputDir: dir };
    },

    async *readArtifact(req, ctx): AsyncIterable<MessageInitShape<typeof ArtifactChunkSchema>> {
      const row = await resolveJob(req.name, req.team, ctx);
      requireFiles(row, "artifacts");
      for await (const data of readArtifact(controller.jobDir(row.uid, "output"), req.path, row.name)) yield { data, path: req.path };
    },

    async collectGarbage(req, ctx) {
      const caller = callerOf(ctx);
      if (caller.kind === "user" && !req.dryRun) requireWriter(caller, "delete jobs' files");
      const scope = readScope(caller, req.team);
      if (req.olderThanSeconds < 0n) {
        throw new SwitchyardError(Code.InvalidArgument, "olderThanSeconds must not be negative", { details: [{ field: "olderThanSeconds", message: "is negative", expected: "seconds ≥ 0 (0: each queue's retention)", got: String(req.olderThanSeconds) }] });
      }
      const teams = scope === "all" ? (req.team ? [req.team] : undefined) : scope;
      await d.retention.measure();
      const r = await d.retention.collect({ dryRun: req.dryRun, ...(req.olderThanSeconds > 0n ? { olderThanMs: Number(req.olderThanSeconds) * 1000 } : {}), ...(teams ? { teams } : {}) });
      const usage = [...(await d.retention.usage())].filter(([team]) => inScope(scope, team) && (!req.team || team === req.team));
      return {
        dryRun: req.dryRun,
        freedBytes: BigInt(r.freedBytes),
        jobs: r.jobs.map((j) => ({ name: j.row.name, team: j.row.team, uid: j.row.uid, bytes: BigInt(j.bytes), ...(j.row.completion_time !== null ? { completionTime: timestampFromMs(j.row.completion_time) } : {}) })),
        usage: usage.map(([team, u]) => ({ team, bytes: BigInt(u.bytes), quotaBytes: BigInt(u.quotaBytes) })),
      };
    },

    async listGpus(_req, ctx) {
      const caller = callerOf(ctx);
      const live = await store.liveReplicas();
      const jobs = await store.summaries(live.map((r) => r.job_uid));
      // By node and index: with an executor's inventory (Slurm) there are many nodes, each with its own indices.
      const holders = new Map<string, { job: string; team: string; milli: number }>();
      for (const r of live) {
        const job = jobs.get(r.job_uid);
        for (const g of r.gpus) {
          const key = `${r.node}/${g}`;
          const h = holders.get(key) ?? { job: "", team: "", milli: 0 };
          const shown = seesJobOf(caller, job?.team ?? "") ? (job?.name ?? r.job_uid) : "(another team's job)";
          h.job = h.job ? `${h.job},${shown}` : shown;
          h.team = job?.team ?? "";
          h.milli += r.gpu_milli || 1000;
          holders.set(key, h);
        }
      }
      const held = (node: string, index: number) => {
        const h = holders.get(`${node}/${index}`);
        return { job: h?.job ?? "", team: h?.team ?? "", gpuMilliUsed: h?.milli ?? 0 };
      };
      if (d.controller.nodes.fromInventory) {
        // The engine's nodes (Slurm's GRES): a type per GPU, no device details (those are the node's, not ours to read).
        const gpus = d.controller.nodes.capacity().flatMap((n) => n.gpus.map((g) => ({ node: n.name, index: g.index, uuid: "", name: g.type, memoryMb: 0n, simulated: false, ...held(n.name, g.index) })));
        return { node: "", gpus };
      }
      return {
        node: d.nodeName,
        gpus: d.gpus.map((g) => ({ node: d.nodeName, index: g.index, uuid: g.uuid, name: g.name, memoryMb: BigInt(g.memoryMb), simulated: g.simulated, ...held(d.nodeName, g.index) })),
      };
    },
  };
}

