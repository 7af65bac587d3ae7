import type { ConfigCenter, ConfigDocument } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { requirePlatformAdmin, validatePolicyDocuments, verifiedCaller, type CallContext, type ServiceImpl } from "@switchyard/mesh";
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
      const by = changedBy(ctx);
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
      changedBy(ctx);
      if (req.namespace === "mesh") validateMeshSet(await store.list("mesh"), [], req);
      const found = await store.remove(req);
      if (found) {
        await store.bumpRevision();
        notify();
      }
      return { found, revision: BigInt(await store.revision()) };
    },

    async listDocuments(req, ctx: CallContext) {
      verifiedCaller(ctx, READS);
      return list(req.namespace);
    },

    async *watchDocuments(req, ctx: CallContext) {
      verifiedCaller(ctx, READS);
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
