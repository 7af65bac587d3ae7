import type { ConfigCenter, ConfigDocument } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import type { CallContext, ServiceImpl } from "@switchyard/mesh";
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
      const problems = req.documents.flatMap((d: ConfigDocument, i) =>
        (["namespace", "kind", "name"] as const).filter((f) => !d[f]).map((f) => ({ field: `documents[${i}].${f}`, message: "required" })),
      );
      if (problems.length) throw new SwitchyardError(Code.InvalidArgument, "every document needs a namespace, kind and name", { details: problems });
      const by = ctx.metadata["x-switchyard-user"] ?? ctx.metadata["x-switchyard-caller"] ?? "";
      const now = Date.now();
      const out = await db.transaction().execute(async (tx) => {
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

    async deleteDocument(req) {
      const res = await db.deleteFrom("documents").where("namespace", "=", req.namespace).where("kind", "=", req.kind).where("name", "=", req.name).executeTakeFirst();
      const found = Number(res.numDeletedRows) > 0;
      if (found) {
        await db.updateTable("revision").set((eb) => ({ revision: eb("revision", "+", 1) })).where("id", "=", 1).execute();
        notify();
      }
      return { found, revision: BigInt(await revision()) };
    },

    async listDocuments(req) {
      return list(req.namespace);
    },

    async *watchDocuments(req, ctx: CallContext) {
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
