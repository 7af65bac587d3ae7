import type { Span } from "@opentelemetry/api";
import { Code, SwitchyardError } from "@switchyard/core";
import type { Cluster } from "./cluster.js";
import type { DestinationState } from "./destination.js";
import type { Endpoint } from "./endpoint.js";
import type { RouteAction } from "./router.js";
import type { MeshRuntime } from "./runtime.js";
import { newRefusal, retryAfterMs, wasNotExecuted } from "./status.js";
import type { CallOptions } from "./types.js";

/**
 * The shapes of the client's call chain (client-chain.ts): a call, the result of a call or of one attempt of it, and
 * the policies between them. A policy is `(next) => (call) => result`, as connect-es interceptors are; composed once
 * per client, the same chain carries unary and server-streaming calls.
 */

/** A method as the call layer needs it, computed once per client. */
export interface MethodInfo {
  readonly path: string;
  readonly service: string;
  readonly name: string;
  readonly type: "unary" | "server_stream";
  /** The proto marks it NO_SIDE_EFFECTS or IDEMPOTENT: it may be retried after it may have run. */
  readonly idempotent: boolean;
  readonly serialize: (m: unknown) => Buffer;
  readonly deserialize: (b: Buffer) => unknown;
}

export type Fallback = (request: unknown, error: SwitchyardError) => unknown;

/** An answer. A stream's messages went to its relay as they came, so its `value` is undefined. */
export interface Ok {
  readonly kind: "ok";
  readonly value: unknown;
  /** The endpoint that answered (undefined for a fallback's answer). */
  readonly endpoint: Endpoint | undefined;
}

/** A failure of one attempt, or of the whole call. */
export interface Failure {
  readonly kind: "error";
  readonly error: SwitchyardError;
  /** The endpoint the attempt went to; undefined when this client refused it before picking one. */
  readonly endpoint: Endpoint | undefined;
  /** Never retried: refused by this client, or failed after a stream had delivered messages (it is committed then). */
  readonly final: boolean;
  /** Surely did not run: refused before it was sent, refused by the server's admission control, or failed fast on a channel already in TRANSIENT_FAILURE. */
  readonly notExecuted: boolean;
  /** The transport failed (connect failure, reset) with no status from the server. */
  readonly transport: boolean;
  /** How long the server (or this client's bulkhead or throttle) asks callers to wait before trying again. */
  readonly pushbackMs: number | undefined;
}

export type Result = Ok | Failure;

export type Handler = (call: Call) => Result | Promise<Result>;
/** One concern of the call path. It returns `next(call)` untouched where it has nothing to do. */
export type Policy = (next: Handler) => Handler;

export function compose(policies: readonly Policy[], terminal: Handler): Handler {
  let h = terminal;
  for (let i = policies.length - 1; i >= 0; i--) h = policies[i]!(h);
  return h;
}

export function ok(value: unknown, endpoint: Endpoint | undefined): Ok {
  return { kind: "ok", value, endpoint };
}

/** A failure that came back from an endpoint (or from sending to it). */
export function failed(error: SwitchyardError, endpoint: Endpoint | undefined, notExecuted: boolean, transport: boolean, final = false): Failure {
  return { kind: "error", error, endpoint, final, notExecuted, transport, pushbackMs: retryAfterMs(error) };
}

/** Whatever was thrown, as a final failure (a call-level error: no route, an aborted wait, a fallback that threw). */
export function failureOf(err: unknown): Failure {
  const error = SwitchyardError.from(err);
  return { kind: "error", error, endpoint: undefined, final: true, notExecuted: wasNotExecuted(error), transport: false, pushbackMs: retryAfterMs(error) };
}

/** This client's own refusal before picking an endpoint (throttle, breaker, bulkhead, no endpoint): never retried. */
export function refusal(code: Code, message: string, retryAfter?: number): Failure {
  return { kind: "error", error: newRefusal(code, message, retryAfter), endpoint: undefined, final: true, notExecuted: true, transport: false, pushbackMs: retryAfter };
}

export const codeOf = (r: Result): number => (r.kind === "ok" ? Code.OK : r.error.code);

/** What the chain needs of the client a call belongs to (client-invoker.ts). */
export interface ClientContext {
  readonly rt: MeshRuntime;
  /** The host the client was made for (`jobs` in `mesh:///jobs`). */
  readonly host: string;
  /** Unary calls' timeout when neither the caller, the route nor a parent sets one. */
  readonly defaultTimeoutMs: number | undefined;
  /** `peer` of co-hosted calls: `inproc:<service>`. */
  readonly localPeer: string;
  /** The cluster of a host the routes send calls to (throws when the client cannot find it). */
  cluster(host: string): Cluster;
}

/** The caller's side of a server stream, as the attempt that reads it sees it (client-stream.ts). */
export interface MessageRelay {
  /** Whether the caller wants another message: at once (true, or false when it stopped reading), or when it asks. */
  wanted(): boolean | Promise<boolean>;
  deliver(message: unknown): void;
}

/**
 * One call on its way through the chain: what it is (set when it is made) and what the policies decided so far.
 * Policies write only their own fields; attempts run one after the other, so nothing here is shared between two.
 */
export class Call {
  readonly rt: MeshRuntime;
  /** The route of the VirtualService that matched (undefined: the host has routes and none matched). */
  readonly action: RouteAction | undefined;
  /** Where a server stream's messages go; undefined for a unary call. */
  relay: MessageRelay | undefined = undefined;
  // observe
  startedMs = 0;
  span: Span | undefined = undefined;
  // route
  signal: AbortSignal | undefined = undefined;
  /** Absolute deadline on the runtime clock. */
  deadlineAt: number | undefined = undefined;
  /** The route's perTryTimeout: each attempt's own deadline, within the call's (unary calls only). */
  perTryMs: number | undefined = undefined;
  // destination
  host: string;
  subset = "";
  ds!: DestinationState;
  cluster!: Cluster;
  hashKey: string | undefined = undefined;
  // retry
  attempts = 0;
  /** The endpoint the previous attempt failed on, for the balancer to avoid (retryIgnorePreviousHosts). */
  avoid: Endpoint | undefined = undefined;
  // pick
  endpoint: Endpoint | undefined = undefined;
  sentAtMs = 0;
  // fallback
  /** The failure a fallback answered for (the call's metrics and span report it). */
  fallbackOf: SwitchyardError | undefined = undefined;

  constructor(
    readonly client: ClientContext,
    readonly m: MethodInfo,
    readonly request: unknown,
    readonly options: CallOptions | undefined,
    readonly headers: Record<string, string>,
    readonly fallback: Fallback | undefined,
  ) {
    this.rt = client.rt;
    this.host = client.host;
    this.action = client.rt.policies.current.route(client.host, { path: m.path, headers });
  }
}
