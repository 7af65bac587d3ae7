/**
 * What the Experiments API does to the stored state: create (parsed, checked against the algorithms, the owner's
 * grant recorded, stored), cancel, delete. It decides and stores; the controller (controller.ts) carries the stored
 * intent out. Reads are service.ts's.
 */
import { randomInt } from "node:crypto";
import { newUid, type Clock } from "@switchyard/core";
import type { CallContext } from "@switchyard/mesh";
import { experimentSpecToManifest, parseExperimentManifest, type AlgorithmCheck, type ParsedExperimentManifest } from "@switchyard/specs";
import { checkAlgorithm, checkEarlyStopping } from "@switchyard/tuning";
import { notFound, readScope, requireWriter, userOf, type Caller } from "./authz.js";
import { EXPERIMENT_LABEL } from "./controller.js";
import { nameTaken, type ExperimentRow, type ExperimentStore } from "./experiment-store.js";
import type { GrantsPort } from "./ports.js";

export interface ExperimentsDeps {
  store: ExperimentStore;
  grants: GrantsPort;
  clock: Clock;
  /** Something changed: the controller should look now. */
  kick: () => void;
}

export interface CreateInput {
  manifest: string;
  fileName: string;
  baseDir: string;
  dryRun: boolean;
}

const SOURCES = { katib: "kubeflow.org/v1beta1/Experiment", native: "switchyard/v1/Experiment" } as const;

/** The tuning package's checks, as the manifest parser's hooks (problems reported at the algorithm's line). */
const algorithmCheck: AlgorithmCheck = (name, settings, { parameters }) => checkAlgorithm(name, settings, { parameters, direction: "minimize" });
const stoppingCheck: AlgorithmCheck = (name, settings) => checkEarlyStopping(name, settings);

export class Experiments {
  constructor(private readonly d: ExperimentsDeps) {}

  parse(input: CreateInput, caller: Caller): ParsedExperimentManifest {
    const defaultTeam = caller.kind === "user" ? caller.teams[0] : undefined;
    return parseExperimentManifest(input.manifest, { ...(input.fileName ? { file: input.fileName } : {}), ...(defaultTeam ? { defaultTeam } : {}), checkAlgorithm: algorithmCheck, checkEarlyStopping: stoppingCheck });
  }

  /** `call`: the user's call being handled (the grant is recorded within it, with the gateway's proof of the user). */
  async create(input: CreateInput, caller: Caller, call: CallContext): Promise<{ experiment: ExperimentRow; warnings: string[] }> {
    const parsed = this.parse(input, caller);
    const spec = parsed.spec;
    requireWriter(caller, spec.team, "create experiments");
    const owner = userOf(caller);
    const now = this.d.clock.now();
    const row: ExperimentRow = {
      uid: newUid(),
      name: spec.name,
      team: spec.team,
      owner: owner.user,
      owner_teams: JSON.stringify(owner.teams),
      owner_role: owner.role,
      source: SOURCES[parsed.source],
      spec: JSON.stringify(spec),
      manifest: experimentSpecToManifest(spec),
      base_dir: input.baseDir,
      seed: randomInt(0, 2 ** 31),
      condition: "Created",
      reason: "ExperimentCreated",
      message: "the experiment is created",
      created_at: now,
      completed_at: null,
      deleting: 0,
      settled: 0,
    };
    if (input.dryRun) return { experiment: row, warnings: parsed.warnings };
    const existing = await this.d.store.experiment(spec.team, spec.name);
    // Refused before the grant is recorded (the insert below refuses a name taken meanwhile).
    if (existing) throw nameTaken(spec.team, spec.name);
    // The owner's grant first: the trials are submitted as the owner under it, hours after this call if need be.
    await this.d.grants.record({ user: owner.user, teams: owner.teams, role: owner.role, delegate: "experiments", team: spec.team, label: { key: EXPERIMENT_LABEL, value: spec.name } }, call);
    await this.d.store.insertExperiment(row);
    this.d.kick();
    return { experiment: row, warnings: parsed.warnings };
  }

  /** The experiment `name` if the caller may see it; NOT_FOUND otherwise (the same for another team's). */
  async visible(name: string, team: string, caller: Caller): Promise<ExperimentRow> {
    const scope = readScope(caller, team);
    const teams = scope === "all" ? (team ? [team] : undefined) : scope;
    const rows = teams ? (await Promise.all(teams.map((t) => this.d.store.experiment(t, name)))).filter((r) => r !== undefined) : (await this.d.store.experiments()).filter((r) => r.name === name);
    if (rows.length === 0) throw notFound(name, scope);
    if (rows.length > 1) throw notFound(`${name}" in more than one team ("${rows.map((r) => r.team).join(", ")}): say which with --team`, scope);
    return rows[0]!;
  }

  async cancel(name: string, team: string, caller: Caller): Promise<ExperimentRow> {
    const row = await this.visible(name, team, caller);
    requireWriter(caller, row.team, "cancel experiments");
    if (row.condition !== "Created" && row.condition !== "Running") return row;
    const by = caller.kind === "user" ? caller.user : caller.service;
    await this.d.store.updateExperiment(row.uid, { condition: "Cancelled", reason: "ExperimentCancelled", message: `cancelled by ${by}; its running trials are killed`, completed_at: this.d.clock.now() });
    // The running trials end as Killed: recorded now, their jobs cancelled by the controller's next pass.
    for (const t of await this.d.store.trials(row.uid)) {
      if (t.state === "Pending" || t.state === "Running") await this.d.store.updateTrial(row.uid, t.idx, { state: "Killed", message: `the experiment was cancelled by ${by}`, completed_at: this.d.clock.now() });
    }
    await this.d.grants.revoke(row.team, EXPERIMENT_LABEL, row.name).catch(() => undefined);
    this.d.kick();
    return (await this.d.store.byUid(row.uid))!;
  }

  async delete(name: string, team: string, caller: Caller): Promise<{ row: ExperimentRow; jobs: string[] }> {
    const row = await this.visible(name, team, caller);
    requireWriter(caller, row.team, "delete experiments");
    await this.d.store.updateExperiment(row.uid, { deleting: 1 });
    const jobs = (await this.d.store.trials(row.uid)).filter((t) => t.job_uid).map((t) => t.name);
    this.d.kick();
    return { row, jobs };
  }
}
