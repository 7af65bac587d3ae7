import { GRPCInferenceService, type ActivateDeploymentResponse, type Deployment, type Revision, type Serving } from "@switchyard/api";
import { Code, SwitchyardError, noopLogger, systemClock, type Clock, type Logger } from "@switchyard/core";
import { wasNotExecuted, type CallOptions, type MeshClient } from "@switchyard/mesh";
import { edgeService, type EdgeCall, type EdgeService } from "./edge-service.js";
import { RetryLaterError } from "./http-errors.js";
import type { Identity } from "./identity.js";
import { LookupCache } from "./lookup-cache.js";

/**
 * The request metadata the serving service's routes (VirtualService on host `inference`) match: the model (a
 * deployment's name) and, when the caller names a version, the revision. Nothing else of the caller's goes with it.
 */
export const MODEL_HEADER = "x-switchyard-model";
export const REVISION_HEADER = "x-switchyard-revision";

export interface InferenceEdgeOptions {
  /** The serving service: GetDeployment (the team check) and ActivateDeployment (scale from zero), as the caller. */
  serving: Pick<MeshClient<typeof Serving>, "getDeployment" | "activateDeployment">;
  /** `mesh:///inference`: the model servers (mutual TLS, each as its team's workload), called without the user: they trust the edge. */
  inference: Pick<MeshClient<typeof GRPCInferenceService>, "modelMetadata" | "modelInfer">;
  /** ServerMetadata's version (the gateway's). */
  version: string;
  /** How long a deployment lookup (found, or NOT_FOUND) is reused per caller and model (default 1 s). */
  lookupTtlMs?: number;
  /** The most lookups kept (default 10,000; the oldest goes first). */
  maxLookups?: number;
  /** Requests held at once per model while it has no ready replica (default 1,000); past it RESOURCE_EXHAUSTED. */
  maxHeldPerModel?: number;
  /** The longest a request is held for a replica to start, whatever its deadline (default 60 s). */
  maxHoldMs?: number;
  /** Pauses between tries while an activated model's endpoint is not in the gateway's routing table yet (10–250 ms). */
  retryMinMs?: number;
  retryMaxMs?: number;
  /** Asks serving again when an activated model still has no endpoint after this long (default 2 s): it was lost. */
  reactivateAfterMs?: number;
  clock?: Clock;
  logger?: Logger;
}

export type CompiledInferenceEdgeOptions = Readonly<Required<InferenceEdgeOptions>>;

export function compileInferenceEdgeOptions(o: InferenceEdgeOptions): CompiledInferenceEdgeOptions {
  const c = {
    serving: o.serving,
    inference: o.inference,
    version: o.version,
    lookupTtlMs: o.lookupTtlMs ?? 1000,
    maxLookups: o.maxLookups ?? 10_000,
    maxHeldPerModel: o.maxHeldPerModel ?? 1000,
    maxHoldMs: o.maxHoldMs ?? 60_000,
    retryMinMs: o.retryMinMs ?? 10,
    retryMaxMs: o.retryMaxMs ?? 250,
    reactivateAfterMs: o.reactivateAfterMs ?? 2000,
    clock: o.clock ?? systemClock,
    logger: o.logger ?? noopLogger,
  };
  for (const k of ["lookupTtlMs", "maxLookups", "maxHeldPerModel", "maxHoldMs", "retryMinMs", "retryMaxMs", "reactivateAfterMs"] as const) {
    if (!Number.isFinite(c[k]) || c[k] <= 0) throw new Error(`inference edge option ${k} must be a positive number, got ${c[k]}`);
  }
  if (c.retryMaxMs < c.retryMinMs) throw new Error("inference edge option retryMaxMs must be at least retryMinMs");
  return Object.freeze(c);
}

/** A deployment lookup's own limit: shared by every caller waiting for it, so no one caller's signal ends it. */
const LOOKUP_TIMEOUT_MS = 10_000;
/** How much longer than its wait an activation call may take (serving answers when the wait ends). */
const ACTIVATE_SLACK_MS = 5_000;
/** Deployment names are DNS labels: a longer name cannot exist, and is not looked up (nor kept in the cache). */
const MAX_NAME = 253;
const RETRY_LATER_MS = 1000;

const quoted = (s: string) => JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);

/** The answer for a model the caller may not see, exactly as for one that does not exist: nothing tells them apart. */
export function modelNotFound(name: string): SwitchyardError {
  return new SwitchyardError(Code.NotFound, `model ${quoted(name)} not found: no deployment of that name in your teams (GET /v1/deployments lists them)`);
}

function asModelError(err: unknown, name: string): SwitchyardError {
  const e = SwitchyardError.from(err);
  return e.code === Code.NotFound ? modelNotFound(name) : e;
}

/**
 * No endpoint took the call and it did not run (none registered or routable yet, a draining one): worth a retry. So
 * is UNIMPLEMENTED: every model server implements the whole service, so from `inference` it means the mesh found no
 * route for the model yet — the serving service's policy for a new deployment or revision has not reached this
 * gateway (the registration it follows can arrive first).
 */
function noEndpoint(err: unknown): boolean {
  return err instanceof SwitchyardError && ((err.code === Code.Unavailable && wasNotExecuted(err)) || err.code === Code.Unimplemented);
}

function callerKey(id: Identity, name: string): string {
  return `${id.user}\u0000${id.role}\u0000${id.teams.join(",")}\u0000${name}`;
}

/** The revision a version names (a deployment's revision number); NOT_FOUND for one it does not have. */
function revisionOf(dep: Deployment, name: string, version: string): Revision | undefined {
  if (version === "") return undefined;
  const rev = /^[1-9]\d{0,8}$/.test(version) ? dep.revisions.find((r) => r.number === Number(version)) : undefined;
  if (rev === undefined) {
    const have = dep.revisions.filter((r) => r.state !== "Retired").map((r) => r.number);
    throw new SwitchyardError(Code.NotFound, `model ${quoted(name)} has no version ${quoted(version)}: its versions are its revisions (${have.join(", ") || "none serving"}); or name no version`);
  }
  if (rev.state === "Retired") {
    throw new SwitchyardError(Code.FailedPrecondition, `version ${rev.number} of model ${quoted(name)} is retired and serves nothing: name a serving version or none`);
  }
  return rev;
}

function readyReplicas(dep: Deployment, rev: Revision | undefined): number {
  return rev === undefined ? dep.readyReplicas : rev.readyReplicas;
}

/**
 * `inference.GRPCInferenceService` at the edge (KServe's Open Inference Protocol v2): the server answers for itself
 * (live, ready, metadata); a model is a deployment of the serving service, looked up as the caller (another team's
 * answers NOT_FOUND like a missing one) and reached through `mesh:///inference` with the model (and revision) headers.
 * A model with no ready replica is activated (scale from zero) and the request held until a replica takes it or the
 * caller's deadline (at most maxHoldMs) passes; at most maxHeldPerModel requests are held per model.
 */
export function inferenceService(options: InferenceEdgeOptions): EdgeService {
  const edge = new InferenceEdge(compileInferenceEdgeOptions(options));
  const o = edge.o;
  const service = edgeService(GRPCInferenceService, {
    serverLive: async () => ({ live: true }),
    serverReady: async () => ({ ready: true }),
    serverMetadata: async () => ({ name: "switchyard", version: o.version, extensions: [] }),
    modelReady: (req, call) => edge.ready(req.name, "name", req.version, call),
    modelMetadata: (req, call) => edge.forward(req.name, "name", req.version, call, (opts) => o.inference.modelMetadata(req, opts)),
    modelInfer: (req, call) => edge.forward(req.modelName, "model_name", req.modelVersion, call, (opts) => o.inference.modelInfer(req, opts)),
  });
  // Inference is the data plane: not a row per call in the audit log (refusals still are).
  return { ...service, auditAsReads: new Set(["modelInfer"]), uncompressedAnswers: true };
}

class InferenceEdge {
  private readonly deployments: LookupCache<Deployment>;
  private readonly activations = new Map<string, Promise<ActivateDeploymentResponse>>();
  private readonly held = new Map<string, number>();

  constructor(readonly o: CompiledInferenceEdgeOptions) {
    this.deployments = new LookupCache({ ttlMs: o.lookupTtlMs, maxEntries: o.maxLookups, clock: o.clock }, (e) => e.code === Code.NotFound);
  }

  async ready(name: string, field: string, version: string, call: EdgeCall): Promise<{ ready: boolean }> {
    const stopped = this.stopper(name, call);
    const dep = await this.resolve(callerKey(call.identity, name), name, field, call, stopped);
    return { ready: readyReplicas(dep, revisionOf(dep, name, version)) > 0 };
  }

  async forward<T>(name: string, field: string, version: string, call: EdgeCall, send: (o: CallOptions) => Promise<T>): Promise<T> {
    const clock = this.o.clock;
    const stopped = this.stopper(name, call);
    const deadlineAt = stopped.deadlineAt;
    const key = callerKey(call.identity, name);
    const dep = await this.resolve(key, name, field, call, stopped);
    const rev = revisionOf(dep, name, version);
    const metadata: Record<string, string> = version === "" ? { [MODEL_HEADER]: name } : { [MODEL_HEADER]: name, [REVISION_HEADER]: String(rev!.number) };
    // No `user`: the model servers do not verify tokens; the edge authorized the call above.
    const options = (): CallOptions => ({ metadata, signal: call.signal, ...(deadlineAt !== undefined ? { timeoutMs: Math.max(1, deadlineAt - clock.now()) } : {}) });
    if (readyReplicas(dep, rev) > 0) {
      try {
        return await send(options());
      } catch (err) {
        if (!noEndpoint(err)) throw err;
        // Scaled to zero since the lookup, or the replica is going: held below like a model with none.
      }
    }
    return this.hold(key, name, dep, call, stopped, () => send(options()));
  }

  /** The caller's deadline (absolute), and the error that ends a wait when the caller stops (deadline, cancel). */
  private stopper(name: string, call: EdgeCall): Stopped {
    const clock = this.o.clock;
    const deadlineAt = call.timeoutMs === undefined ? undefined : clock.now() + call.timeoutMs;
    const stopped = () =>
      deadlineAt !== undefined && clock.now() >= deadlineAt
        ? new SwitchyardError(Code.DeadlineExceeded, `the call's deadline passed while model ${quoted(name)} was being looked up or started`)
        : new SwitchyardError(Code.Canceled, "cancelled by the caller");
    return Object.assign(stopped, { deadlineAt });
  }

  /**
   * The deployment `name` as the caller sees it (cached per caller and model: a hit answers at once), or the model's
   * NOT_FOUND. A lookup is shared by the concurrent callers of the key; each stops waiting at its own deadline.
   */
  private async resolve(key: string, name: string, field: string, call: EdgeCall, stopped: Stopped): Promise<Deployment> {
    if (name === "") {
      throw new SwitchyardError(Code.InvalidArgument, `${field}: is empty: name the model (a deployment) to call`, { details: [{ field, message: "is empty", expected: "a deployment's name" }] });
    }
    if (name.length > MAX_NAME) throw modelNotFound(name);
    const user = call.identity;
    const found = this.deployments.get(key, () => this.o.serving.getDeployment({ name }, { user, timeoutMs: LOOKUP_TIMEOUT_MS }).catch((err: unknown) => Promise.reject(asModelError(err, name))));
    return found instanceof Promise ? abortable(found, call.signal, stopped) : found;
  }

  /**
   * Holds a request for a model without a ready replica: asks serving to activate it (one call shared by the caller's
   * concurrent requests, waiting as long as the request may), then sends, trying again while the new endpoint has not
   * reached the gateway's routing table (the registry watch lags serving's registration by a few ms). Waiting costs
   * timers and promises, no CPU.
   */
  private async hold<T>(key: string, name: string, dep: Deployment, call: EdgeCall, stopped: Stopped, send: () => Promise<T>): Promise<T> {
    const n = this.held.get(name) ?? 0;
    if (n >= this.o.maxHeldPerModel) {
      throw new RetryLaterError(Code.ResourceExhausted, `model ${quoted(name)} is starting and already holds ${n} requests for it: try again in a moment`, RETRY_LATER_MS);
    }
    this.held.set(name, n + 1);
    const clock = this.o.clock;
    const deadlineAt = stopped.deadlineAt;
    const holdUntil = Math.min(deadlineAt ?? Infinity, clock.now() + this.o.maxHoldMs);
    let last = dep;
    let delay = this.o.retryMinMs;
    let activatedAt: number | undefined;
    try {
      for (;;) {
        const left = holdUntil - clock.now();
        if (left <= 0) throw this.notReady(name, last, deadlineAt !== undefined && clock.now() >= deadlineAt);
        if (activatedAt === undefined || clock.now() - activatedAt >= this.o.reactivateAfterMs) {
          const r = await abortable(this.activate(key, name, call.identity, left), call.signal, stopped);
          if (r.deployment) last = r.deployment;
          if (r.ready) {
            activatedAt = clock.now();
            delay = this.o.retryMinMs;
          } else {
            await sleep(clock, Math.min(delay, left), call.signal, stopped);
            delay = Math.min(delay * 2, this.o.retryMaxMs);
            continue;
          }
        }
        try {
          return await send();
        } catch (err) {
          if (!noEndpoint(err)) throw err;
        }
        await sleep(clock, Math.min(delay, Math.max(0, holdUntil - clock.now())), call.signal, stopped);
        delay = Math.min(delay * 2, this.o.retryMaxMs);
      }
    } finally {
      const left = (this.held.get(name) ?? 1) - 1;
      if (left > 0) this.held.set(name, left);
      else this.held.delete(name);
    }
  }

  /** ActivateDeployment as the caller, waiting up to `waitMs`; one call at a time per caller and model. */
  private activate(key: string, name: string, user: Identity, waitMs: number): Promise<ActivateDeploymentResponse> {
    const pending = this.activations.get(key);
    if (pending) return pending;
    const wait = Math.max(0, Math.floor(Math.min(waitMs, this.o.maxHoldMs)));
    const p = this.o.serving.activateDeployment({ name, waitMs: BigInt(wait) }, { user, timeoutMs: wait + ACTIVATE_SLACK_MS }).then(
      (r) => {
        this.activations.delete(key);
        if (r.deployment) this.deployments.set(key, r.deployment);
        return r;
      },
      (err: unknown) => {
        this.activations.delete(key);
        throw asModelError(err, name);
      },
    );
    this.activations.set(key, p);
    return p;
  }

  private notReady(name: string, dep: Deployment, deadlinePassed: boolean): SwitchyardError {
    const why = dep.message || dep.state || "no replica is ready";
    if (deadlinePassed) return new SwitchyardError(Code.DeadlineExceeded, `model ${quoted(name)} had no ready replica before the call's deadline (${why})`);
    this.o.logger.info({ model: name, state: dep.state }, "request held for a starting model timed out");
    return new RetryLaterError(Code.Unavailable, `model ${quoted(name)} has no ready replica after ${Math.round(this.o.maxHoldMs / 1000)} s (${why}): try again later`, RETRY_LATER_MS);
  }
}

/** The error that ends a wait when the caller stops, and the caller's deadline (absolute, on the edge's clock). */
type Stopped = (() => SwitchyardError) & { readonly deadlineAt: number | undefined };

/** `p`, or the caller's stop (cancel, deadline) first; `p` is still awaited by others and its outcome handled. */
function abortable<T>(p: Promise<T>, signal: AbortSignal, stopped: () => SwitchyardError): Promise<T> {
  if (signal.aborted) return Promise.reject(stopped());
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(stopped());
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => (signal.removeEventListener("abort", onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener("abort", onAbort), reject(e)),
    );
  });
}

function sleep(clock: Clock, ms: number, signal: AbortSignal, stopped: () => SwitchyardError): Promise<void> {
  if (signal.aborted) return Promise.reject(stopped());
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clock.clearTimeout(t);
      reject(stopped());
    };
    const t = clock.setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    signal.addEventListener("abort", onAbort, { once: true });
  });
}
