/**
 * The AuthorizationPolicies a new platform starts with, written to the config center's `mesh` namespace when control
 * creates its database (revision 0), so that they are seen (`switchyard mesh get`), changed and deleted like any
 * policy, and never written again over an operator's choice:
 * - `jobs-platform-callers`: jobs answers platform services (`ns/system`) only — a team's workload (a model server,
 *   later) holds a certificate of the CA but is no platform service;
 * - `users-via-gateway`: a call that names a user is refused unless the gateway, serving or experiments sends it —
 *   the edge, which verified the user's own token, and the services that act for users under their delegation grants
 *   (mesh USER_DELEGATES and GRANT_DELEGATES; each service's `verifiedCaller` checks this too). An unedited copy of
 *   an earlier version is brought up to date.
 */
import { defaultAuthorizationPolicies, isSupersededDefault } from "@switchyard/mesh";
import type { ConfigStore } from "./config-store.js";

/**
 * Writes the defaults into a new config center (revision 0) in one transaction. In an existing one, a default still
 * holding an earlier version's text exactly is brought to the current text (a new revision); anything else is left
 * alone.
 */
export async function seedDefaultPolicies(store: ConfigStore, trustDomain: string, now = Date.now()): Promise<boolean> {
  return store.transaction(async (tx) => {
    if ((await tx.revision()) !== 0) {
      let changed = false;
      for (const d of defaultAuthorizationPolicies(trustDomain)) {
        const stored = await tx.get({ namespace: "mesh", kind: d.kind, name: d.name });
        if (stored === undefined || !isSupersededDefault(d.name, stored.content, trustDomain)) continue;
        await tx.put({ namespace: "mesh", ...d, version: stored.version + 1, updatedAtMs: now, updatedBy: "control (defaults upgraded)" });
        changed = true;
      }
      if (changed) await tx.bumpRevision();
      return changed;
    }
    for (const d of defaultAuthorizationPolicies(trustDomain)) await tx.put({ namespace: "mesh", ...d, version: 1, updatedAtMs: now, updatedBy: "control (defaults)" });
    await tx.bumpRevision();
    return true;
  });
}
