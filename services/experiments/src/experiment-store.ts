/**
 * Every query of the experiments service (scripts/check-sql.mjs allows SQL here and in schema.ts only): typed rows in
 * and out. What the rows mean — suggestions, trials' lifecycle, ends — is controller.ts's and experiments.ts's.
 */
import { Code, SwitchyardError } from "@switchyard/core";
import type { Kysely, OpenedStore, Selectable, Updateable } from "@switchyard/store";
import type { ExperimentsDatabase, ExperimentsTable, TrialsTable } from "./schema.js";

export type ExperimentRow = Selectable<ExperimentsTable>;
export type TrialRow = Selectable<TrialsTable>;

export class ExperimentStore {
  private readonly db: Kysely<ExperimentsDatabase>;

  constructor(private readonly opened: OpenedStore<ExperimentsDatabase>) {
    this.db = opened.db;
  }

  async experiments(): Promise<ExperimentRow[]> {
    return this.db.selectFrom("experiments").selectAll().orderBy("team").orderBy("name").execute();
  }

  /** Experiments still to be driven: running, ended with trial jobs perhaps still running, or being deleted. */
  async active(): Promise<ExperimentRow[]> {
    // In creation order on every database (an unordered scan is insertion order on SQLite, heap order on PostgreSQL).
    return this.db.selectFrom("experiments").selectAll().where((e) => e.or([e("settled", "=", 0), e("deleting", "=", 1)])).orderBy("created_at").orderBy("uid").execute();
  }

  async experiment(team: string, name: string): Promise<ExperimentRow | undefined> {
    return this.db.selectFrom("experiments").selectAll().where("team", "=", team).where("name", "=", name).executeTakeFirst();
  }

  async byUid(uid: string): Promise<ExperimentRow | undefined> {
    return this.db.selectFrom("experiments").selectAll().where("uid", "=", uid).executeTakeFirst();
  }

  /** Inserts a new experiment; its name taken in its team is ALREADY_EXISTS. */
  async insertExperiment(e: ExperimentRow): Promise<void> {
    try {
      await this.db.insertInto("experiments").values(e).execute();
    } catch (err) {
      if (this.opened.constraintOf(err) === "unique") throw nameTaken(e.team, e.name, err);
      throw err;
    }
  }

  async updateExperiment(uid: string, change: Updateable<ExperimentsTable>): Promise<void> {
    await this.db.updateTable("experiments").set(change).where("uid", "=", uid).execute();
  }

  /** Ends a running experiment; false when it had ended already (a cancel, or another end, came first). */
  async endExperiment(uid: string, change: Updateable<ExperimentsTable>): Promise<boolean> {
    const r = await this.db.updateTable("experiments").set(change).where("uid", "=", uid).where("condition", "in", ["Created", "Running"]).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }

  async removeExperiment(uid: string): Promise<void> {
    await this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom("trials").where("experiment_uid", "=", uid).execute();
      await tx.deleteFrom("experiments").where("uid", "=", uid).execute();
    });
  }

  async trials(experimentUid: string): Promise<TrialRow[]> {
    return this.db.selectFrom("trials").selectAll().where("experiment_uid", "=", experimentUid).orderBy("idx").execute();
  }

  /** Inserts trials in one transaction, 500 a statement (SQLite binds at most 32,766 values a statement, PostgreSQL 65,535). */
  async insertTrials(rows: readonly TrialRow[]): Promise<void> {
    if (rows.length === 0) return;
    if (rows.length <= 500) {
      await this.db.insertInto("trials").values([...rows]).execute();
      return;
    }
    await this.db.transaction().execute(async (tx) => {
      for (let i = 0; i < rows.length; i += 500) await tx.insertInto("trials").values(rows.slice(i, i + 500)).execute();
    });
  }

  async updateTrial(experimentUid: string, idx: number, change: Updateable<TrialsTable>): Promise<void> {
    await this.db.updateTable("trials").set(change).where("experiment_uid", "=", experimentUid).where("idx", "=", idx).execute();
  }

  /** Changes a trial that is still Pending or Running; false when it has ended meanwhile (a cancel killed it). */
  async updateActiveTrial(experimentUid: string, idx: number, change: Updateable<TrialsTable>): Promise<boolean> {
    const r = await this.db.updateTable("trials").set(change).where("experiment_uid", "=", experimentUid).where("idx", "=", idx).where("state", "in", ["Pending", "Running"]).executeTakeFirst();
    return Number(r.numUpdatedRows) > 0;
  }
}

/** ALREADY_EXISTS for an experiment name taken in its team. */
export function nameTaken(team: string, name: string, cause?: unknown): SwitchyardError {
  return new SwitchyardError(Code.AlreadyExists, `an experiment named "${name}" already exists in team ${team}: choose another metadata.name, or delete it first (switchyard experiments delete ${name})`, cause === undefined ? {} : { cause });
}
