import type { IncomingMessage, ServerResponse } from "node:http";
import { constants as h2constants, type Http2ServerRequest, type Http2ServerResponse } from "node:http2";
import { Code, type SwitchyardError } from "@switchyard/core";
import { BodyTooLargeError, CODE_NAMES, errorBody, httpStatusOfError } from "./http-errors.js";
import { lingerMsOf } from "./edge-server.js";
import { stopReading } from "./replay-socket.js";

// What every protocol at the edge shares before a handler runs: which protocol a request speaks, refusing it in that
// protocol without reading its body, and reading a body no further than the limit.

export type EdgeRequest = IncomingMessage | Http2ServerRequest;
export type EdgeResponse = ServerResponse | Http2ServerResponse;

/** The protocol of a request, from its content type: how a refusal must be written for its client to read it. */
export type Wire = "grpc" | "grpc-web" | "connect-stream" | "connect" | "rest";

export function wireOf(req: EdgeRequest, rest: boolean): Wire {
  const type = (req.headers["content-type"] ?? "").toLowerCase();
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  if (type.startsWith("application/connect+")) return "connect-stream";
  return rest ? "rest" : "connect";
}

function isH2(req: EdgeRequest): req is Http2ServerRequest {
  return "stream" in req;
}

/** Whether the request has a body that has not been read (all of it, or what is left of it). */
export function hasBody(req: EdgeRequest): boolean {
  if (req.readableEnded) return false;
  if (isH2(req)) return !req.stream.endAfterHeaders;
  const length = req.headers["content-length"];
  return (length !== undefined && length !== "0") || req.headers["transfer-encoding"] !== undefined;
}

/** The body length a request declares, if it does. */
export function declaredLength(req: EdgeRequest): number | undefined {
  const length = req.headers["content-length"];
  if (length === undefined || !/^\d+$/.test(length)) return undefined;
  return Number(length);
}

/**
 * Answers without reading the rest of the body: on HTTP/1.1 the connection closes after the answer (nothing more is
 * read from it; it is reset after the linger), on HTTP/2 the stream is reset with NO_ERROR (RFC 9113 §8.1: stop
 * sending) unless the client closes it first — after the linger, so that a client still writing reads the answer
 * rather than a reset (nothing more is read meanwhile: no flow-control credit is given). Call before the head is written.
 */
export function closeUnread(req: EdgeRequest, res: EdgeResponse): void {
  if (isH2(req)) {
    const stream = req.stream;
    stream.pause();
    const reset = () => {
      const t = setTimeout(() => stream.close(h2constants.NGHTTP2_NO_ERROR), lingerMsOf(stream.session));
      stream.once("close", () => clearTimeout(t));
    };
    // The stream's own "finish" (the compat response emits its "finish" only once the stream has closed).
    if (stream.writableFinished) reset();
    else stream.once("finish", reset);
    return;
  }
  if (!res.headersSent) res.setHeader("connection", "close");
  if (!stopReading(req.socket)) res.once("finish", () => req.socket.destroy());
}

/**
 * Percent-encodes a gRPC status message as the gRPC spec says: bytes outside 0x20–0x7E, and `%`, as %XX of the UTF-8.
 * connect-node encodes with encodeURIComponent (`:` → `%3A`), which grpc-js clients decode with decodeURI — which
 * leaves `%3A` as it is. Spec encoding reads back the same with either.
 */
export function encodeGrpcMessage(message: string): string {
  let out = "";
  for (const b of Buffer.from(message, "utf8")) out += b >= 0x20 && b <= 0x7e && b !== 0x25 ? String.fromCharCode(b) : `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  return out;
}

/** A grpc-message as connect-node wrote it, re-encoded as the spec says. */
export function respecGrpcMessage(value: string): string {
  try {
    return encodeGrpcMessage(decodeURIComponent(value));
  } catch {
    return value;
  }
}

/** A Connect streaming end-of-stream frame (flags 0b10) carrying `err`. */
function connectEndStream(err: SwitchyardError): Buffer {
  const json = Buffer.from(JSON.stringify({ error: { code: CODE_NAMES[err.code] ?? "unknown", message: err.message } }));
  const head = Buffer.alloc(5);
  head[0] = 0b10;
  head.writeUInt32BE(json.length, 1);
  return Buffer.concat([head, json]);
}

/**
 * Refuses a request in its own protocol without reading its body: gRPC and gRPC-Web get a trailers-only response
 * (HTTP 200, grpc-status in the headers), Connect streams an end-of-stream frame, Connect unary and REST
 * `{code, message, details}` with the HTTP status (401, 413, …). A body still coming is never read (closeUnread).
 */
export function refuse(req: EdgeRequest, res: EdgeResponse, wire: Wire, err: SwitchyardError): void {
  if (res.headersSent) return void res.destroy();
  if (hasBody(req)) closeUnread(req, res);
  const unauthenticated = err.code === Code.Unauthenticated;
  if (wire === "grpc" || wire === "grpc-web") {
    res.statusCode = 200;
    res.setHeader("content-type", wire === "grpc" ? "application/grpc" : "application/grpc-web+proto");
    res.setHeader("grpc-status", String(err.code));
    res.setHeader("grpc-message", encodeGrpcMessage(err.message));
    // No writeHead: ending at once sends the headers with END_STREAM, the trailers-only form gRPC clients expect.
    res.end();
    return;
  }
  if (wire === "connect-stream") {
    res.statusCode = 200;
    res.setHeader("content-type", (req.headers["content-type"] ?? "application/connect+json").split(";")[0]!);
    res.end(connectEndStream(err));
    return;
  }
  res.statusCode = httpStatusOfError(err);
  res.setHeader("content-type", "application/json");
  if (unauthenticated) res.setHeader("www-authenticate", 'Bearer realm="switchyard"');
  // Connect clients accept only their own detail form ({type, value}); field violations go to REST callers.
  const body = errorBody(err);
  res.end(JSON.stringify(wire === "rest" ? body : { ...body, details: [] }));
}

/**
 * The body as it arrives, counted: a declared or actual length over `maxBytes` throws BodyTooLargeError before the
 * chunk that crosses the limit is passed on, so no more than `maxBytes` is ever held. The request is not destroyed on
 * an early stop (its connection still has to carry the answer).
 */
export async function* cappedBody(req: EdgeRequest, maxBytes: number, enveloped = false): AsyncGenerator<Uint8Array> {
  if ((declaredLength(req) ?? 0) > maxBytes) throw new BodyTooLargeError(maxBytes);
  let n = 0;
  let head: Buffer | undefined = enveloped ? Buffer.alloc(0) : undefined;
  for await (const chunk of req.iterator({ destroyOnReturn: false }) as AsyncIterable<Buffer>) {
    n += chunk.length;
    if (n > maxBytes) throw new BodyTooLargeError(maxBytes);
    if (head !== undefined) {
      // gRPC, gRPC-Web and Connect streams declare a message's length in its 5-byte prefix: one over the limit is
      // refused before the message is read (an uncompressed one; a compressed one is bounded after decompression).
      head = Buffer.concat([head, chunk]);
      if (head.length < 5) continue;
      if ((head[0]! & 1) === 0 && head.readUInt32BE(1) > maxBytes) throw new BodyTooLargeError(maxBytes);
      yield head;
      head = undefined;
      continue;
    }
    yield chunk;
  }
  if (head !== undefined && head.length > 0) yield head;
}

/** The whole body, at most `maxBytes` of it (else BodyTooLargeError). */
export async function readCappedBody(req: EdgeRequest, maxBytes: number): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of cappedBody(req, maxBytes)) chunks.push(chunk);
  return Buffer.concat(chunks);
}
