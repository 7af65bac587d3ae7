import type { EndUser, VerifiedUser } from "./user-token.js";
import type { DescMessage, DescMethodServerStreaming, DescMethodUnary, DescService, MessageInitShape, MessageShape } from "@bufbuild/protobuf";

/** What a handler knows about the call it serves. */
export interface CallContext {
  /** Request metadata, lower-case keys, first value of each (binary keys omitted). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Aborted when the caller cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /** Absolute deadline in ms since the epoch, or undefined when the caller set none. */
  readonly deadlineMs: number | undefined;
  readonly method: string;
  readonly peer: string;
  /**
   * The caller's SPIFFE id as its client certificate proved it (mutual TLS), or the co-hosted caller's runtime
   * identity; undefined without one. Read by the server chain, which sets callerId/callerService from it.
   */
  readonly peerId?: string | undefined;
  /** The verified SPIFFE id of the calling workload; undefined when the server's runtime has no credentials. */
  callerId?: string;
  /**
   * The platform service that made the call (`ns/system/sa/<service>` of its certificate, credentials.ts); undefined
   * when the server's runtime has no credentials (then nothing about the caller is proven) or the caller is a workload
   * of a team. Set by the server chain before the handler runs.
   */
  callerService?: string;
  /** The end user, from a user token the server chain verified (its audience this server); undefined without one. */
  user?: VerifiedUser;
}

type UnaryHandler<I extends DescMessage, O extends DescMessage> = (req: MessageShape<I>, ctx: CallContext) => Promise<MessageInitShape<O>>;
type ServerStreamHandler<I extends DescMessage, O extends DescMessage> = (req: MessageShape<I>, ctx: CallContext) => AsyncIterable<MessageInitShape<O>>;

/** The implementation of a service: one handler per method, typed from the protobuf-es descriptor. */
export type ServiceImpl<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethodUnary<infer I, infer O>
    ? UnaryHandler<I, O>
    : S["method"][K] extends DescMethodServerStreaming<infer I, infer O>
      ? ServerStreamHandler<I, O>
      : never;
};

export interface CallOptions {
  /** Per-call timeout; the smaller of this and the parent's remaining time wins. */
  timeoutMs?: number;
  /** Extra request metadata. */
  metadata?: Record<string, string>;
  signal?: AbortSignal;
  /** The call being served, whose deadline (what remains of it) and verified user propagate downstream. */
  parent?: CallContext;
  /**
   * The end user the call is made for (the gateway's, from a verified edge token). With credentials it travels as a
   * user token (user-token.ts) minted for the callee alone; the callee believes it only from a service it lets speak
   * for users (identity.ts). Without credentials (a plaintext library mesh) it is plain metadata, believed by nobody.
   */
  user?: EndUser;
}

/** A typed client: unary methods return promises, server-streaming methods async iterables. */
export type MeshClient<S extends DescService> = {
  [K in keyof S["method"]]: S["method"][K] extends DescMethodUnary<infer I, infer O>
    ? (req: MessageInitShape<I>, options?: CallOptions) => Promise<MessageShape<O>>
    : S["method"][K] extends DescMethodServerStreaming<infer I, infer O>
      ? (req: MessageInitShape<I>, options?: CallOptions) => AsyncIterable<MessageShape<O>>
      : never;
} & { close(): void };

/**
 * Plain metadata naming a user, for meshes without credentials only (rate-limit keys, tests of the library). With
 * credentials the server chain removes these from every call: the user comes from a verified user token.
 */
export const IDENTITY_METADATA = ["x-switchyard-user", "x-switchyard-teams", "x-switchyard-role"] as const;
