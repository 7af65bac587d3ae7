import { createConnectRouter, createContextValues, type ConnectRouter } from "@connectrpc/connect";
import { compressionBrotli, compressionGzip, universalRequestFromNodeRequest, universalResponseToNodeResponse } from "@connectrpc/connect-node";
import type { UniversalHandler, UniversalServerResponse } from "@connectrpc/connect/protocol";
import { noopLogger, type Logger } from "@switchyard/core";
import { authenticate, identityKey, type TokenVerifier } from "./auth.js";
import { cappedBody, declaredLength, hasBody, closeUnread, refuse, respecGrpcMessage, wireOf, type EdgeRequest, type EdgeResponse, type Wire } from "./edge-guard.js";
import { BodyTooLargeError, publicError, toSwitchyardError } from "./http-errors.js";

export interface ConnectEdgeOptions {
  routes(router: ConnectRouter): void;
  verifier: TokenVerifier;
  /**
   * Largest request body (EdgeLimits.maxBodyBytes), and of a message's declared length; also Connect's own limit on a
   * decompressed message (a compressed body that inflates past it gets Connect's RESOURCE_EXHAUSTED, 429 on Connect).
   */
  maxBodyBytes: number;
  logger?: Logger;
  /** Called with the client's address when a request fails authentication (AuthFailureBudget). */
  onAuthFailure?: (address: string) => void;
}

/** Serves a request if its path is a Connect/gRPC/gRPC-Web method; false when it is not one (REST, /healthz, …). */
export type ConnectEdge = (req: EdgeRequest, res: EdgeResponse) => boolean;

/**
 * The Connect router behind the edge's guard (in place of connectNodeAdapter, which reads and parses the whole body
 * before any interceptor could look at the token): the caller is authenticated from the headers first, a refusal is
 * written in the caller's protocol without reading the body, the body is counted as it arrives and cut at the limit,
 * and gRPC status messages are re-encoded as the gRPC spec says (respecGrpcMessage).
 */
export function createConnectEdge(o: ConnectEdgeOptions): ConnectEdge {
  const log = o.logger ?? noopLogger;
  const router = createConnectRouter({ readMaxBytes: o.maxBodyBytes, acceptCompression: [compressionGzip, compressionBrotli] });
  o.routes(router);
  const paths = new Map<string, UniversalHandler>();
  for (const h of router.handlers) paths.set(h.requestPath, h);

  async function serve(handler: UniversalHandler, req: EdgeRequest, res: EdgeResponse, wire: Wire): Promise<void> {
    let identity;
    try {
      const pending = authenticate(o.verifier, req.headers["authorization"]);
      identity = pending instanceof Promise ? await pending : pending;
    } catch (err) {
      o.onAuthFailure?.(req.socket?.remoteAddress ?? "");
      return refuse(req, res, wire, publicError(err, log));
    }
    if ((declaredLength(req) ?? 0) > o.maxBodyBytes) return refuse(req, res, wire, new BodyTooLargeError(o.maxBodyBytes));
    let refused = false;
    let consumed = !hasBody(req);
    const body = (async function* () {
      try {
        yield* cappedBody(req, o.maxBodyBytes, wire !== "connect");
        consumed = true;
      } catch (err) {
        if (err instanceof BodyTooLargeError) {
          refused = true;
          refuse(req, res, wire, err);
        }
        throw err;
      }
    })();
    const uReq = { ...universalRequestFromNodeRequest(req, res, undefined, createContextValues().set(identityKey, identity)), body };
    const uRes = await handler(uReq);
    if (refused || res.headersSent) {
      await uRes.body?.[Symbol.asyncIterator]().return?.();
      return;
    }
    // Answered without reading the body (an unsupported content type, say): do not read it afterwards either.
    if (!consumed && hasBody(req)) closeUnread(req, res);
    await universalResponseToNodeResponse(wire === "grpc" || wire === "grpc-web" ? respecGrpc(uRes, wire) : await respecConnect(uRes), res);
  }

  return (req, res) => {
    const handler = paths.get((req.url ?? "").split("?", 1)[0]!);
    if (handler === undefined) return false;
    const wire = wireOf(req, false);
    serve(handler, req, res, wire).catch((err: unknown) => {
      const e = toSwitchyardError(err);
      // A client that went away mid-response is not an error of ours.
      if (res.destroyed || res.writableEnded) return log.debug({ err: e.message }, "connect response ended early");
      refuse(req, res, wire, publicError(err, log));
    });
    return true;
  };
}

/**
 * connect-node reports a request it cannot decode (bytes that are no protobuf message, invalid UTF-8 in a string
 * field, JSON of the wrong shape) as INTERNAL: the caller's mistake, answered as the server's. Such errors are the
 * caller's: INVALID_ARGUMENT (400), as the Connect and gRPC specs say for a malformed request.
 */
const UNDECODABLE = /^(parse (binary|json|base64)|cannot decode|invalid (base64|utf-?8)|received compressed envelope|protocol error)/i;

/** A Connect error answer (JSON `{code, message}`) of an undecodable request, turned from internal to invalid_argument. */
async function respecConnect(uRes: UniversalServerResponse): Promise<UniversalServerResponse> {
  if (uRes.status !== 500 || uRes.body === undefined) return uRes;
  uRes.header?.delete("content-length");
  const chunks: Uint8Array[] = [];
  if (uRes.body instanceof Uint8Array) chunks.push(uRes.body);
  else for await (const c of uRes.body) chunks.push(c);
  const bytes = Buffer.concat(chunks);
  try {
    const err = JSON.parse(bytes.toString("utf8")) as { code?: string; message?: string };
    if (err.code === "internal" && UNDECODABLE.test(err.message ?? "")) {
      return { ...uRes, status: 400, body: once(Buffer.from(JSON.stringify({ ...err, code: "invalid_argument", message: `the request could not be decoded: ${err.message}` }))) };
    }
  } catch {
    /* not a JSON error body: leave it */
  }
  return { ...uRes, body: once(bytes) };
}

async function* once(bytes: Uint8Array): AsyncIterable<Uint8Array> {
  yield bytes;
}

/** gRPC status messages re-encoded (in trailers, or in gRPC-Web's trailer frame) once the body has been sent. */
function respecGrpc(uRes: UniversalServerResponse, wire: "grpc" | "grpc-web"): UniversalServerResponse {
  const fix = (h: Headers | undefined) => {
    const m = h?.get("grpc-message");
    if (m === null || m === undefined) return;
    if (h!.get("grpc-status") === "13" && UNDECODABLE.test(decodeURIComponentSafe(m))) h!.set("grpc-status", "3");
    h!.set("grpc-message", respecGrpcMessage(m));
  };
  fix(uRes.header);
  const body = uRes.body;
  if (body === undefined) return (fix(uRes.trailer), uRes);
  return {
    ...uRes,
    body: (async function* () {
      for await (const chunk of body) yield wire === "grpc-web" ? respecTrailerFrame(chunk) : chunk;
      fix(uRes.trailer);
    })(),
  };
}

/** A gRPC-Web trailer frame (flags 0x80, uncompressed) with its grpc-message re-encoded; other frames as they are. */
function respecTrailerFrame(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 5 || chunk[0] !== 0x80) return chunk;
  const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
  if (buf.readUInt32BE(1) !== buf.length - 5) return chunk;
  const lines = buf.subarray(5).toString("latin1").split("\r\n");
  const message = lines.find((l) => /^grpc-message:/i.test(l));
  const undecodable = message !== undefined && UNDECODABLE.test(decodeURIComponentSafe(message.slice(message.indexOf(":") + 1).trim()));
  const fixed = lines
    .map((l) => (/^grpc-message:/i.test(l) ? `grpc-message: ${respecGrpcMessage(l.slice(l.indexOf(":") + 1).trim())}` : undecodable && /^grpc-status:\s*13$/i.test(l) ? "grpc-status: 3" : l))
    .join("\r\n");
  const text = Buffer.from(fixed, "latin1");
  const head = Buffer.alloc(5);
  head[0] = 0x80;
  head.writeUInt32BE(text.length, 1);
  return Buffer.concat([head, text]);
}

function decodeURIComponentSafe(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}
