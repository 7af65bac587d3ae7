import { createServer as createHttp2Server, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from "node:net";
import { Duplex } from "node:stream";

export type EdgeHandler = (req: IncomingMessage | Http2ServerRequest, res: ServerResponse | Http2ServerResponse) => void;

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

/**
 * A Duplex over a socket that first replays the bytes already read from it. Node's http2 (and http) servers read a
 * net.Socket's native handle directly, so bytes read to sniff the protocol and `unshift`ed back would be lost to them.
 */
class ReplaySocket extends Duplex {
  constructor(private readonly socket: Socket, first: Buffer) {
    super({ allowHalfOpen: false });
    this.push(first);
    socket.on("data", (d: Buffer) => {
      if (!this.push(d)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("close", () => this.destroy());
    socket.on("error", (e) => this.destroy(e));
  }
  get remoteAddress() {
    return this.socket.remoteAddress;
  }
  get remotePort() {
    return this.socket.remotePort;
  }
  get remoteFamily() {
    return this.socket.remoteFamily;
  }
  get localAddress() {
    return this.socket.localAddress;
  }
  get localPort() {
    return this.socket.localPort;
  }
  get encrypted() {
    return false;
  }
  setTimeout(ms: number, cb?: () => void): this {
    this.socket.setTimeout(ms, cb);
    return this;
  }
  setNoDelay(v?: boolean): this {
    this.socket.setNoDelay(v);
    return this;
  }
  setKeepAlive(enable?: boolean, delay?: number): this {
    this.socket.setKeepAlive(enable, delay);
    return this;
  }
  ref(): this {
    this.socket.ref();
    return this;
  }
  unref(): this {
    this.socket.unref();
    return this;
  }
  override _read(): void {
    this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    cb(err);
  }
}

export interface EdgeServer {
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * One port for everyone: cleartext HTTP/2 (gRPC clients, `curl --http2-prior-knowledge`) and HTTP/1.1 (curl, browsers,
 * Connect JSON, gRPC-Web, REST). The first bytes of a connection decide: the HTTP/2 preface goes to the http2 server.
 */
export function createEdgeServer(handler: EdgeHandler): EdgeServer {
  const h2 = createHttp2Server({}, handler);
  const h1 = createHttpServer({ keepAliveTimeout: 65_000 }, handler);
  const sockets = new Set<Socket>();
  const net: Server = createNetServer((socket) => {
    sockets.add(socket);
    // Responses go out as several small writes (status line and headers, then body chunks): without TCP_NODELAY,
    // Nagle's algorithm holds the later ones until the client's delayed ACK, some 40 ms per call.
    socket.setNoDelay(true);
    socket.on("close", () => sockets.delete(socket));
    socket.once("data", (first: Buffer) => {
      socket.pause();
      const isH2 = first.length >= 3 && first.subarray(0, Math.min(first.length, PREFACE.length)).equals(PREFACE.subarray(0, Math.min(first.length, PREFACE.length)));
      const wrapped = new ReplaySocket(socket, first);
      (isH2 ? h2 : h1).emit("connection", wrapped);
      socket.resume();
    });
    socket.on("error", () => socket.destroy());
  });
  return {
    listen(port, host) {
      return new Promise((resolve, reject) => {
        net.once("error", reject);
        net.listen(port, host, () => resolve((net.address() as AddressInfo).port));
      });
    },
    close() {
      return new Promise((resolve) => {
        for (const s of sockets) s.destroy();
        h1.close();
        h2.close();
        net.close(() => resolve());
      });
    },
  };
}
