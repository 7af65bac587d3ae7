/**
 * What the Serving API does to the stored state — create and change deployments (a changed model or serving
 * configuration is a new revision; a change of scale only is not), promote and roll back canaries, delete, activate,
 * register models. It decides and stores; the reconciler (reconciler.ts) carries the stored intent out: replicas,
 * registration, traffic policies, draining. So every operation here is one transaction and returns at once.
 */
import { isDeepStrictEqual } from "node:util";
import { Code, SwitchyardError, newUid, type Clock } from "@switchyard/core";
import type { CallContext, EndUser } from "@switchyard/mesh";
import { deploymentSpecToManifest, parseDeploymentManifest, type DeploymentSpec, type ParsedDeploymentManifest } from "@switchyard/specs";
import { inScope, notFound, readScope, requireWriter, userOf, type Caller } from "./authz.js";
import type { ModelFiles, StoredFile } from "./model-files.js";
import type { GrantsPort, JobsPort } from "./ports.js";
import { DEPLOYMENT_LABEL } from "./replica-job.js";
import type { DeploymentRow, ModelRow, ServingStore } from "./serving-store.js";

export type ApplyOutcome = "created" | "new-revision" | "scaled" | "unchanged";

/** Fields a change of which keeps the revision (the autoscaler's bounds and target). */
const SCALE_FIELDS = ["minReplicas", "maxReplicas", "scaleMetric", "scaleTarget"] as const;

export interface DeploymentsDeps {
  store: ServingStore;
  files: ModelFiles;
  jobs: JobsPort;
  grants: GrantsPort;
  clock: Clock;
  /** Something changed: the reconciler should look now. */
  kick: () => void;
}

export interface ApplyInput {
  manifest: string;
  dryRun: boolean;
  canaryTrafficPercent: number | undefined;
}

/** A model source as the spec names it. */
type ModelSource = { kind: "file"; path: string } | { kind: "job"; job: string; path: string } | { kind: "registered"; name: string; version: number | undefined } | { kind: "none" };

export function parseModelUri(uri: string | undefined): ModelSource {
  if (!uri) return { kind: "none" };
  if (uri.startsWith("file://")) return { kind: "file", path: decodeURIComponent(uri.slice("file://".length)) };
  const job = /^job:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (job) return { kind: "job", job: job[1]!, path: job[2]! };
  const reg = /^models:\/\/([^@/]+)(?:@(\d+))?$/.exec(uri);
  if (reg) return { kind: "registered", name: reg[1]!, version: reg[2] === undefined ? undefined : Number(reg[2]) };
  throw new SwitchyardError(Code.InvalidArgument, `storageUri "${uri}" is not one of file:///abs/model.onnx, job://JOB/path, models://NAME[@VERSION]`, { details: [{ field: "storageUri", message: "unknown form", expected: "file:///…, job://JOB/path or models://NAME[@VERSION]", got: uri }] });
}

export class Deployments {
  constructor(private readonly d: DeploymentsDeps) {}

  parse(input: ApplyInput, caller: Caller): ParsedDeploymentManifest {
    const defaultTeam = caller.kind === "user" ? caller.teams[0] : undefined;
    return parseDeploymentManifest(input.manifest, { ...(defaultTeam ? { defaultTeam } : {}) });
  }

  /** `call`: the user's call being handled (what is read or granted for the user is asked within it). */
  async apply(input: ApplyInput, caller: Caller, call: CallContext): Promise<{ deployment: DeploymentRow; outcome: ApplyOutcome; warnings: string[] }> {
    const parsed = this.parse(input, caller);
    const spec: DeploymentSpec = { ...parsed.spec };
    if (input.canaryTrafficPercent !== undefined) {
      if (!Number.isInteger(input.canaryTrafficPercent) || input.canaryTrafficPercent < 0 || input.canaryTrafficPercent > 100) {
        throw new SwitchyardError(Code.InvalidArgument, `canary_traffic_percent ${input.canaryTrafficPercent} is not an integer from 0 to 100`, { details: [{ field: "canary_traffic_percent", message: "out of range", expected: "0..100", got: String(input.canaryTrafficPercent) }] });
      }
      spec.canaryTrafficPercent = input.canaryTrafficPercent;
    }
    requireWriter(caller, spec.team, "deploy models");
    const owner = userOf(caller, "deploy a model");
    const source = parseModelUri(spec.model.storageUri);
    if (spec.model.format === "custom" && source.kind !== "none" && source.kind !== "file") {
      throw new SwitchyardError(Code.InvalidArgument, `a custom predictor reads its model itself: storageUri must be file:///… (passed to it as STORAGE_URI), not ${spec.model.storageUri}`, { details: [{ field: "storageUri", message: "custom predictors take file:// only", got: spec.model.storageUri ?? "" }] });
    }
    if (source.kind === "file" && !source.path.startsWith("/")) {
      throw new SwitchyardError(Code.InvalidArgument, `storageUri ${spec.model.storageUri} is not an absolute path: write file:///absolute/path/model.onnx`, { details: [{ field: "storageUri", message: "not absolute", got: spec.model.storageUri ?? "" }] });
    }
    const existing = await this.d.store.deployment(spec.name);
    if (existing && !inScope(readScope(caller, ""), existing.team)) {
      throw new SwitchyardError(Code.AlreadyExists, `a deployment named "${spec.name}" already exists: model names are platform-wide (they are the /v2/models/{name} path); choose another metadata.name`);
    }
    if (existing && existing.team !== spec.team) {
      throw new SwitchyardError(Code.InvalidArgument, `deployment "${spec.name}" belongs to team "${existing.team}", not "${spec.team}": a deployment cannot move between teams; delete it first`, { details: [{ field: "metadata.team", message: "differs from the deployment's team", expected: existing.team, got: spec.team }] });
    }
    if (existing?.deleting) throw new SwitchyardError(Code.FailedPrecondition, `deployment "${spec.name}" is being deleted: wait until it is gone, then create it again`);
    const revisions = existing ? await this.d.store.revisions(existing.uid) : [];
    const latest = revisions.filter((r) => r.state !== "Retired").at(-1);
    const latestSpec = latest ? (JSON.parse(latest.spec) as DeploymentSpec) : undefined;
    let outcome: ApplyOutcome = existing ? "new-revision" : "created";
    if (latest && latestSpec) {
      if (isDeepStrictEqual(strip(latestSpec), strip(spec))) outcome = sameScale(latestSpec, spec) ? "unchanged" : "scaled";
    }
    // A registered model must exist now, whatever else happens.
    const registered = source.kind === "registered" ? await this.registeredModel(spec.team, source.name, source.version) : undefined;
    if (input.dryRun || outcome === "unchanged") {
      const row = existing ?? this.newRow(spec, owner, parsed.source);
      return { deployment: row, outcome, warnings: parsed.warnings };
    }
    // The owner's grant, recorded before anything it covers exists (and again on each change, which brings a
    // deployment made before grants up to date): the replicas are submitted as the owner under it, and it goes with
    // the owner, their membership of the team, or the deployment. A change by another member of the team makes them
    // the owner: what runs is then what they asked for, with their rights — never another user's code or files run
    // as the user who created the deployment.
    await this.d.grants.record({ user: owner.user, teams: owner.teams, role: owner.role, delegate: "serving", team: spec.team, label: { key: DEPLOYMENT_LABEL, value: spec.name } }, call);
    if (existing && existing.owner !== owner.user) {
      await this.d.store.setOwner(existing.uid, owner);
      await this.d.grants.revoke(spec.team, DEPLOYMENT_LABEL, spec.name, existing.owner);
    }
    if (outcome === "scaled") {
      const now = this.d.clock.now();
      await this.d.store.transaction(async (tx) => {
        const desired = clamp(latest!.desired, spec.minReplicas, spec.maxReplicas);
        await tx.updateRevisionSpec(latest!.deployment_uid, latest!.number, JSON.stringify(spec), deploymentSpecToManifest(spec), desired);
        await tx.touch(latest!.deployment_uid, now);
      });
      this.d.kick();
      return { deployment: (await this.d.store.deployment(spec.name))!, outcome, warnings: parsed.warnings };
    }
    const row = existing ?? this.newRow(spec, owner, parsed.source);
    const number = (revisions.at(-1)?.number ?? 0) + 1;
    // The model, copied into this service's store before anything is recorded (job artifacts are read as the caller).
    let model: StoredFile | undefined;
    if (source.kind === "job") model = await this.d.files.write(this.d.files.revisionPath(row.uid, number), this.d.jobs.readArtifact(source.job, spec.team, source.path, call), `job://${source.job}/${source.path}`);
    else if (registered) model = { file: registered.file, checksum: registered.checksum, sizeBytes: registered.size_bytes };
    const now = this.d.clock.now();
    const canary = spec.canaryTrafficPercent;
    const serving = revisions.filter((r) => r.state === "Active" && r.traffic > 0);
    // The stable revision: the one with most of the traffic (a canary in progress is replaced by the new one).
    const previous = serving.length ? serving.reduce((a, b) => (b.traffic > a.traffic ? b : a)) : undefined;
    await this.d.store.transaction(async (tx) => {
      if (!existing) await tx.insertDeployment(row);
      // With a canary the revision serving most of the traffic keeps the rest; other active revisions drain.
      for (const r of revisions.filter((x) => x.state === "Active")) {
        if (canary !== undefined && canary < 100 && r === previous) await tx.updateRevision(r.deployment_uid, r.number, { traffic: 100 - canary });
        else if (canary !== undefined && canary < 100) await tx.updateRevision(r.deployment_uid, r.number, { state: "Draining", traffic: 0, draining_since: now });
        else await tx.updateRevision(r.deployment_uid, r.number, { traffic: 0 });
      }
      await tx.insertRevision({
        deployment_uid: row.uid,
        number,
        spec: JSON.stringify(spec),
        manifest: deploymentSpecToManifest(spec),
        model_uri: registered ? `models://${registered.name}@${registered.version}` : (spec.model.storageUri ?? ""),
        model_file: model?.file ?? "",
        model_checksum: model?.checksum ?? "",
        state: "Active",
        traffic: canary !== undefined && canary < 100 && previous ? canary : 100,
        desired: Math.max(spec.minReplicas, 1),
        created_at: now,
        draining_since: null,
      });
      await tx.touch(row.uid, now);
    });
    this.d.kick();
    return { deployment: (await this.d.store.deployment(spec.name))!, outcome, warnings: parsed.warnings };
  }

  private newRow(spec: DeploymentSpec, owner: EndUser, source: string): DeploymentRow {
    const now = this.d.clock.now();
    return { uid: newUid(), name: spec.name, team: spec.team, owner: owner.user, owner_teams: JSON.stringify(owner.teams), owner_role: owner.role, source, created_at: now, deleting: 0, last_active_at: now };
  }

  /** The deployment `name` if the caller may see it; NOT_FOUND otherwise (the same for another team's). */
  async visible(name: string, caller: Caller): Promise<DeploymentRow> {
    const scope = readScope(caller, "");
    const row = await this.d.store.deployment(name);
    if (!row || !inScope(scope, row.team)) throw notFound(name, scope);
    return row;
  }

  /** The canary takes all traffic; the others drain once it serves. */
  async promote(name: string, caller: Caller): Promise<DeploymentRow> {
    const row = await this.visible(name, caller);
    requireWriter(caller, row.team, "promote deployments");
    const revisions = (await this.d.store.revisions(row.uid)).filter((r) => r.state === "Active");
    const latest = revisions.at(-1);
    if (!latest || revisions.length < 2) throw new SwitchyardError(Code.FailedPrecondition, `deployment "${name}" has no canary to promote: it runs one revision (r${latest?.number ?? 0}) with all traffic`);
    await this.d.store.transaction(async (tx) => {
      for (const r of revisions) await tx.updateRevision(r.deployment_uid, r.number, { traffic: r === latest ? 100 : 0 });
    });
    this.d.kick();
    return row;
  }

  /** The canary is abandoned: all traffic back to the revision before it, the canary drains. */
  async rollback(name: string, caller: Caller): Promise<DeploymentRow> {
    const row = await this.visible(name, caller);
    requireWriter(caller, row.team, "roll back deployments");
    const revisions = (await this.d.store.revisions(row.uid)).filter((r) => r.state === "Active");
    const latest = revisions.at(-1);
    const previous = revisions.at(-2);
    if (!latest || !previous) throw new SwitchyardError(Code.FailedPrecondition, `deployment "${name}" has no earlier revision running to roll back to: apply the earlier model again to make a new revision of it`);
    const now = this.d.clock.now();
    await this.d.store.transaction(async (tx) => {
      await tx.updateRevision(previous.deployment_uid, previous.number, { traffic: 100, desired: Math.max(previous.desired, 1) });
      await tx.updateRevision(latest.deployment_uid, latest.number, { state: "Draining", traffic: 0, draining_since: now });
    });
    this.d.kick();
    return row;
  }

  async delete(name: string, caller: Caller): Promise<DeploymentRow> {
    const row = await this.visible(name, caller);
    requireWriter(caller, row.team, "delete deployments");
    const now = this.d.clock.now();
    await this.d.store.transaction(async (tx) => {
      await tx.setDeleting(row.uid);
      for (const r of await tx.revisions(row.uid)) if (r.state !== "Retired") await tx.updateRevision(r.deployment_uid, r.number, { state: "Draining", traffic: 0, draining_since: r.draining_since ?? now });
    });
    this.d.kick();
    return { ...row, deleting: 1 };
  }

  /** At least one replica wanted for each revision that takes traffic (scale from zero); records the activity. */
  async activate(name: string, caller: Caller): Promise<DeploymentRow> {
    const row = await this.visible(name, caller);
    if (row.deleting) throw new SwitchyardError(Code.FailedPrecondition, `deployment "${name}" is being deleted`);
    const now = this.d.clock.now();
    await this.d.store.transaction(async (tx) => {
      for (const r of await tx.revisions(row.uid)) if (r.state === "Active" && r.traffic > 0 && r.desired < 1) await tx.updateRevision(r.deployment_uid, r.number, { desired: 1 });
      await tx.touch(row.uid, now);
    });
    this.d.kick();
    return row;
  }

  async registeredModel(team: string, name: string, version: number | undefined): Promise<ModelRow> {
    const m = await this.d.store.model(team, name, version);
    if (!m) throw new SwitchyardError(Code.NotFound, `model ${name}${version === undefined ? "" : `@${version}`} is not registered in team "${team}": switchyard models lists them; register one with switchyard models register ${name} --from job://JOB/model.onnx`, { details: [{ field: "storageUri", message: "no such registered model", got: `models://${name}${version === undefined ? "" : `@${version}`}` }] });
    return m;
  }

  /** Deletes a registered version and its file; refused while a revision that is not retired serves it. */
  async deleteModel(req: { name: string; version: number; team: string }, caller: Caller): Promise<ModelRow> {
    const team = req.team || (caller.kind === "user" ? caller.teams[0] ?? "" : "");
    const scope = readScope(caller, req.team);
    const m = inScope(scope, team) ? await this.d.store.model(team, req.name, req.version) : undefined;
    if (!m || m.version !== req.version) throw new SwitchyardError(Code.NotFound, `model ${req.name}@${req.version} is not registered in team "${team}": switchyard models ${req.name} lists its versions`);
    requireWriter(caller, team, "delete models");
    const uri = `models://${m.name}@${m.version}`;
    const users: string[] = [];
    for (const d of await this.d.store.deployments()) {
      if (d.team !== team) continue;
      for (const r of await this.d.store.revisions(d.uid)) if (r.state !== "Retired" && r.model_uri === uri) users.push(`${d.name} r${r.number}`);
    }
    if (users.length) throw new SwitchyardError(Code.FailedPrecondition, `${uri} is served by ${users.join(", ")}: apply another model to ${users.length === 1 ? "that deployment" : "those deployments"} (or delete ${users.length === 1 ? "it" : "them"}) first`);
    await this.d.store.removeModel(team, m.name, m.version);
    this.d.files.remove(m.file);
    return m;
  }

  async registerModel(req: { name: string; from: string; team: string; description: string }, caller: Caller, call: CallContext): Promise<ModelRow> {
    const user = userOf(caller, "register a model");
    const team = req.team || user.teams[0] || "";
    // The team names a directory of the model store: a team name (a DNS label) or nothing.
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(team)) throw new SwitchyardError(Code.InvalidArgument, `team "${team.slice(0, 80)}" is not a team name (a DNS label)`, { details: [{ field: "team", message: "not a DNS label", got: team.slice(0, 80) }] });
    requireWriter(caller, team, "register models");
    if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(req.name)) {
      throw new SwitchyardError(Code.InvalidArgument, `model name "${req.name.slice(0, 80)}" is not a DNS label (lowercase letters, digits and '-', at most 63)`, { details: [{ field: "name", message: "not a DNS label", got: req.name.slice(0, 80) }] });
    }
    const src = parseModelUri(req.from);
    if (src.kind !== "job") throw new SwitchyardError(Code.InvalidArgument, `--from must name a job's artifact, job://JOB/path/in/its/output (got ${req.from || "nothing"})`, { details: [{ field: "from", message: "not job://JOB/path", got: req.from }] });
    if (req.description.length > 2000) throw new SwitchyardError(Code.InvalidArgument, "description is longer than 2000 characters", { details: [{ field: "description", message: "too long", expected: "at most 2000 characters" }] });
    const { uid, metrics } = await this.d.jobs.finalMetrics(src.job, team, call);
    const version = await this.d.store.nextModelVersion(team, req.name);
    const path = this.d.files.registeredPath(team, req.name, version);
    const stored = await this.d.files.write(path, this.d.jobs.readArtifact(src.job, team, src.path, call), req.from);
    const row: ModelRow = { team, name: req.name, version, source: req.from, source_job_uid: uid, checksum: stored.checksum, size_bytes: stored.sizeBytes, metrics: JSON.stringify(metrics), file: stored.file, created_at: this.d.clock.now(), registered_by: user.user, description: req.description };
    try {
      await this.d.store.insertModel(row);
    } catch (err) {
      this.d.files.remove(path);
      throw err;
    }
    return row;
  }
}

const strip = (s: DeploymentSpec) => {
  const c: Record<string, unknown> = { ...s };
  for (const f of SCALE_FIELDS) delete c[f];
  delete c.canaryTrafficPercent;
  return c;
};
const sameScale = (a: DeploymentSpec, b: DeploymentSpec) => SCALE_FIELDS.every((f) => a[f] === b[f]);
const clamp = (n: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, n));
