import type { ConfigCenter, ConfigDocument } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { requirePlatformAdmin, validatePolicyDocuments, verifiedCaller, type CallContext, type ServiceImpl } from "@switchyard/mesh";
import type { Kysely, Selectable } from "@switchyard/store";
import type { ControlDatabase, DocumentsTable } from "./config-store.js";

const toProto = (d: Selectable<DocumentsTable>) => ({
  namespace: d.namespace,
  kind: d.kind,
  name: d.name,
  content: d.content,
  version: BigInt(d.version),
  updatedAtMs: BigInt(d.updated_at_ms),
  updatedBy: d.updated_by,
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

/** The config center: versioned documents in control's SQLite, with watchers told after every committed change. */
export function configService(db: Kysely<ControlDatabase>): ServiceImpl<typeof ConfigCenter> {
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const l of listeners) l();
  };
  const revision = async () => Number((await db.selectFrom("revision").select("revision").where("id", "=", 1).executeTakeFirstOrThrow()).revision);
  async function list(namespace: string) {
    let q = db.selectFrom("documents").selectAll();
    if (namespace) q = q.where("namespace", "=", namespace);
    const docs = await q.orderBy("namespace").orderBy("kind").orderBy("name").execute();
    return { documents: docs.map(toProto), revision: BigInt(await revision()) };
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
      const out = await db.transaction().execute(async (tx) => {
        const meshChanges = req.documents.filter((d) => d.namespace === "mesh");
        if (meshChanges.length > 0) validateMeshSet(await tx.selectFrom("documents").selectAll().where("namespace", "=", "mesh").execute(), meshChanges);
        let changed = false;
        const stored = [];
        for (const d of req.documents) {
          const old = await tx.selectFrom("documents").selectAll().where("namespace", "=", d.namespace).where("kind", "=", d.kind).where("name", "=", d.name).executeTakeFirst();
          if (old && old.content === d.content) {
            stored.push(old);
            continue;
          }
          changed = true;
          const row = { namespace: d.namespace, kind: d.kind, name: d.name, content: d.content, version: (old?.version ?? 0) + 1, updated_at_ms: now, updated_by: by };
          await tx.insertInto("documents").values(row).onConflict((oc) => oc.columns(["namespace", "kind", "name"]).doUpdateSet(row)).execute();
          stored.push(row);
        }
        if (changed) await tx.updateTable("revision").set((eb) => ({ revision: eb("revision", "+", 1) })).where("id", "=", 1).execute();
        return { stored, changed };
      });
      if (out.changed) notify();
      return { documents: out.stored.map(toProto), revision: BigInt(await revision()) };
    },

    async deleteDocument(req, ctx: CallContext) {
      changedBy(ctx);
      if (req.namespace === "mesh") validateMeshSet(await db.selectFrom("documents").selectAll().where("namespace", "=", "mesh").execute(), [], req);
      const res = await db.deleteFrom("documents").where("namespace", "=", req.namespace).where("kind", "=", req.kind).where("name", "=", req.name).executeTakeFirst();
      const found = Number(res.numDeletedRows) > 0;
      if (found) {
        await db.updateTable("revision").set((eb) => ({ revision: eb("revision", "+", 1) })).where("id", "=", 1).execute();
        notify();
      }
      return { found, revision: BigInt(await revision()) };
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
