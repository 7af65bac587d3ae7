/**
 * Applied queue configurations in jobs.db (`queue_configs`), newest last: every `Queues.ApplyQueues` adds a version;
 * the newest one is in force. The only module that queries that table.
 */
import type { Kysely } from "@switchyard/store";
import type { JobsDatabase } from "./schema.js";

export interface StoredQueueConfig {
  version: number;
  yaml: string;
  appliedAt: number;
  appliedBy: string;
}

export class QueueConfigStore {
  constructor(private readonly db: Kysely<JobsDatabase>) {}

  /** The configuration in force, or undefined when none was ever applied. */
  async latest(): Promise<StoredQueueConfig | undefined> {
    const row = await this.db.selectFrom("queue_configs").selectAll().orderBy("version", "desc").limit(1).executeTakeFirst();
    return row && { version: row.version, yaml: row.yaml, appliedAt: row.applied_at, appliedBy: row.applied_by };
  }

  /** Stores a new version (already validated by the caller); returns its number. */
  async append(yaml: string, appliedBy: string, appliedAt: number): Promise<number> {
    const row = await this.db.insertInto("queue_configs").values({ yaml, applied_at: appliedAt, applied_by: appliedBy }).returning("version").executeTakeFirstOrThrow();
    return row.version;
  }
}
