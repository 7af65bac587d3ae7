import { Code, DEFAULT_TEXT_BOUNDS, SwitchyardError } from "@switchyard/core";

/**
 * What one caller may cost the edge: body sizes, how long a connection may take to say something, how many connections
 * an address may hold. Every number has a default below and an environment variable in config.ts.
 */
export interface EdgeLimits {
  /**
   * Largest request body on every protocol, counted as it arrives (never buffered past it): 413 on REST and Connect,
   * RESOURCE_EXHAUSTED on gRPC and gRPC-Web. Default 4 MiB: four times the largest manifest or policy document
   * (core's DEFAULT_TEXT_BOUNDS, 1 MiB), for JSON escaping inside a REST or Connect body and for several documents in
   * one call (ConfigCenter.PutDocuments). The mesh's own message limit (16 MiB) is above it.
   */
  maxBodyBytes: number;
  /**
   * A connection that has not sent enough to tell HTTP/1.1 from HTTP/2 (its first bytes, or a whole HTTP/2 preface)
   * by then is closed. Default 10 s: clients send their first request or preface at once.
   */
  firstByteTimeoutMs: number;
  /** HTTP/1.1: the request line and headers must arrive within this (Node's headersTimeout). Default 20 s. */
  headersTimeoutMs: number;
  /**
   * HTTP/1.1: the whole request, body included, must arrive within this (Node's requestTimeout; responses, such as
   * followed logs, are not limited). Default 60 s: a 4 MiB body at ~0.6 Mbit/s.
   */
  requestTimeoutMs: number;
  /**
   * HTTP/1.1: an idle keep-alive connection is closed after this. Default 65 s, longer than the 60 s idle timeout of
   * common proxies and load balancers, so that they close first and never reuse a connection the gateway is closing.
   */
  keepAliveTimeoutMs: number;
  /** HTTP/2: a session whose client has not sent its SETTINGS (the rest of its preface) by then is closed. Default 10 s. */
  h2SettingsTimeoutMs: number;
  /**
   * HTTP/2: a session with no open stream for this long is closed with GOAWAY (PINGs do not count as use, as gRPC's
   * MAX_CONNECTION_IDLE). gRPC clients reconnect on their next call. Default 5 min.
   */
  h2IdleTimeoutMs: number;
  /**
   * HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS per session. Default 512: above the 250 concurrent callers (200 + 50) of the
   * fault-tolerance soak, which a gRPC client may multiplex on one connection; more wait in the client, not fail.
   */
  h2MaxConcurrentStreams: number;
  /** HTTP/2 peerMaxConcurrentStreams: what the gateway assumes of a client before its SETTINGS. Default 100 (Node's). */
  h2PeerMaxConcurrentStreams: number;
  /**
   * HTTP/2 maxSessionMemory, in MiB: queued outbound frames and header tables of one session; beyond it new streams
   * are refused. Default 10 (Node's): responses are written with backpressure and stay far below it.
   */
  h2MaxSessionMemoryMb: number;
  /**
   * Largest header block: HTTP/1.1 maxHeaderSize and HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE. Default 16 KiB (Node's
   * HTTP/1.1 default): a token and trace headers take about 1 KiB.
   */
  maxHeaderBytes: number;
  /**
   * Open connections from one client address; more are closed at once. Default 512: twice the 250 concurrent callers
   * of the fault-tolerance soak (200 + 50 from one address, one connection each over HTTP/1.1), 32 times the
   * 16 of bench/gateway.ts.
   */
  maxConnectionsPerAddress: number;
  /** Open connections in all. Default 4096: eight addresses at their cap, well inside Node's raised descriptor limit. */
  maxConnections: number;
  /**
   * Failed authentications one client address may make per second (a token bucket with twice this as its burst); past
   * them its new connections are closed at once until the bucket refills, so a flood of unauthenticated requests costs
   * the gateway a closed socket each, and guessing tokens is slow. Default 20: a person or a script with a wrong token
   * fails a few times, not hundreds of times a second.
   */
  authFailuresPerSecond: number;
  /**
   * A connection the gateway closes without reading the rest of a request (refused, too large) is half-closed after
   * the answer and reset this long after, so the client reads the answer before the reset. Default 2 s.
   */
  closeLingerMs: number;
}

export const DEFAULT_EDGE_LIMITS: Readonly<EdgeLimits> = Object.freeze({
  maxBodyBytes: 4 * DEFAULT_TEXT_BOUNDS.maxBytes,
  firstByteTimeoutMs: 10_000,
  headersTimeoutMs: 20_000,
  requestTimeoutMs: 60_000,
  keepAliveTimeoutMs: 65_000,
  h2SettingsTimeoutMs: 10_000,
  h2IdleTimeoutMs: 300_000,
  h2MaxConcurrentStreams: 512,
  h2PeerMaxConcurrentStreams: 100,
  h2MaxSessionMemoryMb: 10,
  maxHeaderBytes: 16 * 1024,
  maxConnectionsPerAddress: 512,
  maxConnections: 4096,
  authFailuresPerSecond: 20,
  closeLingerMs: 2000,
});

/** Per-address budget of failed authentications (EdgeLimits.authFailuresPerSecond): a token bucket per address. */
export class AuthFailureBudget {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly now: () => number = Date.now,
  ) {}

  private bucket(raw: string): { tokens: number; at: number } {
    // `::ffff:10.0.0.1` (a dual-stack listener's view) and `10.0.0.1` are one client, whoever reports the address.
    const address = raw.startsWith("::ffff:") ? raw.slice(7) : raw;
    const now = this.now();
    let b = this.buckets.get(address);
    if (b === undefined) {
      // Bounded: when many addresses failed recently, forget the ones that have refilled.
      if (this.buckets.size > 10_000) for (const [a, x] of this.buckets) if (x.tokens + ((now - x.at) / 1000) * this.perSecond >= 2 * this.perSecond) this.buckets.delete(a);
      this.buckets.set(address, (b = { tokens: 2 * this.perSecond, at: now }));
    }
    b.tokens = Math.min(2 * this.perSecond, b.tokens + ((now - b.at) / 1000) * this.perSecond);
    b.at = now;
    return b;
  }

  /** Counts one failed authentication of `address`. */
  fail(address: string): void {
    const b = this.bucket(address);
    b.tokens = Math.max(-this.perSecond, b.tokens - 1);
  }

  /** Whether `address` has spent its budget (its new connections are refused until it refills). */
  blocked(address: string): boolean {
    if (!this.buckets.has(address)) return false;
    return this.bucket(address).tokens < 1;
  }
}

/** The limits with defaults filled in, each checked to be a positive integer (headers before the whole request). */
export function compileEdgeLimits(o: Partial<EdgeLimits> = {}): Readonly<EdgeLimits> {
  const l: EdgeLimits = { ...DEFAULT_EDGE_LIMITS };
  for (const [key, value] of Object.entries(o) as [keyof EdgeLimits, number | undefined][]) {
    if (value === undefined) continue;
    if (!(key in DEFAULT_EDGE_LIMITS)) throw new SwitchyardError(Code.InvalidArgument, `unknown edge limit "${key}": known are ${Object.keys(DEFAULT_EDGE_LIMITS).join(", ")}`);
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new SwitchyardError(Code.InvalidArgument, `edge limit ${key} must be a positive integer, not ${String(value)}`, {
        details: [{ field: key, message: "is not a positive integer", expected: "an integer > 0", got: String(value) }],
      });
    }
    l[key] = value;
  }
  if (l.headersTimeoutMs > l.requestTimeoutMs) {
    throw new SwitchyardError(Code.InvalidArgument, `edge limit headersTimeoutMs (${l.headersTimeoutMs}) must not exceed requestTimeoutMs (${l.requestTimeoutMs}): the headers are part of the request`);
  }
  return Object.freeze(l);
}

/** `4 MiB`, `16 KiB`, `100 bytes`: a size as people read it. */
export function formatBytes(n: number): string {
  if (n >= 1024 * 1024 && n % (1024 * 1024) === 0) return `${n / (1024 * 1024)} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
