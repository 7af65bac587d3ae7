/**
 * Carries the stored intent out (deployments.ts decides; this acts), in one loop that never overlaps itself:
 * - replicas: as many replica jobs per revision as it wants (rows stored before the submission, whose request id
 *   makes a retried submission after a crash a replay), each followed from Queued to Running, its socket asked until
 *   it answers, the model sent when the service holds it, then registered in the mesh as an `inference` endpoint
 *   labelled {model, revision, team}; a replica whose job ended is forgotten and replaced;
 * - traffic: the DestinationRule and VirtualService for `inference` (traffic-policy.ts), routing each deployment's
 *   share only to revisions with a ready replica (a canary not ready yet leaves its share with the others);
 * - rollout and draining: once the newest revision serves, revisions left with no traffic drain; a replica leaves in
 *   order — out of the routes, then (once the policy had time to reach callers) out of the registry, then, after the
 *   drain time for its in-flight requests, its job is cancelled (the model server also finishes what it holds on
 *   SIGTERM), and deleted once it ended;
 * - autoscaling: each ready revision's load (autoscaler.ts) sets how many replicas it wants.
 * The loop runs every second, every 50 ms while a replica is starting (cold starts wait on it), and at once when
 * asked (`kick`). Everything it knows is in the store or rebuilt from it, so a restart resumes where it stopped:
 * registrations are made again, submissions replayed by request id.
 */
import { EventEmitter } from "node:events";
import { join } from "node:path";
import { newUid, nameSuffix, type Clock, type Logger } from "@switchyard/core";
import type { EndUser, UserRole } from "@switchyard/mesh";
import type { DeploymentSpec } from "@switchyard/specs";
import { Autoscaler, type AutoscalerOptions } from "./autoscaler.js";
import type { ModelFiles } from "./model-files.js";
import { WORKLOAD_LABEL, spiffeId } from "@switchyard/mesh";
import type { EndpointRegistration, GrantsPort, IdentityPort, JobsPort, PolicyPort, RegistryPort, ReplicaPort } from "./ports.js";
import { DEPLOYMENT_LABEL, MTLS_SUFFIX, REPLICA_SOCKET, replicaJobManifest } from "./replica-job.js";
import type { DeploymentRow, ReplicaRow, RevisionRow, ServingStore } from "./serving-store.js";
import { trafficPolicies, type RoutedDeployment } from "./traffic-policy.js";

const FINAL = new Set(["Succeeded", "Failed", "Cancelled"]);

export interface ReconcilerOptions {
  store: ServingStore;
  jobs: JobsPort;
  replicas: ReplicaPort;
  registry: RegistryPort;
  policies: PolicyPort;
  grants: GrantsPort;
  /** Certificates for replicas (control's CA). */
  identity: IdentityPort;
  /** The platform's trust domain (the replicas' identities are spiffe://<it>/ns/<team>/sa/model-<deployment>). */
  trustDomain: string;
  files: ModelFiles;
  clock: Clock;
  logger: Logger;
  /** `node` and the model server's entry file. */
  modelServer: readonly string[];
  /** Variables every replica gets besides the spec's (the platform's OTEL_* settings). */
  replicaEnv?: Readonly<Record<string, string>>;
  /** Time for a policy change to reach every caller before a replica leaves the registry (default 1 s). */
  policySettleMs?: number;
  /** Time in-flight requests get after a replica left the registry, before its job is cancelled (default 5 s). */
  drainMs?: number;
  /** Autoscaler windows (spec-independent parts). */
  scaling?: Partial<Pick<AutoscalerOptions, "stableWindowMs" | "panicWindowMs" | "scaleDownDelayMs" | "scaleToZeroGraceMs">>;
  intervalMs?: number;
}

interface Live {
  registration?: EndpointRegistration;
  /** The model was sent (or the replica reads its own). */
  loaded: boolean;
  /** In-flight load of the replica's last reading. */
  load?: { busyMsTotal: number; completed: number; inFlight: number };
  failures: number;
  /** Its certificate: where it serves mutual TLS, as whom, when to renew. */
  certified?: { address: string; id: string; renewAtMs: number };
  /** Its job's phase and message when last read (why it waits, why it ended). */
  phase?: string;
  message?: string;
}

export class Reconciler {
  /** `ready:<deployment uid>` when a replica of it becomes ready. */
  readonly events = new EventEmitter();
  private readonly live = new Map<string, Live>();
  private readonly scalers = new Map<string, Autoscaler>();
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private lastPolicy: string | undefined;
  private readonly settleMs: number;
  private readonly drainMs: number;
  private readonly intervalMs: number;

  constructor(private readonly o: ReconcilerOptions) {
    this.settleMs = o.policySettleMs ?? 1000;
    this.drainMs = o.drainMs ?? 5000;
    this.intervalMs = o.intervalMs ?? 1000;
    this.events.setMaxListeners(0);
  }

  start(): void {
    this.kick();
  }

  /** Runs a pass now (or right after the one running). */
  kick(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.running = this.pass()
      .catch((err: unknown) => this.o.logger.error({ err }, "serving reconcile pass failed"))
      .finally(() => {
        this.running = undefined;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          this.kick();
          return;
        }
        this.timer = setTimeout(() => this.kick(), this.starting ? 50 : this.intervalMs);
      });
  }

  private starting = false;

  /** Ready replicas of a deployment now (from this process's view). */
  readyCount(deploymentUid: string, revision?: number): number {
    return this.readyRows.filter((r) => r.deployment_uid === deploymentUid && (revision === undefined || r.revision === revision)).length;
  }

  inFlight(replicaId: string): number {
    return this.live.get(replicaId)?.load?.inFlight ?? 0;
  }

  /** A replica's job phase and its message as last read (undefined before the first read). */
  jobStatus(replicaId: string): { phase: string; message: string } | undefined {
    const l = this.live.get(replicaId);
    return l?.phase === undefined ? undefined : { phase: l.phase, message: l.message ?? "" };
  }

  private readyRows: ReplicaRow[] = [];

  /** Waits until a replica of `deploymentUid` is ready, or `ms` passed; true when one is. */
  async waitReady(deploymentUid: string, ms: number): Promise<boolean> {
    if (this.readyCount(deploymentUid) > 0) return true;
    if (ms <= 0) return false;
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(t);
        this.events.off(`ready:${deploymentUid}`, onReady);
        resolve(ok);
      };
      const onReady = () => done(true);
      const t = setTimeout(() => done(this.readyCount(deploymentUid) > 0), ms);
      this.events.on(`ready:${deploymentUid}`, onReady);
    });
  }

  /** One pass now, after any pass in progress (tests drive the loop with this instead of its timer). */
  async reconcileOnce(): Promise<void> {
    await this.running;
    await this.pass();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
    // Replicas keep running (they are jobs); their registrations lapse with this process's leases, and the next
    // start registers them again.
    await Promise.all([...this.live.values()].map((l) => l.registration?.remove().catch(() => undefined)));
  }

  private async pass(): Promise<void> {
    const { store, clock } = this.o;
    const deployments = new Map((await store.deployments()).map((d) => [d.uid, d]));
    const revisions = await store.allRevisions();
    let replicas = await store.replicas();
    const now = clock.now();
    // 1. Follow every replica.
    for (const r of replicas) await this.follow(r, deployments.get(r.deployment_uid), revisions.find((x) => x.deployment_uid === r.deployment_uid && x.number === r.revision), now);
    replicas = await store.replicas();
    this.readyRows = replicas.filter((r) => r.state === "Ready");
    // 2. Autoscale revisions that serve.
    for (const rev of revisions) await this.autoscale(rev, deployments.get(rev.deployment_uid), now);
    // 3. Rollout: once the newest revision with traffic serves, active revisions without traffic drain.
    for (const d of deployments.values()) {
      const revs = revisions.filter((r) => r.deployment_uid === d.uid && r.state === "Active");
      const newest = revs.at(-1);
      if (!newest || newest.traffic === 0 || this.readyCount(d.uid, newest.number) === 0) continue;
      for (const r of revs) if (r !== newest && r.traffic === 0) await store.updateRevision(r.deployment_uid, r.number, { state: "Draining", draining_since: now });
    }
    // 4. Replicas wanted vs running, per revision.
    const current = await store.allRevisions();
    let starting = false;
    for (const rev of current) {
      const d = deployments.get(rev.deployment_uid);
      if (!d) continue;
      const mine = replicas.filter((r) => r.deployment_uid === rev.deployment_uid && r.revision === rev.number);
      const running = mine.filter((r) => r.stop_requested_at === null);
      const want = rev.state === "Active" && !d.deleting ? rev.desired : 0;
      for (let i = running.length; i < want; i++) await this.addReplica(d, rev, now);
      if (running.length > want) {
        // Not-ready ones first, then the newest.
        const order = [...running].sort((a, b) => (a.state === "Ready" ? 1 : 0) - (b.state === "Ready" ? 1 : 0) || b.created_at - a.created_at);
        for (const r of order.slice(0, running.length - want)) await store.updateReplica(r.id, { stop_requested_at: now });
      }
      if (rev.state === "Draining" && mine.length === 0) {
        await store.updateRevision(rev.deployment_uid, rev.number, { state: "Retired", traffic: 0, desired: 0 });
        if (rev.model_file && !rev.model_uri.startsWith("models://")) this.o.files.remove(rev.model_file);
      }
      if (mine.some((r) => r.state === "Pending" && r.stop_requested_at === null) || running.length < want) starting = true;
    }
    this.starting = starting;
    // 5. Deleted deployments with nothing left.
    for (const d of deployments.values()) {
      if (!d.deleting) continue;
      if ((await store.replicas(d.uid)).length > 0) continue;
      // Its grants first: a crash between the two leaves a deleting deployment, not a grant with nothing to cover.
      await this.o.grants.revoke(d.team, DEPLOYMENT_LABEL, d.name);
      await store.removeDeployment(d.uid);
      this.o.files.removeDeployment(d.uid);
      this.o.logger.info({ deployment: d.name }, "deployment deleted");
    }
    // 6. Traffic policies.
    await this.writePolicies();
  }

  private async addReplica(d: DeploymentRow, rev: RevisionRow, now: number): Promise<void> {
    const row: ReplicaRow = { id: newUid(), deployment_uid: d.uid, revision: rev.number, team: d.team, job_name: `${d.name}-r${rev.number}-${nameSuffix()}`, job_uid: "", state: "Pending", socket: "", created_at: now, stop_requested_at: null };
    await this.o.store.insertReplica(row);
    await this.submit(row, d, rev);
  }

  private async submit(row: ReplicaRow, d: DeploymentRow, rev: RevisionRow): Promise<void> {
    const spec = JSON.parse(rev.spec) as DeploymentSpec;
    const modelPath = spec.model.format === "onnx" && !rev.model_file && spec.model.storageUri?.startsWith("file://") ? decodeURIComponent(spec.model.storageUri.slice(7)) : undefined;
    const manifest = replicaJobManifest({ jobName: row.job_name, deployment: d.name, revision: rev.number, spec, modelServer: this.o.modelServer, modelPath, env: this.o.replicaEnv ?? {} });
    try {
      const job = await this.o.jobs.submit(manifest, row.id, ownerOf(d));
      await this.o.store.updateReplica(row.id, { job_uid: job.uid });
      row.job_uid = job.uid;
      this.o.logger.info({ deployment: d.name, revision: rev.number, job: job.name }, "replica submitted");
    } catch (err) {
      this.o.logger.warn({ err, deployment: d.name, revision: rev.number }, "replica submission failed; the next pass tries again");
      // Shown in the deployment's state (e.g. the owner's grant is gone: their replicas are not submitted any more).
      let live = this.live.get(row.id);
      if (!live) this.live.set(row.id, (live = { loaded: false, failures: 0 }));
      live.phase = "Submitting";
      live.message = `its submission was refused: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  /** One replica: its job's phase, its socket, its registration, its stop. */
  private async follow(r: ReplicaRow, d: DeploymentRow | undefined, rev: RevisionRow | undefined, now: number): Promise<void> {
    const { store, jobs, logger } = this.o;
    let live = this.live.get(r.id);
    if (!live) this.live.set(r.id, (live = { loaded: false, failures: 0 }));
    if (!d || !rev) {
      await this.forget(r);
      return;
    }
    if (!r.job_uid) {
      // Stored, but its submission did not return (a crash, a refusal): submit again, a replay if it had landed.
      if (r.stop_requested_at === null) await this.submit(r, d, rev);
      else await this.forget(r);
      return;
    }
    if (r.stop_requested_at !== null) {
      await this.stopping(r, live, now);
      return;
    }
    const job = await jobs.get(r.job_uid, r.team).catch((err: unknown) => {
      logger.warn({ err, job: r.job_name }, "could not read a replica's job");
      return null;
    });
    if (job === null) return;
    live.phase = job?.phase;
    live.message = job?.message;
    if (job === undefined || FINAL.has(job.phase)) {
      logger.warn({ deployment: d.name, revision: r.revision, job: r.job_name, phase: job?.phase ?? "gone", message: job?.message ?? "" }, "replica ended; it is replaced");
      await live.registration?.remove().catch(() => undefined);
      await this.o.jobs.remove(r.job_uid, r.team).catch(() => undefined);
      await this.forget(r);
      return;
    }
    if (job.phase !== "Running") return;
    const socket = r.socket || join(job.jobDir, REPLICA_SOCKET);
    if (!r.socket) await store.updateReplica(r.id, { socket });
    let load;
    try {
      load = await this.o.replicas.load(socket);
    } catch {
      // Not listening yet (starting), or gone: the job's phase says which on a later pass.
      if (r.state === "Ready" && ++live.failures >= 3) {
        logger.warn({ job: r.job_name }, "a ready replica stopped answering: out of the registry until it answers again");
        await live.registration?.remove().catch(() => undefined);
        live.registration = undefined;
        await store.updateReplica(r.id, { state: "Pending" });
      }
      return;
    }
    live.failures = 0;
    live.load = load;
    if (!load.ready && rev.model_file && !live.loaded) {
      try {
        await this.o.replicas.sendModel(socket, this.o.files.read(rev.model_file), this.o.files.size(rev.model_file), rev.model_checksum);
        live.loaded = true;
        load = await this.o.replicas.load(socket);
      } catch (err) {
        logger.warn({ err, job: r.job_name }, "sending the model to a replica failed; the replica is replaced");
        await this.o.jobs.cancel(r.job_uid, r.team).catch(() => undefined);
        return;
      }
    }
    if (!load.ready) return;
    // The replica's workload identity (its team's): certified before it is registered, renewed at half-life.
    if (live.certified === undefined || now >= live.certified.renewAtMs) {
      try {
        const id = replicaIdentity(this.o.trustDomain, d.team, d.name);
        const c = await this.o.replicas.certify(socket, id, (csr) => this.o.identity.issue(id, csr));
        // Where the gateway goes is serving's to say (beside the socket it knows), never the replica's answer.
        live.certified = { address: `unix:${socket}${MTLS_SUFFIX}`, id, renewAtMs: now + (c.notAfterMs - now) / 2 };
      } catch (err) {
        logger.warn({ err, job: r.job_name }, "certifying a replica failed; trying again");
        if (live.certified === undefined) return;
      }
    }
    if (!live.registration) {
      const { address, id } = live.certified!;
      live.registration = await this.o.registry.register(r.id, address, { model: d.name, revision: String(r.revision), team: d.team, metrics: `unix:${socket}.metrics`, [WORKLOAD_LABEL]: id });
      if (r.state !== "Ready") await store.updateReplica(r.id, { state: "Ready" });
      logger.info({ deployment: d.name, revision: r.revision, job: r.job_name }, "replica ready");
      r.state = "Ready";
      this.readyRows = [...this.readyRows.filter((x) => x.id !== r.id), r];
      // The route to it follows the registration: write the policies before anyone waiting is told.
      await this.writePolicies();
      this.events.emit(`ready:${d.uid}`);
    }
  }

  /** A replica asked to stop: out of the routes, then the registry, then its job. */
  private async stopping(r: ReplicaRow, live: Live, now: number): Promise<void> {
    const since = r.stop_requested_at ?? now;
    if (live.registration && now - since >= this.settleMs) {
      await live.registration.remove().catch(() => undefined);
      live.registration = undefined;
      if (r.state !== "Stopping") await this.o.store.updateReplica(r.id, { state: "Stopping" });
    }
    if (now - since < this.settleMs + this.drainMs) return;
    const job = await this.o.jobs.get(r.job_uid, r.team).catch(() => null);
    if (job === null) return;
    if (job === undefined || FINAL.has(job.phase)) {
      await this.o.jobs.remove(r.job_uid, r.team).catch(() => undefined);
      await this.forget(r);
      return;
    }
    await this.o.jobs.cancel(r.job_uid, r.team).catch((err: unknown) => this.o.logger.warn({ err, job: r.job_name }, "cancelling a replica failed; trying again"));
  }

  private async forget(r: ReplicaRow): Promise<void> {
    const live = this.live.get(r.id);
    await live?.registration?.remove().catch(() => undefined);
    if (r.socket) this.o.replicas.forget(r.socket);
    this.live.delete(r.id);
    await this.o.store.removeReplica(r.id);
  }

  private async autoscale(rev: RevisionRow, d: DeploymentRow | undefined, now: number): Promise<void> {
    if (!d || rev.state !== "Active" || d.deleting) return;
    const spec = JSON.parse(rev.spec) as DeploymentSpec;
    const key = `${rev.deployment_uid}/${rev.number}`;
    const options: AutoscalerOptions = {
      metric: spec.scaleMetric,
      target: spec.scaleTarget,
      minReplicas: spec.minReplicas,
      maxReplicas: spec.maxReplicas,
      stableWindowMs: this.o.scaling?.stableWindowMs ?? 60_000,
      panicWindowMs: this.o.scaling?.panicWindowMs ?? 6_000,
      scaleDownDelayMs: this.o.scaling?.scaleDownDelayMs ?? 30_000,
      scaleToZeroGraceMs: this.o.scaling?.scaleToZeroGraceMs ?? 60_000,
    };
    let scaler = this.scalers.get(key);
    if (!scaler) this.scalers.set(key, (scaler = new Autoscaler(options)));
    scaler.options = options;
    const ready = this.readyRows.filter((r) => r.deployment_uid === rev.deployment_uid && r.revision === rev.number);
    if (ready.length === 0) return;
    let busy = 0;
    let completed = 0;
    for (const r of ready) {
      const l = this.live.get(r.id)?.load;
      busy += l?.busyMsTotal ?? 0;
      completed += l?.completed ?? 0;
    }
    scaler.observe(now, busy, completed);
    let lastActive = d.last_active_at;
    if (scaler.sawRequests()) {
      lastActive = now;
      await this.o.store.touch(d.uid, now);
    }
    const want = scaler.desired(now, rev.desired, lastActive);
    if (want !== rev.desired) {
      this.o.logger.info({ deployment: d.name, revision: rev.number, from: rev.desired, to: want }, "autoscaler");
      await this.o.store.updateRevision(rev.deployment_uid, rev.number, { desired: want });
    }
  }

  /** The traffic policies for every deployment, written when they change. */
  private async writePolicies(): Promise<void> {
    const { store } = this.o;
    const routed: RoutedDeployment[] = [];
    // Two queries for the whole set (live revisions, in deployment and number order), not one per deployment.
    const live = await store.allRevisions();
    for (const d of await store.deployments()) {
      const revs = live.filter((r) => r.deployment_uid === d.uid);
      const withReady = revs.filter((r) => r.traffic > 0 && this.readyCount(d.uid, r.number) > 0);
      const sum = withReady.reduce((a, r) => a + r.traffic, 0);
      // Shares go to revisions that can answer; with none ready, as intended (the gateway holds requests meanwhile).
      const shares = new Map<number, number>();
      if (sum > 0) {
        let left = 100;
        withReady.forEach((r, i) => {
          const share = i === withReady.length - 1 ? left : Math.round((r.traffic * 100) / sum);
          shares.set(r.number, share);
          left -= share;
        });
      } else {
        // None of the revisions meant to serve is ready (a rollout starting): the newest ready one keeps serving;
        // with none ready at all, the intended shares (the gateway holds requests until a replica answers).
        const fallback = revs.filter((r) => r.state === "Active" && this.readyCount(d.uid, r.number) > 0).at(-1);
        for (const r of revs) shares.set(r.number, fallback ? (r === fallback ? 100 : 0) : r.traffic);
      }
      routed.push({ name: d.name, revisions: revs.map((r) => ({ number: r.number, traffic: d.deleting ? 0 : (shares.get(r.number) ?? 0), named: this.readyCount(d.uid, r.number) > 0 })) });
    }
    const docs = trafficPolicies(routed);
    const text = docs ? docs.destinationRule + docs.virtualService : "";
    if (text === this.lastPolicy) return;
    await this.o.policies.write(docs);
    this.lastPolicy = text;
  }
}

function ownerOf(d: DeploymentRow): EndUser {
  return { user: d.owner, teams: JSON.parse(d.owner_teams) as string[], role: d.owner_role as UserRole };
}

/** A replica's workload identity: its team's, named after its deployment. */
export function replicaIdentity(trustDomain: string, team: string, deployment: string): string {
  return spiffeId(trustDomain, team, `model-${deployment}`);
}
