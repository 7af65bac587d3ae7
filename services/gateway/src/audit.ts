/**
 * The audit log: who changed what, and who was refused. Every edge service's handlers are wrapped (`audited`), so
 * gRPC, gRPC-Web, Connect and REST calls are recorded alike, with the identity their token proved. Recorded: every
 * call of a method with side effects (its descriptor's idempotency is not NO_SIDE_EFFECTS: submit, cancel, garbage
 * collection, queues, secrets, config documents, users, tokens), whatever its outcome; and every call of any method
 * refused with PERMISSION_DENIED. Data-plane methods an edge service declares `auditAsReads` (ModelInfer: thousands of
 * calls a second, each one a row would bury the changes) are treated as reads: recorded when refused. Calls without a valid token never reach a handler; the edge's per-address budget of
 * failed authentications bounds them and the log keeps them out.
 *
 * Rows are written after the call, a turn's events in one transaction (a burst of submissions costs one commit, not
 * one each); an event still in memory when the process dies is lost, which the audit's readers are told in the docs.
 * Retention: `retentionMs` (default 90 days) and at most `maxRows` (1,000,000), swept hourly.
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, SwitchyardError, noopLogger, systemClock, type Clock, type Logger } from "@switchyard/core";
import type { AuditFilter, AuditRow, AuditStore, NewAuditRow } from "./audit-store.js";
import type { EdgeCall, EdgeService, StreamHandler, UnaryHandler } from "./edge-service.js";
import { CODE_NAMES } from "./http-errors.js";

export interface AuditLogOptions {
  store: AuditStore;
  clock?: Clock;
  logger?: Logger;
  retentionMs?: number;
  maxRows?: number;
}

/** Request fields that say what a call was about, in the order they are shown. */
const TARGET_FIELDS = ["name", "modelName", "team", "user", "id", "namespace", "kind"] as const;

export class AuditLog {
  private pending: NewAuditRow[] = [];
  private flushing: Promise<void> | undefined;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly clock: Clock;
  private readonly logger: Logger;
  readonly retentionMs: number;
  readonly maxRows: number;

  constructor(private readonly o: AuditLogOptions) {
    this.clock = o.clock ?? systemClock;
    this.logger = o.logger ?? noopLogger;
    this.retentionMs = o.retentionMs ?? 90 * 24 * 3600_000;
    this.maxRows = o.maxRows ?? 1_000_000;
  }

  /** Sweeps now and then every hour. */
  start(): void {
    void this.sweep();
    this.sweeper = setInterval(() => void this.sweep(), 3600_000);
    this.sweeper.unref();
  }

  async sweep(): Promise<number> {
    try {
      await this.flush();
      return await this.o.store.sweep(this.clock.now() - this.retentionMs, this.maxRows);
    } catch (err) {
      this.logger.error({ err: String(err) }, "audit sweep failed");
      return 0;
    }
  }

  private dropped = 0;

  record(row: Omit<NewAuditRow, "at">): void {
    if (this.pending.length >= MAX_PENDING) {
      if (this.dropped++ % 1000 === 0) this.logger.error({ dropped: this.dropped }, "audit events dropped: the audit log cannot keep up with writing");
      return;
    }
    this.pending.push({ at: this.clock.now(), ...row });
    if (this.pending.length === 1) setImmediate(() => void this.flush());
  }

  /** Writes what was recorded (waits for a write in progress first). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    const rows = this.pending;
    if (rows.length === 0) return;
    this.pending = [];
    this.flushing = this.o.store.append(rows).catch((err: unknown) => this.logger.error({ err: String(err), lost: rows.length }, "audit events could not be written"));
    try {
      await this.flushing;
    } finally {
      this.flushing = undefined;
    }
  }

  async list(f: AuditFilter): Promise<AuditRow[]> {
    await this.flush();
    return this.o.store.list(f);
  }

  async close(): Promise<void> {
    if (this.sweeper) clearInterval(this.sweeper);
    await this.flush();
  }
}

/** PERMISSION_DENIED for Code.PermissionDenied: gRPC's name of a status. */
const codeName = (c: Code) => (CODE_NAMES[c] ?? "unknown").toUpperCase();
/** The longest target stored (a caller chooses the names it sends; every event's row is bounded). */
const MAX_TARGET = 512;
/** Events waiting for their write beyond this are dropped and counted (a stalled disk must not grow the heap). */
const MAX_PENDING = 10_000;

function outcomeOf(err: unknown): { outcome: NewAuditRow["outcome"]; code: Code; message: string } {
  const e = err instanceof SwitchyardError ? err : undefined;
  const code = e?.code ?? Code.Internal;
  const denied = code === Code.PermissionDenied || code === Code.Unauthenticated;
  const message = e ? e.message : "internal error";
  return { outcome: denied ? "denied" : "failed", code, message: message.length > 300 ? `${message.slice(0, 297)}...` : message };
}

/** What a call named: its request's identifying fields, or for a submission the job the answer names. */
function targetOf(req: unknown, res: unknown): string {
  const parts: string[] = [];
  const r = (req ?? {}) as Record<string, unknown>;
  for (const f of TARGET_FIELDS) {
    const v = r[f];
    if (typeof v === "string" && v !== "") parts.push(`${f}=${v.length > 100 ? `${v.slice(0, 97)}...` : v}`);
  }
  const docs = r["documents"];
  if (Array.isArray(docs) && docs.length > 0) {
    const names = docs.slice(0, 5).map((d: { namespace?: string; kind?: string; name?: string }) => `${d.namespace ?? ""}/${d.kind ?? ""}/${d.name ?? ""}`.slice(0, 100));
    parts.push(`documents=${names.join(",")}${docs.length > 5 ? `,…(${docs.length})` : ""}`);
  }
  const meta = ((res ?? {}) as { job?: { metadata?: { name?: string; team?: string } } }).job?.metadata;
  if (meta?.name && !parts.some((p) => p.startsWith("name="))) parts.push(`name=${meta.name}`);
  if (meta?.team && !parts.some((p) => p.startsWith("team="))) parts.push(`team=${meta.team}`);
  const target = parts.join(" ");
  return target.length > MAX_TARGET ? `${target.slice(0, MAX_TARGET - 3)}...` : target;
}

function changes(m: DescMethod): boolean {
  return m.idempotency !== MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS;
}

/** The service with each handler recording its calls in `log` as the module header says. */
export function audited(edge: EdgeService, log: AuditLog): EdgeService {
  const handlers = new Map<string, UnaryHandler | StreamHandler>();
  const byName = new Map((edge.service as DescService).methods.map((m) => [m.localName, m]));
  for (const [name, h] of edge.handlers) {
    const m = byName.get(name)!;
    const method = `${edge.service.typeName}/${m.name}`;
    const write = changes(m) && !edge.auditAsReads?.has(name);
    const note = (call: EdgeCall, req: unknown, res: unknown, err?: unknown) => {
      const o = err === undefined ? undefined : outcomeOf(err);
      if (!write && o?.code !== Code.PermissionDenied) return;
      log.record({
        user: call.identity.user,
        role: call.identity.role,
        method,
        target: targetOf(req, res),
        ...(o ? { outcome: o.outcome, code: codeName(o.code), message: o.message } : { outcome: "allowed" as const, code: "", message: "" }),
      });
    };
    if (m.methodKind === "unary") {
      const unary = h as UnaryHandler;
      handlers.set(name, async (req, call) => {
        let res: unknown;
        try {
          res = await unary(req, call);
        } catch (err) {
          note(call, req, undefined, err);
          throw err;
        }
        // Outside the try: recording never turns a call that was carried out into an error.
        note(call, req, res);
        return res;
      });
    } else {
      const stream = h as StreamHandler;
      handlers.set(name, async function* (req, call) {
        let failed = false;
        try {
          yield* stream(req, call);
        } catch (err) {
          failed = true;
          note(call, req, undefined, err);
          throw err;
        } finally {
          // Ended, or stopped by its caller part-way: either way it ran.
          if (!failed && write) note(call, req, undefined);
        }
      });
    }
  }
  // Everything else of the service (auditAsReads, uncompressedAnswers, …) stays as it was; only the handlers change.
  return { ...edge, handlers };
}
