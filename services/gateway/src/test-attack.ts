// Test helpers: callers that misbehave on purpose — uploads that never end, connections that say nothing — on real
// sockets, each reporting what it managed to send and what came back. Not part of the service.
import { mkdtempSync, rmSync } from "node:fs";
import { connect as h2connect, type ClientHttp2Session, type IncomingHttpHeaders } from "node:http2";
import { connect as netConnect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { DescService } from "@bufbuild/protobuf";
import { Jobs } from "@switchyard/api";
import type { Logger } from "@switchyard/core";
import type { MeshClient } from "@switchyard/mesh";
import type { EdgeLimits } from "./edge-limits.js";
import { createGateway, type Gateway } from "./gateway.js";
import type { Role } from "./identity.js";

/** A Jobs "service" in this process: the methods a test gives, called as the gateway's mesh client would be. */
export type JobsStub = Record<string, (req: unknown) => Promise<unknown> | AsyncIterable<unknown>>;

export interface LoneGateway {
  readonly gateway: Gateway;
  readonly url: string;
  readonly adminToken: string;
  token(user: string, role: Role): Promise<string>;
  close(): Promise<void>;
}

/**
 * A real gateway on a real port with Jobs answered by a stub instead of the jobs process: for tests of the edge itself
 * (limits, encodings, error mapping), where what stands behind the gateway does not matter.
 */
export async function startLoneGateway(o: { limits?: Partial<EdgeLimits>; logger?: Logger; jobs?: JobsStub; metrics?: () => Promise<string> } = {}): Promise<LoneGateway> {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-edge-"));
  const gateway = await createGateway({
    dbPath: join(dir, "gateway.db"),
    forwards: [{ service: Jobs as DescService, client: (o.jobs ?? {}) as unknown as MeshClient<DescService> }],
    adminTokenFile: join(dir, "admin-token"),
    // The uploads and floods of these tests are refused one by one on purpose; the per-address budget of failed
    // authentications is tested on its own (edge-connections.test.ts).
    limits: { authFailuresPerSecond: 1_000_000, ...(o.limits ?? {}) },
    ...(o.logger ? { logger: o.logger } : {}),
    ...(o.metrics ? { metrics: o.metrics } : {}),
  });
  const port = await gateway.listen(0, "127.0.0.1");
  return {
    gateway,
    url: `http://127.0.0.1:${port}`,
    adminToken: gateway.adminToken!,
    async token(user, role) {
      return (await gateway.authority.issue({ user, teams: ["default"], role, issuedBy: "tests" })).token;
    },
    async close() {
      await gateway.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const CHUNK = Buffer.alloc(64 * 1024, 0x61);

export interface H1Answer {
  status: number;
  headers: Record<string, string>;
  body: Buffer;
  /** Bytes of the body the client got into its socket before the answer came (or the connection closed). */
  sentBytes: number;
}

/**
 * POSTs a body of `totalBytes` over HTTP/1.1, generated 64 KiB at a time and written only as the socket takes it, until
 * the server answers or closes: what a client streaming a huge upload does. `chunked` sends no content-length.
 */
export function h1Upload(url: string, o: { path: string; headers?: Record<string, string>; totalBytes: number; chunked?: boolean; localAddress?: string }): Promise<H1Answer> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: u.hostname, port: Number(u.port), ...(o.localAddress ? { localAddress: o.localAddress } : {}) });
    let sent = 0;
    let received: Buffer = Buffer.alloc(0);
    let answered = false;
    let done = false;
    const finish = () => {
      if (done) return;
      const text = received.toString("latin1");
      const end = text.indexOf("\r\n\r\n");
      if (end < 0) return socket.destroyed ? ((done = true), reject(new Error(`closed without an answer after ${sent} bytes`))) : undefined;
      const [statusLine, ...lines] = text.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const l of lines) headers[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
      let body = received.subarray(end + 4);
      if (headers["transfer-encoding"] === "chunked") body = dechunk(body);
      const length = headers["content-length"] === undefined ? undefined : Number(headers["content-length"]);
      if (!socket.destroyed && !socket.readableEnded && (length === undefined || body.length < length)) return;
      done = true;
      socket.destroy();
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body: length === undefined ? body : body.subarray(0, length), sentBytes: sent });
    };
    socket.on("data", (d: Buffer) => {
      answered = true;
      received = Buffer.concat([received, d]);
      finish();
    });
    socket.on("end", finish);
    socket.on("close", finish);
    socket.on("error", () => undefined);
    socket.once("connect", async () => {
      const head = [`POST ${o.path} HTTP/1.1`, `host: ${u.host}`, ...Object.entries(o.headers ?? {}).map(([k, v]) => `${k}: ${v}`)];
      head.push(o.chunked ? "transfer-encoding: chunked" : `content-length: ${o.totalBytes}`);
      socket.write(`${head.join("\r\n")}\r\n\r\n`);
      while (!answered && !socket.destroyed && sent < o.totalBytes) {
        const ok = socket.write(o.chunked ? Buffer.concat([Buffer.from(`${CHUNK.length.toString(16)}\r\n`), CHUNK, Buffer.from("\r\n")]) : CHUNK);
        sent += CHUNK.length;
        if (!ok) await new Promise<void>((r) => (socket.once("drain", r), socket.once("close", r), socket.once("data", r)));
      }
    });
  });
}

function dechunk(b: Buffer): Buffer {
  const parts: Buffer[] = [];
  for (let i = 0; i < b.length; ) {
    const eol = b.indexOf("\r\n", i);
    if (eol < 0) break;
    const n = parseInt(b.subarray(i, eol).toString(), 16);
    if (!(n > 0)) break;
    parts.push(b.subarray(eol + 2, eol + 2 + n));
    i = eol + 2 + n + 2;
  }
  return Buffer.concat(parts);
}

export interface H2Answer {
  headers: IncomingHttpHeaders;
  trailers: IncomingHttpHeaders;
  body: Buffer;
  /** The RST_STREAM code the server ended the stream with (0: NO_ERROR), or -1 when it did not reset it. */
  rstCode: number;
  sentBytes: number;
}

/**
 * The same over HTTP/2 (one stream of a new session): writes until the response headers come, then reads it all.
 * `prefix` goes first (a gRPC message's 5-byte length prefix, say).
 */
export async function h2Upload(url: string, o: { path: string; headers?: Record<string, string>; totalBytes: number; prefix?: Buffer }): Promise<H2Answer> {
  const session: ClientHttp2Session = h2connect(url);
  session.on("error", () => undefined);
  try {
    return await new Promise<H2Answer>((resolve, reject) => {
      const stream = session.request({ ":method": "POST", ":path": o.path, ...(o.headers ?? {}) });
      let sent = 0;
      let headers: IncomingHttpHeaders | undefined;
      let trailers: IncomingHttpHeaders = {};
      const body: Buffer[] = [];
      stream.on("response", (h) => (headers = h));
      stream.on("trailers", (t) => (trailers = t));
      stream.on("data", (d: Buffer) => body.push(d));
      stream.on("error", () => undefined);
      // The answer is whole at "end"; a stream the server reset while this side still had data to send may not reach
      // "close" before the session goes (the reset code is known by then: the RST_STREAM came before the end).
      const settle = () => {
        if (headers === undefined) return reject(new Error(`stream closed without an answer (rst ${stream.rstCode}) after ${sent} bytes`));
        resolve({ headers, trailers, body: Buffer.concat(body), rstCode: stream.rstCode ?? -1, sentBytes: sent });
      };
      stream.on("end", settle);
      stream.on("close", settle);
      void (async () => {
        if (o.prefix) stream.write(o.prefix);
        while (headers === undefined && !stream.closed && sent < o.totalBytes) {
          const ok = stream.write(CHUNK);
          sent += CHUNK.length;
          if (!ok) await new Promise<void>((r) => (stream.once("drain", r), stream.once("close", r), stream.once("response", r)));
        }
      })();
    });
  } finally {
    session.destroy();
  }
}

/** A connection from `localAddress` that sends `bytes` (maybe nothing) and resolves when the server closes it. */
export function openConnection(url: string, localAddress: string, bytes?: string | Buffer): { socket: Socket; closed: Promise<{ received: string }> } {
  const u = new URL(url);
  const socket = netConnect({ host: u.hostname, port: Number(u.port), localAddress });
  let received = "";
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  socket.on("error", () => undefined);
  if (bytes !== undefined) socket.once("connect", () => socket.write(bytes));
  return { socket, closed: new Promise((resolve) => socket.once("close", () => resolve({ received }))) };
}

/** This process's RSS after full garbage collections (V8's gc exposed at run time, so no --expose-gc is needed). */
export function rssAfterGc(): number {
  setFlagsFromString("--expose-gc");
  const gc = runInNewContext("gc") as () => void;
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().rss;
}
