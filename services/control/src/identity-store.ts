/**
 * The join tokens control has accepted, in control.db (`used_join_tokens`): the only module that queries that table
 * (scripts/check-sql.mjs keeps it so). A token's nonce is kept until the token expires, so each is used once, across
 * restarts of control.
 */
import type { Kysely } from "@switchyard/store";
import type { ControlDatabase } from "./config-store.js";

export class JoinTokenStore {
  constructor(private readonly db: Kysely<ControlDatabase>) {}

  /** Records the token's nonce; false when it was recorded before (the token was used already). */
  async claim(nonce: string, expiresAtMs: number, now = Date.now()): Promise<boolean> {
    return this.db.transaction().execute(async (tx) => {
      await tx.deleteFrom("used_join_tokens").where("expires_at_ms", "<=", now).execute();
      const r = await tx.insertInto("used_join_tokens").values({ nonce, expires_at_ms: expiresAtMs }).onConflict((oc) => oc.column("nonce").doNothing()).executeTakeFirst();
      return Number(r.numInsertedOrUpdatedRows ?? 0n) === 1;
    });
  }
}
