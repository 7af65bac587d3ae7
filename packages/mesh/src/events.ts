/**
 * Typed events the mesh's policies emit. Metrics (metrics.ts), logs and tests subscribe; policy code never imports them.
 * `emit` is a plain loop over an array, and callers check `has(type)` before building an event object, so a process
 * without subscribers pays nothing for them on the hot path.
 */

/** How a call ended from the mesh's point of view: `code` is the gRPC status code (0 = OK). */
export interface ClientCallEvent {
  /** The mesh host called (the service name in `mesh:///jobs`, or `host:port` for a direct target). */
  readonly destination: string;
  /** The subset the route chose ("" = none). */
  readonly subset: string;
  /** Fully qualified proto service and method name, e.g. `switchyard.v1.Jobs` and `GetJob`. */
  readonly service: string;
  readonly method: string;
  readonly type: "unary" | "server_stream";
  readonly code: number;
  readonly durationMs: number;
  /** Attempts made (1 = no retry). */
  readonly attempts: number;
  /** Whether the answer came from a fallback after the call failed. */
  readonly fallback: boolean;
}

export interface ServerCallEvent {
  /** The server's mesh name (`jobs`). */
  readonly server: string;
  readonly service: string;
  readonly method: string;
  readonly type: "unary" | "server_stream";
  readonly code: number;
  readonly durationMs: number;
  /** The caller's identity as the rate limiter keys it (`user:alice`, `service:gateway`, `anonymous`). */
  readonly caller: string;
}

export type RejectReason = "bulkhead" | "rate_limit" | "circuit_open" | "no_endpoint" | "throttled";

export interface RejectEvent {
  readonly side: "client" | "server";
  readonly destination: string;
  readonly service: string;
  readonly method: string;
  readonly reason: RejectReason;
}

export interface RetryEvent {
  readonly destination: string;
  readonly service: string;
  readonly method: string;
  /** The attempt about to be made (2 = first retry). */
  readonly attempt: number;
  readonly code: number;
  readonly backoffMs: number;
}

export interface RetryDeniedEvent {
  readonly destination: string;
  readonly service: string;
  readonly method: string;
  readonly reason: "budget" | "max_retries" | "not_idempotent";
}

export type EndpointState = "serving" | "not_serving" | "ejected" | "unreachable" | "removed";

export interface EndpointStateEvent {
  readonly destination: string;
  readonly endpoint: string;
  readonly state: EndpointState;
}

export interface EjectEvent {
  readonly destination: string;
  readonly endpoint: string;
  readonly ejectionMs: number;
  /** How many times in a row this endpoint has been ejected (the multiplier of the base ejection time). */
  readonly times: number;
}

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerStateEvent {
  readonly destination: string;
  readonly subset: string;
  readonly from: BreakerState;
  readonly to: BreakerState;
}

export interface FaultEvent {
  readonly destination: string;
  readonly service: string;
  readonly method: string;
  readonly kind: "delay" | "abort";
}

export interface PolicyAppliedEvent {
  readonly revision: number;
  readonly documents: readonly { readonly name: string; readonly revision: number }[];
}

export interface PolicyRejectedEvent {
  /** The document that failed to parse or compile; the previous good policies stay in force. */
  readonly document: string;
  readonly revision: number;
  readonly error: Error;
}

/** An AuthorizationPolicy refused a call, or an AUDIT policy matched one (server side). */
export interface AuthorizationEvent {
  readonly server: string;
  readonly method: string;
  /** The caller's SPIFFE id, if it had a certificate. */
  readonly principal: string | undefined;
  readonly user: string | undefined;
  readonly allowed: boolean;
  /** The policy that refused the call (namespace/name), when refused. */
  readonly policy: string | undefined;
  /** The AUDIT policy that matched, if any. */
  readonly audit: string | undefined;
}

export interface MeshEventMap {
  authorization: AuthorizationEvent;
  clientCall: ClientCallEvent;
  serverCall: ServerCallEvent;
  reject: RejectEvent;
  retry: RetryEvent;
  retryDenied: RetryDeniedEvent;
  endpointState: EndpointStateEvent;
  eject: EjectEvent;
  breakerState: BreakerStateEvent;
  fault: FaultEvent;
  fallback: ClientCallEvent;
  policyApplied: PolicyAppliedEvent;
  policyRejected: PolicyRejectedEvent;
}

export type MeshEventListener<K extends keyof MeshEventMap> = (event: MeshEventMap[K]) => void;

/** A small synchronous event bus. Listeners must not throw: one that does is isolated from the call and reported once
 * as a process warning. */
export class MeshEvents {
  private readonly listeners: { [K in keyof MeshEventMap]?: MeshEventListener<K>[] } = {};
  private warned = false;

  on<K extends keyof MeshEventMap>(type: K, listener: MeshEventListener<K>): () => void {
    const list = (this.listeners[type] ??= []) as MeshEventListener<K>[];
    list.push(listener);
    return () => {
      const i = list.indexOf(listener);
      if (i >= 0) list.splice(i, 1);
    };
  }

  has(type: keyof MeshEventMap): boolean {
    const list = this.listeners[type];
    return list !== undefined && list.length > 0;
  }

  emit<K extends keyof MeshEventMap>(type: K, event: MeshEventMap[K]): void {
    const list = this.listeners[type] as MeshEventListener<K>[] | undefined;
    if (list === undefined) return;
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(event);
      } catch (err) {
        if (!this.warned) process.emitWarning(`a mesh "${type}" event listener threw: ${String(err)}`, "MeshEventsWarning");
        this.warned = true;
      }
    }
  }
}
