import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse, type Http2Session, type ServerHttp2Session } from "node:http2";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import { createSecureContext, TLSSocket } from "node:tls";
import { noopLogger, type Logger } from "@switchyard/core";
import type { AuthFailureBudget, EdgeLimits } from "./edge-limits.js";
import { ReplaySocket } from "./replay-socket.js";

export type EdgeHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

const lingers = new WeakMap<Http2Session, number>();

/** How long a stream of this session that the gateway answered without reading may stay open (closeLingerMs). */
export function lingerMsOf(session: Http2Session | undefined): number {
  return (session && lingers.get(session)) ?? 2000;
}

/** What the edge has seen since it started: for tests, and for anyone asking what an attack cost. */
export interface EdgeStats {
  /** Connections open now. */
  open: number;
  /** Connections closed at once for their address's (or everyone's) connection cap. */
  refused: number;
  /** Connections closed for saying nothing (first bytes), or an HTTP/2 session for not sending its SETTINGS. */
  timedOut: number;
  /** Bytes read from clients' sockets, all connections together. */
  bytesRead: number;
}

export interface EdgeServer {
  listen(port: number, host: string): Promise<number>;
  stats(): EdgeStats;
  close(): Promise<void>;
}

/** `::ffff:10.0.0.1` and `10.0.0.1` are one client. */
function addressOf(socket: Socket): string {
  const a = socket.remoteAddress ?? "";
  return a.startsWith("::ffff:") ? a.slice(7) : a;
}

/**
 * One port for everyone: cleartext HTTP/2 (gRPC clients, `curl --http2-prior-knowledge`) and HTTP/1.1 (curl, browsers,
 * Connect JSON, gRPC-Web, REST). The first bytes of a connection decide: the HTTP/2 preface goes to the http2 server.
 * With `tls`, every connection is TLS first (plaintext is refused by the handshake) and the same sniffing runs on the
 * decrypted bytes.
 * Every stage has a limit (EdgeLimits): connections per address and in all, time to the first bytes, to the headers,
 * to the whole request, idle keep-alive, an HTTP/2 session's SETTINGS, its idle time, streams and memory.
 */
/** The edge's own TLS (for a gateway reachable from other machines): a certificate chain and its key, PEM. */
export interface EdgeTls {
  readonly certPem: string;
  readonly keyPem: string;
}

export function createEdgeServer(handler: EdgeHandler, limits: Readonly<EdgeLimits>, logger: Logger = noopLogger, authFailures?: AuthFailureBudget, tls?: EdgeTls): EdgeServer {
  // With TLS, the handshake comes first (ALPN offers h2 and http/1.1); the decrypted bytes are then sniffed as below.
  const secureContext = tls ? createSecureContext({ cert: tls.certPem, key: tls.keyPem, minVersion: "TLSv1.2" }) : undefined;
  const h2 = createHttp2Server(
    {
      maxSessionMemory: limits.h2MaxSessionMemoryMb,
      peerMaxConcurrentStreams: limits.h2PeerMaxConcurrentStreams,
      settings: { maxConcurrentStreams: limits.h2MaxConcurrentStreams, maxHeaderListSize: limits.maxHeaderBytes },
    },
    handler,
  );
  const h1 = createHttpServer(
    {
      keepAliveTimeout: limits.keepAliveTimeoutMs,
      headersTimeout: limits.headersTimeoutMs,
      requestTimeout: limits.requestTimeoutMs,
      maxHeaderSize: limits.maxHeaderBytes,
      // How often Node checks the two timeouts above: often enough that they hold to about a quarter.
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(limits.headersTimeoutMs / 4))),
    },
    handler,
  );
  // Node starts checking headersTimeout and requestTimeout when an http server starts listening; this one never
  // listens (connections come from the sniffing server below), so start the check as listening would.
  h1.emit("listening");
  const stats: EdgeStats = { open: 0, refused: 0, timedOut: 0, bytesRead: 0 };
  const sockets = new Set<Socket>();
  const perAddress = new Map<string, number>();
  const sessions = new Set<ServerHttp2Session>();
  let lastRefusalLogMs = 0;

  h2.on("session", (session: ServerHttp2Session) => guardSession(session));
  function guardSession(session: ServerHttp2Session): void {
    sessions.add(session);
    lingers.set(session, limits.closeLingerMs);
    const settings = setTimeout(() => ((stats.timedOut += 1), session.destroy()), limits.h2SettingsTimeoutMs);
    session.once("remoteSettings", () => clearTimeout(settings));
    let open = 0;
    let idle: NodeJS.Timeout | undefined;
    const arm = () => (idle = setTimeout(() => session.close(), limits.h2IdleTimeoutMs));
    session.on("stream", (stream) => {
      open++;
      clearTimeout(idle);
      stream.once("close", () => {
        if (--open === 0 && !session.closed) arm();
      });
    });
    arm();
    session.once("close", () => {
      clearTimeout(settings);
      clearTimeout(idle);
      sessions.delete(session);
    });
    session.on("error", () => session.destroy());
  }

  function admit(socket: Socket, address: string): boolean {
    const n = perAddress.get(address) ?? 0;
    if (authFailures?.blocked(address)) {
      // An address that keeps failing authentication: a closed socket is all it gets until its budget refills.
      stats.refused++;
      socket.destroy();
      return false;
    }
    if (n < limits.maxConnectionsPerAddress && sockets.size < limits.maxConnections) return true;
    stats.refused++;
    const now = Date.now();
    if (now - lastRefusalLogMs > 10_000) {
      lastRefusalLogMs = now;
      logger.warn({ address, open: n, total: sockets.size, maxPerAddress: limits.maxConnectionsPerAddress, max: limits.maxConnections }, "connection refused: too many open connections");
    }
    socket.destroy();
    return false;
  }

  const net: Server = createNetServer((socket) => {
    const address = addressOf(socket);
    if (!admit(socket, address)) return;
    sockets.add(socket);
    perAddress.set(address, (perAddress.get(address) ?? 0) + 1);
    stats.open = sockets.size;
    socket.on("close", () => {
      sockets.delete(socket);
      const left = (perAddress.get(address) ?? 1) - 1;
      if (left > 0) perAddress.set(address, left);
      else perAddress.delete(address);
      stats.open = sockets.size;
      stats.bytesRead += socket.bytesRead;
    });
    socket.on("error", () => socket.destroy());
    // Responses go out as several small writes (status line and headers, then body chunks): without TCP_NODELAY,
    // Nagle's algorithm holds the later ones until the client's delayed ACK, some 40 ms per call.
    socket.setNoDelay(true);
    if (secureContext === undefined) return sniff(socket);
    const secure = new TLSSocket(socket, { isServer: true, secureContext, ALPNProtocols: ["h2", "http/1.1"] });
    const handshake = setTimeout(() => ((stats.timedOut += 1), secure.destroy()), limits.firstByteTimeoutMs);
    secure.on("error", () => secure.destroy());
    secure.once("close", () => (clearTimeout(handshake), socket.destroy()));
    secure.once("secure", () => {
      clearTimeout(handshake);
      sniff(secure);
    });
  });

  /** Reads until the bytes tell HTTP/2's preface from anything else (HTTP/1.1), within firstByteTimeoutMs. */
  function sniff(socket: Socket): void {
    let head: Buffer = Buffer.alloc(0);
    const timer = setTimeout(() => ((stats.timedOut += 1), socket.destroy()), limits.firstByteTimeoutMs);
    const onData = (chunk: Buffer) => {
      head = head.length === 0 ? chunk : Buffer.concat([head, chunk]);
      const n = Math.min(head.length, PREFACE.length);
      const h2Prefix = head.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (h2Prefix && head.length < PREFACE.length) return;
      socket.off("data", onData);
      clearTimeout(timer);
      socket.pause();
      (h2Prefix ? h2 : h1).emit("connection", new ReplaySocket(socket, head, limits.closeLingerMs));
      socket.resume();
    };
    socket.on("data", onData);
    socket.once("close", () => clearTimeout(timer));
  }

  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        net.once("error", reject);
        net.listen(port, host, () => resolve((net.address() as AddressInfo).port));
      });
    },
    stats() {
      let reading = 0;
      for (const s of sockets) reading += s.bytesRead;
      return { ...stats, bytesRead: stats.bytesRead + reading };
    },
    close() {
      return new Promise((resolve) => {
        for (const s of sessions) s.destroy();
        for (const s of sockets) s.destroy();
        h1.close();
        h2.close();
        net.close(() => resolve());
      });
    },
  };
}
