import type * as grpc from "@grpc/grpc-js";
import { Code, SwitchyardError } from "@switchyard/core";
import { Call, type ClientContext, type Fallback, type Handler, type MethodInfo, type Result } from "./client-call.js";
import { createClientChain } from "./client-chain.js";
import { StreamRelay } from "./client-stream.js";
import type { Cluster, ClusterSource } from "./cluster.js";
import type { MeshRuntime } from "./runtime.js";
import { serviceId } from "./spiffe.js";
import { USER_TOKEN_HEADER } from "./user-token.js";
import { IDENTITY_METADATA, type CallOptions } from "./types.js";

export interface InvokerOptions {
  readonly host: string;
  readonly source: ClusterSource;
  readonly channelOptions: grpc.ChannelOptions;
  readonly healthCheck: boolean;
  readonly baseHeaders: Readonly<Record<string, string>>;
  readonly defaultTimeoutMs: number | undefined;
  readonly fallbacks: Readonly<Record<string, Fallback>>;
}

const valueOf = (r: Result): unknown => {
  if (r.kind === "ok") return r.value;
  throw r.error;
};

/**
 * What a typed client calls (client.ts): the clusters of the hosts its routes send calls to, and its chain
 * (client-chain.ts), composed once and taken by every call, unary or streaming.
 */
export class Invoker implements ClientContext {
  readonly host: string;
  readonly defaultTimeoutMs: number | undefined;
  readonly localPeer: string;
  private readonly clusters = new Map<string, Cluster>();
  private readonly chain: Handler;
  /** Who user tokens are minted for: the server's SPIFFE id (`peer`, or the platform service of a mesh target). */
  private readonly audience: string | undefined;

  constructor(
    readonly rt: MeshRuntime,
    private readonly o: InvokerOptions,
  ) {
    this.host = o.host;
    this.defaultTimeoutMs = o.defaultTimeoutMs;
    this.localPeer = `inproc:${rt.serviceName ?? "client"}`;
    let audience = o.source.peer;
    if (audience === undefined && o.source.address === undefined && rt.credentials) {
      try {
        audience = serviceId(rt.credentials.trustDomain, o.host);
      } catch {
        audience = undefined;
      }
    }
    this.audience = audience;
    this.chain = createClientChain({ fallbacks: Object.keys(o.fallbacks).length > 0 });
    this.cluster(o.host);
  }

  cluster(host: string): Cluster {
    let c = this.clusters.get(host);
    if (c !== undefined) return c;
    if (host !== this.o.host && !this.o.source.registry) throw new SwitchyardError(Code.Unimplemented, `a route sends calls to "${host}", but this client has no registry to find it`);
    c = this.rt.cluster(host, host === this.o.host ? this.o.source : { registry: this.o.source.registry! }, this.o.channelOptions, this.o.healthCheck);
    this.clusters.set(host, c);
    return c;
  }

  close(): void {
    for (const c of this.clusters.values()) c.release();
    this.clusters.clear();
  }

  /** One unary call through the chain. */
  unary(m: MethodInfo, req: unknown, o: CallOptions | undefined): Promise<unknown> {
    const r = this.chain(this.newCall(m, req, o));
    if (r instanceof Promise) return r.then(valueOf);
    return r.kind === "ok" ? Promise.resolve(r.value) : Promise.reject(r.error);
  }

  /**
   * One server-streaming call through the same chain, started by the first `next()`. Streams get no default timeout:
   * only the caller's, the route's or the parent's; and no perTryTimeout (an attempt lasts as long as its stream).
   */
  stream(m: MethodInfo, req: unknown, o: CallOptions | undefined): AsyncIterable<unknown> {
    return new StreamRelay(this.chain, this.newCall(m, req, o));
  }

  private newCall(m: MethodInfo, req: unknown, o: CallOptions | undefined): Call {
    return new Call(this, m, req, o, this.headersFor(o), this.o.fallbacks[m.name]);
  }

  private headersFor(o: CallOptions | undefined): Record<string, string> {
    const h: Record<string, string> = { ...this.o.baseHeaders };
    if (o?.parent) for (const k of IDENTITY_METADATA) if (o.parent.metadata[k] !== undefined) h[k] = o.parent.metadata[k];
    if (o?.metadata) for (const k in o.metadata) h[k.toLowerCase()] = o.metadata[k]!;
    const user = o?.user ?? o?.parent?.user;
    if (user !== undefined) {
      const minter = this.rt.userTokens;
      if (minter === undefined) {
        const [u, teams, role] = IDENTITY_METADATA;
        Object.assign(h, { [u]: user.user, [teams]: user.teams.join(","), [role]: user.role });
      } else {
        if (this.audience === undefined) throw new SwitchyardError(Code.FailedPrecondition, `a call for a user to ${this.o.host} needs the server's identity (the client's \`peer\`) to mint the user token for`);
        // A user passed on from the call being handled (`parent`) goes with the token this workload received for
        // them: the callee then sees the gateway's proof that the user is calling now (user-token.ts, on behalf of).
        const received = o?.user === undefined ? o?.parent?.user : undefined;
        const proof = received !== undefined && received.onBehalfOf === undefined && received.delegation === undefined ? received.token : undefined;
        h[USER_TOKEN_HEADER] = minter.token(user, this.audience, undefined, proof);
      }
    }
    return h;
  }
}
