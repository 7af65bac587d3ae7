/**
 * The teams' secrets in jobs.db (table `secrets`, migration 0003_secrets): one row per key, the value sealed by the
 * SecretBox and bound to its team, secret and key. Plaintext goes in through `put` and comes out only through `get`,
 * which the jobs service calls to start a job's processes; nothing else here returns a value.
 */
import type { Kysely } from "@switchyard/store";
import type { JobsDatabase } from "./schema.js";
import { secretAad, type SecretBox } from "./secret-box.js";

/** A secret as anyone may see it: names and times, never values. */
export interface SecretInfo {
  team: string;
  name: string;
  /** Sorted. */
  keys: string[];
  createdAt: number;
  updatedAt: number;
  updatedBy: string;
}

export interface SecretStoreOptions {
  /** Milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

export class SecretStore {
  private readonly now: () => number;

  constructor(
    private readonly db: Kysely<JobsDatabase>,
    private readonly box: SecretBox,
    options: SecretStoreOptions = {},
  ) {
    this.now = options.now ?? Date.now;
  }

  /**
   * Creates the secret, or replaces all of its keys at once (keys not in `values` are removed); `created` is false
   * when it existed. Names and keys are checked by the caller (secrets-service.ts).
   */
  async put(team: string, name: string, values: Readonly<Record<string, string>>, by: string): Promise<{ created: boolean; info: SecretInfo }> {
    const now = this.now();
    // Sealed before the transaction: the transaction only moves ciphertexts.
    const rows = Object.entries(values).map(([key, value]) => ({ team, name, key, ciphertext: this.box.seal(value, secretAad(team, name, key)), updated_at: now, updated_by: by }));
    const createdAt = await this.db.transaction().execute(async (tx) => {
      const old = await tx.selectFrom("secrets").select((eb) => eb.fn.min("created_at").as("created_at")).where("team", "=", team).where("name", "=", name).executeTakeFirst();
      const created = old?.created_at ?? null;
      await tx.deleteFrom("secrets").where("team", "=", team).where("name", "=", name).execute();
      // In slices: SQLite takes a bounded number of parameters per statement.
      for (let i = 0; i < rows.length; i += 200) await tx.insertInto("secrets").values(rows.slice(i, i + 200).map((r) => ({ ...r, created_at: created ?? now }))).execute();
      return created;
    });
    return {
      created: createdAt === null,
      info: { team, name, keys: Object.keys(values).sort(), createdAt: createdAt ?? now, updatedAt: now, updatedBy: by },
    };
  }

  /** Secrets of one team, of several, or of every team (undefined), by team then name. */
  async list(teams?: string | readonly string[]): Promise<SecretInfo[]> {
    let q = this.db.selectFrom("secrets").select(["team", "name", "key", "created_at", "updated_at", "updated_by"]);
    if (typeof teams === "string") q = q.where("team", "=", teams);
    else if (teams !== undefined) {
      if (teams.length === 0) return [];
      q = q.where("team", "in", [...teams]);
    }
    const rows = await q.orderBy("team").orderBy("name").orderBy("key").execute();
    const out: SecretInfo[] = [];
    for (const r of rows) {
      const last = out[out.length - 1];
      if (last !== undefined && last.team === r.team && last.name === r.name) {
        last.keys.push(r.key);
        last.createdAt = Math.min(last.createdAt, r.created_at);
        if (r.updated_at > last.updatedAt) Object.assign(last, { updatedAt: r.updated_at, updatedBy: r.updated_by });
      } else {
        out.push({ team: r.team, name: r.name, keys: [r.key], createdAt: r.created_at, updatedAt: r.updated_at, updatedBy: r.updated_by });
      }
    }
    return out;
  }

  /** The keys of a secret, or undefined when the team has no such secret. */
  async keys(team: string, name: string): Promise<string[] | undefined> {
    const rows = await this.db.selectFrom("secrets").select("key").where("team", "=", team).where("name", "=", name).orderBy("key").execute();
    return rows.length === 0 ? undefined : rows.map((r) => r.key);
  }

  /** Deletes the secret and all of its keys; false when there was none. */
  async delete(team: string, name: string): Promise<boolean> {
    const r = await this.db.deleteFrom("secrets").where("team", "=", team).where("name", "=", name).executeTakeFirst();
    return Number(r.numDeletedRows) > 0;
  }

  /** One value in plaintext, or undefined when the secret or the key is missing. For starting a job only. */
  async get(team: string, name: string, key: string): Promise<string | undefined> {
    const row = await this.db.selectFrom("secrets").select("ciphertext").where("team", "=", team).where("name", "=", name).where("key", "=", key).executeTakeFirst();
    return row === undefined ? undefined : this.box.open(row.ciphertext, secretAad(team, name, key));
  }
}
