import type { ConfigCenter, ConfigDocument } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { GRANT_DELEGATE_LABELS, GRANT_DELEGATES, GRANT_KIND, GRANTS_NAMESPACE, parseGrant, requirePlatformAdmin, validatePolicyDocuments, verifiedCaller, type CallContext, type ServiceImpl } from "@switchyard/mesh";
import type { ConfigStore, StoredDocument } from "./config-store.js";

const toProto = (d: StoredDocument) => ({
  namespace: d.namespace,
  kind: d.kind,
  name: d.name,
  content: d.content,
  version: BigInt(d.version),
  updatedAtMs: BigInt(d.updatedAtMs),
  updatedBy: d.updatedBy,
});

/** Namespaces, kinds and names of documents: plain names (they key documents and name files when exported). */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,252}$/;
/** The most documents one PutDocuments changes. */
const MAX_DOCUMENTS = 100;

/** Reads: every service (the gateway too, for its own policy watch) and every user the gateway speaks for. */
const READS = { delegateMayActAsItself: true } as const;

/** Changes are for admins and platform services (verifiedCaller: the gateway speaks for users, others for themselves). */
function changedBy(ctx: CallContext): string {
  const caller = verifiedCaller(ctx);
  requirePlatformAdmin(caller, "can change configuration");
  return caller.kind === "user" ? caller.user : caller.service;
}

/**
 * The `grants` namespace holds delegation grants (mesh grants.ts): a user's permission for one service to act for
 * them within one scope after their call is over. Only that service records one, while the user is calling it (its
 * call carries the gateway's proof of the user, "on behalf of"), and only what the user may give: their own name,
 * teams and role as the gateway knows them, a team they write in. Nobody else writes grants — not admins either
 * (an admin needs none: they act through the gateway). Who removes one: the gateway (a user or membership deleted),
 * the delegate itself (what it covered is gone), an admin. Reading them is for platform services and admins.
 */
function checkGrantPut(ctx: CallContext, documents: readonly ConfigDocument[]): string {
  const caller = verifiedCaller(ctx, { acceptsOnBehalfOf: true });
  const refuse = (why: string) => new SwitchyardError(Code.PermissionDenied, `grants: ${why}`);
  if (caller.kind !== "user" || !GRANT_DELEGATES.includes(caller.via) || caller.grants !== undefined) {
    throw refuse("a grant is recorded by the service it is given to, while its user calls that service through the gateway");
  }
  for (const d of documents) {
    if (d.namespace !== GRANTS_NAMESPACE) throw refuse("a change that records grants records nothing else");
    if (d.kind !== GRANT_KIND) throw new SwitchyardError(Code.InvalidArgument, `grants: kind ${d.kind} is not ${GRANT_KIND}`, { details: [{ field: "kind", message: "not a grant", expected: GRANT_KIND }] });
    const g = parseGrant(d.name, d.content);
    if (g.user !== caller.user) throw refuse(`${caller.via} records a grant of ${g.user} while ${caller.user} is calling`);
    if (g.delegate !== caller.via) throw refuse(`${caller.via} records a grant to ${g.delegate}`);
    if (g.label.key !== GRANT_DELEGATE_LABELS[caller.via]) throw refuse(`${caller.via}'s grants cover jobs labelled ${GRANT_DELEGATE_LABELS[caller.via]}, not ${g.label.key}`);
    if (caller.role === "viewer") throw refuse(`${caller.user} is a viewer: viewers give no grants`);
    if (caller.role !== "admin" && !caller.teams.includes(g.team)) throw refuse(`${caller.user} is not in team ${g.team}`);
    if (g.role !== caller.role || g.teams.length !== caller.teams.length || !g.teams.every((t) => caller.teams.includes(t))) {
      throw refuse(`the grant names ${g.user} as a ${g.role} of ${g.teams.join(", ")}, not as the gateway knows them (a ${caller.role} of ${caller.teams.join(", ")})`);
    }
  }
  return `${caller.user} via ${caller.via}`;
}

async function checkGrantDelete(ctx: CallContext, doc: { name: string; content: string } | undefined): Promise<void> {
  const caller = verifiedCaller(ctx, { delegateMayActAsItself: true });
  if (caller.kind === "user") return requirePlatformAdmin(caller, "remove other users' grants");
  if (caller.service === "gateway" || caller.service === "control") return;
  if (doc === undefined) return;
  const g = parseGrant(doc.name, doc.content);
  if (g.delegate !== caller.service) throw new SwitchyardError(Code.PermissionDenied, `grants: ${caller.service} removes only the grants given to it (this one is ${g.delegate}'s)`);
}

/** Grants name users and what they gave: platform services and admins read them. */
function checkGrantRead(ctx: CallContext): void {
  const caller = verifiedCaller(ctx, READS);
  if (caller.kind === "user") requirePlatformAdmin(caller, "read grants");
}

/**
 * The `mesh` namespace holds the mesh's policies: a change is validated as the mesh would compile the resulting set
 * (field errors name the document and line), so an apply fails loudly instead of every service quietly keeping the
 * old policies.
 */
function validateMeshSet(current: { kind: string; name: string; content: string }[], changes: { kind: string; name: string; content: string }[], removed?: { kind: string; name: string }): void {
  const key = (d: { kind: string; name: string }) => `${d.kind}/${d.name}`;
  const next = new Map(current.map((d) => [key(d), d.content]));
  for (const c of changes) next.set(key(c), c.content);
  if (removed) next.delete(key(removed));
  validatePolicyDocuments([...next].map(([name, yaml]) => ({ name, yaml })));
}

/**
 * The config center: versioned documents in control's store, with watchers told after every committed change
 * (`onChange` too: control's own mesh runtime follows its policies through it, localPolicySource).
 */
export function configService(store: ConfigStore, onChange?: () => void): ServiceImpl<typeof ConfigCenter> {
  const listeners = new Set<() => void>();
  if (onChange) listeners.add(onChange);
  const notify = () => {
    for (const l of listeners) l();
  };
  async function list(namespace: string) {
    const docs = await store.list(namespace);
    return { documents: docs.map(toProto), revision: BigInt(await store.revision()) };
  }

  return {
    async putDocuments(req, ctx: CallContext) {
      const by = req.documents.some((d) => d.namespace === GRANTS_NAMESPACE) ? checkGrantPut(ctx, req.documents) : changedBy(ctx);
      if (req.documents.length > MAX_DOCUMENTS) {
        throw new SwitchyardError(Code.InvalidArgument, `${req.documents.length} documents in one change, more than ${MAX_DOCUMENTS}`, { details: [{ field: "documents", message: "too many", expected: `at most ${MAX_DOCUMENTS}` }] });
      }
      const problems = req.documents.flatMap((d: ConfigDocument, i) =>
        (["namespace", "kind", "name"] as const).flatMap((f) =>
          !d[f] ? [{ field: `documents[${i}].${f}`, message: "required" }] : NAME.test(d[f]) ? [] : [{ field: `documents[${i}].${f}`, message: "is not a name", expected: "letters, digits, '.', '_' and '-' (1–253 characters), starting with a letter or digit", got: JSON.stringify(d[f].slice(0, 80)) }],
        ),
      );
      if (problems.length) throw new SwitchyardError(Code.InvalidArgument, "every document needs a namespace, kind and name, each a plain name", { details: problems.slice(0, 50) });
      const now = Date.now();
      // One transaction: the versions read are the ones replaced, and a refused mesh set stores nothing.
      const out = await store.transaction(async (tx) => {
        const meshChanges = req.documents.filter((d) => d.namespace === "mesh");
        if (meshChanges.length > 0) validateMeshSet(await tx.list("mesh"), meshChanges);
        let changed = false;
        const stored: StoredDocument[] = [];
        for (const d of req.documents) {
          const old = await tx.get(d);
          if (old && old.content === d.content) {
            stored.push(old);
            continue;
          }
          changed = true;
          const doc = { namespace: d.namespace, kind: d.kind, name: d.name, content: d.content, version: (old?.version ?? 0) + 1, updatedAtMs: now, updatedBy: by };
          await tx.put(doc);
          stored.push(doc);
        }
        if (changed) await tx.bumpRevision();
        return { stored, changed };
      });
      if (out.changed) notify();
      return { documents: out.stored.map(toProto), revision: BigInt(await store.revision()) };
    },

    async deleteDocument(req, ctx: CallContext) {
      if (req.namespace === GRANTS_NAMESPACE) await checkGrantDelete(ctx, await store.get(req));
      else changedBy(ctx);
      if (req.namespace === "mesh") validateMeshSet(await store.list("mesh"), [], req);
      const found = await store.remove(req);
      if (found) {
        await store.bumpRevision();
        notify();
      }
      return { found, revision: BigInt(await store.revision()) };
    },

    async listDocuments(req, ctx: CallContext) {
      if (req.namespace === GRANTS_NAMESPACE) checkGrantRead(ctx);
      else verifiedCaller(ctx, READS);
      return list(req.namespace);
    },

    async *watchDocuments(req, ctx: CallContext) {
      if (req.namespace === GRANTS_NAMESPACE) checkGrantRead(ctx);
      else verifiedCaller(ctx, READS);
      let dirty = true;
      let wake: (() => void) | undefined;
      const l = () => {
        dirty = true;
        wake?.();
      };
      listeners.add(l);
      const onAbort = () => wake?.();
      ctx.signal.addEventListener("abort", onAbort);
      try {
        while (!ctx.signal.aborted) {
          if (dirty) {
            dirty = false;
            yield await list(req.namespace);
            continue;
          }
          await new Promise<void>((r) => (wake = r));
        }
      } finally {
        listeners.delete(l);
        ctx.signal.removeEventListener("abort", onAbort);
      }
    },
  };
}
