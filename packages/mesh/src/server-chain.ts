import type { DescMessage, DescMethod, DescService } from "@bufbuild/protobuf";
import { Code, SwitchyardError } from "@switchyard/core";
import { methodPath } from "./adapter.js";
import { Bulkhead } from "./policy-bulkhead.js";
import { KeyedRateLimit, admitByLimits, callerKey, type CallerIdentity } from "./policy-rate-limit.js";
import type { ServerCallEvent } from "./events.js";
import type { MeshRuntime } from "./runtime.js";
import { newRefusal } from "./status.js";
import { bindServerContext, endSpan, startServerSpan, withContext } from "./tracing.js";
import { IDENTITY_METADATA, type CallContext } from "./types.js";
import { GRANT_DELEGATES } from "./grants.js";
import { USER_TOKEN_HEADER } from "./user-token.js";

/** What names a user in metadata: believed from a verified token only, and never passed to a handler as sent. */
const USER_HEADERS: readonly string[] = [...IDENTITY_METADATA, USER_TOKEN_HEADER];
import { parseSpiffeId, SYSTEM_NAMESPACE } from "./spiffe.js";
import type { CompiledAuthorization } from "./policy-authz.js";

const HEALTH_SERVICE = "grpc.health.v1.Health";

/** A served method with its handler and the admission objects of the policy revision it last saw. */
export interface MethodEntry {
  readonly path: string;
  readonly service: string;
  readonly name: string;
  readonly type: "unary" | "server_stream";
  readonly input: DescMessage;
  readonly output: DescMessage;
  readonly handler: (req: unknown, ctx: CallContext) => unknown;
  revision: number;
  limits: KeyedRateLimit[];
  bulkhead: Bulkhead | undefined;
  /** The AuthorizationPolicies of this server (undefined: none, every call allowed). */
  authz: CompiledAuthorization | undefined;
}

/** The caller as the gateway (user, teams) and the calling service's certificate (callerService) identified it. */
export function identityOf(ctx: Pick<CallContext, "metadata" | "callerService" | "user">): CallerIdentity {
  if (ctx.user !== undefined) return { user: ctx.user.user, team: ctx.user.teams[0], service: ctx.callerService };
  // A mesh without credentials: the plain user headers (nothing is verified there; with credentials they are removed).
  const md = ctx.metadata;
  const teams = md["x-switchyard-teams"];
  return { user: md["x-switchyard-user"] || undefined, team: teams ? teams.split(",")[0]!.trim() || undefined : undefined, service: ctx.callerService };
}

/** A `serverCall` event whose caller is worked out only if a listener reads it (metrics do not). */
class ServerCallRecord implements ServerCallEvent {
  readonly service: string;
  readonly method: string;
  readonly type: "unary" | "server_stream";
  constructor(
    readonly server: string,
    e: MethodEntry,
    readonly code: number,
    readonly durationMs: number,
    private readonly ctx: CallContext,
  ) {
    this.service = e.service;
    this.method = e.name;
    this.type = e.type;
  }

  get caller(): string {
    return callerKey("caller", identityOf(this.ctx));
  }
}

/**
 * What a server runs around every handler, for gRPC and co-hosted calls alike, in this order: the server span
 * (started first, so refusals are traced too), the caller's service credential (UNAUTHENTICATED without a valid one),
 * admission (rate limits per service, method and caller, then the method's bulkhead — refusals are RESOURCE_EXHAUSTED
 * at once, with a retry-after hint and a "not executed" mark), the handler, and the `serverCall` event RED metrics
 * count.
 */
export class ServerCore {
  readonly methods = new Map<string, MethodEntry>();
  inflight = 0;
  private drained: (() => void) | undefined;
  private readonly limiters = new Map<string, KeyedRateLimit>();
  private readonly bulkheads = new Map<string, Bulkhead>();

  constructor(
    readonly name: string,
    readonly rt: MeshRuntime,
    /** Method paths that take calls without a client certificate (Identity.Enroll); everything else needs one. */
    readonly openMethods: ReadonlySet<string> = new Set(),
    /** Path prefixes no AuthorizationPolicy applies to (server.ts authzExempt). */
    private readonly authzExempt: readonly string[] = [],
  ) {}

  add(service: DescService, impl: object): void {
    for (const method of service.methods) {
      const fn = (impl as Record<string, unknown>)[method.localName];
      if (typeof fn !== "function") throw new Error(`${methodPath(method)} has no handler`);
      this.methods.set(methodPath(method), {
        path: methodPath(method),
        service: service.typeName,
        name: method.name,
        type: method.methodKind === "unary" ? "unary" : "server_stream",
        input: method.input,
        output: (method as DescMethod).output,
        handler: (fn as (req: unknown, ctx: CallContext) => unknown).bind(impl),
        revision: -1,
        limits: [],
        bulkhead: undefined,
        authz: undefined,
      });
    }
  }

  /** Resolves when no call is in flight (at once if none is). */
  idle(): Promise<void> {
    return this.inflight === 0 ? Promise.resolve() : new Promise((r) => (this.drained = r));
  }

  private refresh(e: MethodEntry): void {
    const policies = this.rt.policies.current;
    e.revision = policies.revision;
    // Health answers even when the service is at capacity (that is how callers learn it): no rate limit, no bulkhead,
    // and no AuthorizationPolicy (it says SERVING or not, to callers that already passed mutual TLS).
    if (e.service === HEALTH_SERVICE) return;
    e.authz = this.authzExempt.some((p) => e.path.startsWith(p)) ? undefined : policies.authorization(this.name);
    const p = policies.serverMethod(this.name, e.path);
    e.limits = p.limits.map((rule) => {
      let l = this.limiters.get(rule.key);
      if (l === undefined) this.limiters.set(rule.key, (l = new KeyedRateLimit(rule.bucket, rule.per, this.rt.clock)));
      else l.update(rule.bucket);
      return l;
    });
    if (p.bulkhead === undefined) e.bulkhead = undefined;
    else {
      let b = this.bulkheads.get(p.bulkhead.key);
      if (b === undefined) this.bulkheads.set(p.bulkhead.key, (b = new Bulkhead(p.bulkhead.options, this.rt.clock)));
      else b.update(p.bulkhead.options);
      e.bulkhead = b;
    }
  }

  private reject(e: MethodEntry, reason: "rate_limit" | "bulkhead", message: string, retryAfterMs: number): never {
    if (this.rt.events.has("reject")) this.rt.events.emit("reject", { side: "server", destination: this.name, service: e.service, method: e.name, reason });
    throw newRefusal(Code.ResourceExhausted, message, retryAfterMs);
  }

  /**
   * Rate limits then bulkhead: the bulkhead entered (to leave when the call ends), a promise of it while queued, or a
   * thrown refusal. Synchronous unless the call has to wait in the queue.
   */
  private admit(e: MethodEntry, ctx: CallContext): Bulkhead | undefined | Promise<Bulkhead> {
    if (e.limits.length > 0) {
      const id = identityOf(ctx);
      const wait = admitByLimits(e.limits, id);
      if (wait > 0) this.reject(e, "rate_limit", `rate limit of ${this.name} ${e.name} reached for ${callerKey(e.limits[0]!.per, id)}; retry after ${wait} ms`, wait);
    }
    const b = e.bulkhead;
    if (b === undefined) return undefined;
    const waitMs = ctx.deadlineMs === undefined ? Infinity : ctx.deadlineMs - Date.now();
    const entry = b.enter(waitMs, waitMs === Infinity ? undefined : ctx.signal);
    if (entry === true) return b;
    if (entry === false) return this.refuse(e, b);
    return entry.then((ok) => (ok ? b : this.refuse(e, b)));
  }

  private refuse(e: MethodEntry, b: Bulkhead): never {
    const after = b.retryAfterMs();
    return this.reject(e, "bulkhead", `${this.name} ${e.name} is at capacity (${b.limits.maxConcurrent} running, ${b.queued} waiting); retry after ${after} ms`, after);
  }

  /**
   * The caller's certificate, checked before anything else (rate limits key on the verified caller): with credentials,
   * a call without a verified peer identity of this trust domain is refused, except to the methods that enrol a
   * workload (`openMethods`).
   */
  private authenticate(ctx: CallContext): void {
    const creds = this.rt.credentials;
    if (creds === undefined) return;
    const id = ctx.peerId;
    if (id === undefined) {
      if (this.openMethods.has(ctx.method)) {
        for (const k of USER_HEADERS) delete (ctx.metadata as Record<string, string>)[k];
        return;
      }
      throw new SwitchyardError(Code.Unauthenticated, `${this.name} answers platform workloads only: the call came without a certificate of this platform's CA; users call the gateway with a token`);
    }
    const p = parseSpiffeId(id);
    if (p === undefined || p.trustDomain !== creds.trustDomain) throw new SwitchyardError(Code.Unauthenticated, `${this.name} refused ${id}: not an identity of the trust domain ${creds.trustDomain}`);
    ctx.callerId = id;
    if (p.namespace === SYSTEM_NAMESPACE) ctx.callerService = p.account;
    this.verifyUser(ctx, creds.id);
  }

  /**
   * The AuthorizationPolicies of this server (policy-authz.ts) on the verified caller, user and method, after
   * authentication and before admission: a refused call is PERMISSION_DENIED and costs no rate-limit token or
   * bulkhead slot. Refusals and AUDIT matches are `authorization` events (logged, counted).
   */
  private authorize(e: MethodEntry, ctx: CallContext): void {
    if (e.revision !== this.rt.policies.current.revision) this.refresh(e);
    const a = e.authz;
    if (a === undefined) return;
    const principal = ctx.callerId ?? ctx.peerId;
    const d = a.decide({ principal, path: e.path, user: ctx.user });
    if (d.audit === undefined && d.allowed) return;
    const policy = d.allowed ? undefined : d.policy;
    if (this.rt.events.has("authorization")) this.rt.events.emit("authorization", { server: this.name, method: e.path, principal, user: ctx.user?.user, allowed: d.allowed, policy, audit: d.audit });
    if (!d.allowed) throw new SwitchyardError(Code.PermissionDenied, `RBAC: access denied: ${this.name} refused ${e.path} to ${principal ?? "a caller without a certificate"}${ctx.user ? ` for ${ctx.user.user}` : ""} (AuthorizationPolicy ${policy})`);
  }

  /** With credentials a user is a verified user token for this server (user-token.ts); plain user headers are dropped. */
  private verifyUser(ctx: CallContext, audience: string | undefined): void {
    const md = ctx.metadata as Record<string, string>;
    const token = md[USER_TOKEN_HEADER];
    for (const k of USER_HEADERS) delete md[k];
    if (token === undefined) return;
    const verifier = this.rt.userTokenVerifier;
    if (verifier === undefined || audience === undefined) throw new SwitchyardError(Code.Unauthenticated, `${this.name} cannot check user tokens (it has no certificate)`);
    const user = verifier.verify(token, audience);
    const issuer = user.onBehalfOf === undefined ? parseSpiffeId(user.issuer) : undefined;
    if (issuer === undefined || issuer.namespace !== SYSTEM_NAMESPACE || !GRANT_DELEGATES.includes(issuer.account)) {
      ctx.user = user;
      return;
    }
    // A grant delegate acting for a user who is not calling now: the user's live grants to it, looked up per call.
    const book = this.rt.grants;
    ctx.user = {
      ...user,
      delegation: book === undefined ? { unavailable: "this service does not read grants" } : book.unavailable !== undefined ? { unavailable: book.unavailable } : { grants: book.forUser(issuer.account, user.user) },
    };
  }

  /** Runs a unary call through the chain; resolves with the handler's answer (an init shape or a message). */
  async unary(e: MethodEntry, req: unknown, ctx: CallContext): Promise<unknown> {
    this.inflight++;
    const started = performance.now();
    const rt = this.rt;
    const traced = rt.tracing !== undefined ? startServerSpan(rt.tracing, `${e.service}/${e.name}`, ctx.metadata, { "rpc.service": e.service, "rpc.method": e.name }) : undefined;
    let code = 0;
    let message: string | undefined;
    let bulkhead: Bulkhead | undefined;
    let admittedAt = 0;
    try {
      this.authenticate(ctx);
      this.authorize(e, ctx);
      const admitted = this.admit(e, ctx);
      bulkhead = admitted instanceof Promise ? await admitted : admitted;
      admittedAt = bulkhead !== undefined ? rt.clock.now() : 0;
      if (traced === undefined) return await e.handler(req, ctx);
      bindServerContext(ctx, traced.context);
      return await withContext(traced.context, () => e.handler(req, ctx) as Promise<unknown>);
    } catch (err) {
      const se = SwitchyardError.from(err);
      code = se.code;
      message = se.message;
      throw se;
    } finally {
      bulkhead?.leave(rt.clock.now() - admittedAt);
      this.finish(e, code, started, ctx);
      endSpan(traced?.span, code, message);
    }
  }

  /** Runs a server-streaming call through the chain; the bulkhead slot is held until the stream ends. */
  async *stream(e: MethodEntry, req: unknown, ctx: CallContext): AsyncIterable<unknown> {
    this.inflight++;
    const started = performance.now();
    const traced = this.rt.tracing !== undefined ? startServerSpan(this.rt.tracing, `${e.service}/${e.name}`, ctx.metadata, { "rpc.service": e.service, "rpc.method": e.name }) : undefined;
    if (traced) bindServerContext(ctx, traced.context);
    let code = 0;
    let message: string | undefined;
    let bulkhead: Bulkhead | undefined;
    try {
      this.authenticate(ctx);
      this.authorize(e, ctx);
      bulkhead = await this.admit(e, ctx);
      yield* e.handler(req, ctx) as AsyncIterable<unknown>;
    } catch (err) {
      const se = SwitchyardError.from(err);
      code = se.code;
      message = se.message;
      throw se;
    } finally {
      bulkhead?.leave();
      this.finish(e, code, started, ctx);
      endSpan(traced?.span, code, message);
    }
  }

  private finish(e: MethodEntry, code: number, started: number, ctx: CallContext): void {
    if (this.rt.events.has("serverCall")) {
      this.rt.events.emit("serverCall", new ServerCallRecord(this.name, e, code, performance.now() - started, ctx));
    }
    if (--this.inflight === 0) this.drained?.();
  }
}
