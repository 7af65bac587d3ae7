/**
 * Grants in the config center, for the services that write them: a delegate records the grant its user gives it
 * and removes it with what it covers; the gateway removes a user's grants with the user (or with a membership).
 * Control checks each of these (services/control config-service.ts); this is only the client side.
 */
import type { ConfigCenter } from "@switchyard/api";
import { grantDocument, GRANTS_NAMESPACE, newGrant, parseGrant, type Grant, type GrantInit } from "./grants.js";
import type { CallContext, MeshClient } from "./types.js";

export interface GrantRecorder {
  /** Records the grant while its user is calling (`call`: the gateway's proof goes with it). Idempotent. */
  record(grant: GrantInit, call: CallContext): Promise<void>;
  /** Removes this delegate's grants for the jobs labelled `key=value` in `team` (of `user` only, when given; as itself). */
  revoke(team: string, key: string, value: string, user?: string): Promise<number>;
}

/** The grants of `delegate` (this service), through its config center client. */
export function grantRecorder(client: MeshClient<typeof ConfigCenter>, delegate: string): GrantRecorder {
  return {
    async record(grant, call) {
      await client.putDocuments({ documents: [grantDocument(newGrant(grant, Date.now()))] }, { parent: call, timeoutMs: 10_000 });
    },
    revoke: (team, key, value, user) => removeGrants(client, (g) => g.delegate === delegate && g.team === team && g.label.key === key && g.label.value === value && (user === undefined || g.user === user)),
  };
}

/** Removes every grant `which` selects (the caller's rights decide which it may: control checks each removal). */
export async function removeGrants(client: MeshClient<typeof ConfigCenter>, which: (g: Grant) => boolean): Promise<number> {
  const { documents } = await client.listDocuments({ namespace: GRANTS_NAMESPACE }, { timeoutMs: 10_000 });
  let removed = 0;
  for (const d of documents) {
    let g: Grant;
    try {
      g = parseGrant(d.name, d.content);
    } catch {
      continue;
    }
    if (!which(g)) continue;
    await client.deleteDocument({ namespace: GRANTS_NAMESPACE, kind: d.kind, name: d.name }, { timeoutMs: 10_000 });
    removed++;
  }
  return removed;
}
