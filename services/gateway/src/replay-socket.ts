import type { Socket } from "node:net";
import { Duplex } from "node:stream";

/**
 * A Duplex over a socket that first replays the bytes already read from it. Node's http2 (and http) servers read a
 * net.Socket's native handle directly, so bytes read to sniff the protocol and `unshift`ed back would be lost to them.
 *
 * Also what the HTTP/1.1 server needs of a socket that it would otherwise miss: the socket's `timeout` event (the
 * keep-alive timeout), a bounded half-close (`end()` resets the socket `lingerMs` later if the client never closes
 * its side), and `stopReading()` for a request whose body the gateway refuses to read.
 */
export class ReplaySocket extends Duplex {
  private holding = false;

  constructor(
    private readonly socket: Socket,
    first: Buffer,
    private readonly lingerMs: number,
  ) {
    super({ allowHalfOpen: false });
    this.push(first);
    socket.on("data", (d: Buffer) => {
      if (this.holding) return;
      if (!this.push(d)) socket.pause();
    });
    socket.on("end", () => this.push(null));
    socket.on("close", () => this.destroy());
    socket.on("error", (e) => this.destroy(e));
    socket.on("timeout", () => this.emit("timeout"));
  }

  /** Reads nothing more from the client (what it sends stays in the kernel's buffers until the socket closes). */
  stopReading(): void {
    this.holding = true;
    this.socket.pause();
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
    if (!this.holding) this.socket.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.socket.write(chunk, cb);
  }
  override _final(cb: (err?: Error | null) => void): void {
    this.socket.end(cb);
    // A client that keeps its side open (or keeps sending a body nobody reads) is reset after the linger.
    const t = setTimeout(() => this.socket.destroy(), this.lingerMs);
    t.unref();
    this.socket.once("close", () => clearTimeout(t));
  }
  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.socket.destroy(err ?? undefined);
    cb(err);
  }
}

/** Stops reading a connection's socket, when it is one of the edge's (see ReplaySocket.stopReading). */
export function stopReading(socket: unknown): boolean {
  if (!(socket instanceof ReplaySocket)) return false;
  socket.stopReading();
  return true;
}
