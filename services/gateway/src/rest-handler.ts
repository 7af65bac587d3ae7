import { create, type Message } from "@bufbuild/protobuf";
import { Code, SwitchyardError, noopLogger, type Logger } from "@switchyard/core";
import { authenticate, type TokenVerifier } from "./auth.js";
import type { EdgeCall, EdgeService, StreamHandler, UnaryHandler } from "./edge-service.js";
import { closeUnread, hasBody, readCappedBody, type EdgeRequest, type EdgeResponse } from "./edge-guard.js";
import { DEFAULT_EDGE_LIMITS } from "./edge-limits.js";
import { errorBody, httpStatusOfError, publicError, retryAfterHeader } from "./http-errors.js";
import type { HttpRoute, RouteTable } from "./http-rule.js";
import { ALT_PARAM, invalid, responseJson, transcodeRequest } from "./rest-transcode.js";
import { chooseStreamForm, StreamForms, TEXT_STREAMS, type StreamEncoder } from "./rest-stream.js";

type Req = EdgeRequest;
type Res = EdgeResponse;

/** What a streamed answer is written through, HTTP/1.1 or HTTP/2 alike. */
interface StreamSink {
  readonly writableEnded: boolean;
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string | Uint8Array): boolean;
  end(chunk: string | Uint8Array): unknown;
  end(): unknown;
  once(event: "drain", fn: () => void): unknown;
}

export interface RestHandlerOptions {
  table: RouteTable;
  services: readonly EdgeService[];
  verifier: TokenVerifier;
  /** Largest request body accepted (default EdgeLimits.maxBodyBytes, 4 MiB). */
  maxBodyBytes?: number;
  /** Comment lines sent on idle server-sent-event streams, so proxies keep them open (default 15 s). */
  keepAliveMs?: number;
  /** The streams' REST forms (default: from TEXT_STREAMS over the table's routes). */
  streamForms?: StreamForms;
  logger?: Logger;
  /** Called with the client's address when a request fails authentication (AuthFailureBudget). */
  onAuthFailure?: (address: string) => void;
}

/**
 * Writes `err` as `{code, message, details}` (with `Retry-After` when it asks the caller to wait); a request body not
 * read (or not all of it) is never read afterwards.
 */
export function writeError(req: Req, res: Res, err: SwitchyardError, extraHeaders: Record<string, string> = {}): void {
  if (hasBody(req)) closeUnread(req, res);
  const headers: Record<string, string> = { "content-type": "application/json", ...retryAfterHeader(err), ...extraHeaders };
  if (err.code === Code.Unauthenticated) headers["www-authenticate"] = 'Bearer realm="switchyard"';
  res.writeHead(httpStatusOfError(err), headers);
  res.end(JSON.stringify(errorBody(err)));
}

/**
 * REST at the edge, transcoded generically from the services' `google.api.http` annotations: match the route,
 * authenticate, build the request message from path, query and body, call the same handler Connect and gRPC callers
 * reach, and answer in proto3 JSON — unary as one object, server streams in the form `alt` or the Accept header
 * chooses (rest-stream.ts: server-sent events, a JSON array, raw bytes; lines of text for a stream of text). Errors are
 * `{code, message, details}` with the gRPC code mapped to the HTTP status.
 */
export function createRestHandler(o: RestHandlerOptions): (req: Req, res: Res) => Promise<void> {
  const maxBodyBytes = o.maxBodyBytes ?? DEFAULT_EDGE_LIMITS.maxBodyBytes;
  const keepAliveMs = o.keepAliveMs ?? 15_000;
  const log = o.logger ?? noopLogger;
  const streamForms = o.streamForms ?? new StreamForms(o.table.all(), TEXT_STREAMS);
  const handlers = new Map<string, UnaryHandler | StreamHandler>();
  for (const s of o.services) for (const [name, h] of s.handlers) handlers.set(`${s.service.typeName}/${name}`, h);

  return async (req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const rawPath = q >= 0 ? url.slice(0, q) : url;
    const query = new URLSearchParams(q >= 0 ? url.slice(q + 1) : "");
    const method = (req.method ?? "GET").toUpperCase();
    const ac = new AbortController();
    // The call is cancelled when the client goes away before the answer is written (not after: an abort builds a
    // DOMException, which is most of what a finished request's close would cost).
    res.on("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    let encoder: StreamEncoder | undefined;
    try {
      let m;
      try {
        m = o.table.match(method, rawPath);
      } catch {
        throw invalid([{ field: "path", message: "has malformed percent-encoding", got: JSON.stringify(rawPath.slice(0, 200)), hint: "encode reserved characters as %XX" }]);
      }
      if (!("route" in m)) {
        const where = `${method} ${rawPath.slice(0, 200)}`;
        if (m.allowed.length > 0) {
          writeError(req, res, new SwitchyardError(Code.NotFound, `no route for ${where}: this path takes ${m.allowed.join(", ")} (see /openapi.json)`), { allow: m.allowed.join(", ") });
        } else writeError(req, res, new SwitchyardError(Code.NotFound, `no route for ${where}: the routes are listed in /openapi.json`));
        return;
      }
      const { route, vars } = m;
      const handler = handlers.get(`${route.service.typeName}/${route.method.localName}`);
      if (!handler) throw new SwitchyardError(Code.NotFound, `${route.service.typeName}.${route.method.name} is not served by this gateway`);
      // The token before anything else of the request (its query, its body): a caller without one learns nothing more.
      const idPromise = authenticate(o.verifier, req.headers["authorization"]);
      const identity = idPromise instanceof Promise ? await idPromise : idPromise;
      const forms = streamForms.of(route);
      const alt = query.get(ALT_PARAM);
      if (forms) encoder = chooseStreamForm(route, forms, alt, req.headers["accept"]).open();
      else if (alt !== null && alt !== "json") throw invalid([{ field: ALT_PARAM, message: `${route.method.name} answers once, as JSON`, expected: "json", got: JSON.stringify(alt), hint: "remove ?alt=" }]);
      const body = route.body !== "" || hasBody(req) ? await readCappedBody(req, maxBodyBytes) : Buffer.alloc(0);
      const message = transcodeRequest(route, vars, query, body, req.headers["content-type"] as string | undefined);
      const call: EdgeCall = { identity, signal: ac.signal, timeoutMs: undefined };
      if (!encoder) {
        const out = await (handler as UnaryHandler)(message, call);
        const msg = create(route.method.output, out as never) as Message;
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify(responseJson(route, route.method.output, msg)));
        return;
      }
      await stream(route, (handler as StreamHandler)(message, call), res, encoder, keepAliveMs, ac.signal);
    } catch (err) {
      const e = publicError(err, log, { path: rawPath });
      if (e.code === Code.Unauthenticated) o.onAuthFailure?.(req.socket?.remoteAddress ?? "");
      if (!res.headersSent) {
        writeError(req, res, e);
      } else if (!res.writableEnded) {
        // A stream under way ends with its form's error (an `event: error`), or is cut short so its client sees it
        // incomplete (raw bytes, text, a JSON array).
        const tail = encoder?.error(errorBody(e));
        if (tail !== undefined) res.end(tail);
        else res.destroy();
      }
    }
  };
}

/** Writes a server stream: waits for the first message before the status line, so early errors get their HTTP status. */
async function stream(route: HttpRoute, source: AsyncIterable<unknown>, res: StreamSink, encoder: StreamEncoder, keepAliveMs: number, signal: AbortSignal): Promise<void> {
  const it = source[Symbol.asyncIterator]();
  const first = await it.next();
  res.writeHead(200, { ...encoder.headers });
  const keepAlive = encoder.keepAlive !== undefined ? setInterval(() => res.write(encoder.keepAlive!), keepAliveMs) : undefined;
  keepAlive?.unref();
  try {
    for (let r = first; !r.done; r = await it.next()) {
      if (signal.aborted) break;
      const chunk = encoder.message(create(route.method.output, r.value as never) as Message);
      if (chunk.length > 0 && !res.write(chunk)) await drained(res, signal);
    }
    if (signal.aborted) return;
    const last = encoder.end();
    if (last.length > 0) res.end(last);
    else res.end();
  } finally {
    if (keepAlive) clearInterval(keepAlive);
    if (signal.aborted) await it.return?.();
  }
}

/** Resolves when the client has taken what was written (or has gone). */
function drained(res: StreamSink, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve) => {
    if (signal.aborted) return resolve();
    const done = (): void => {
      signal.removeEventListener("abort", done);
      resolve();
    };
    res.once("drain", done);
    signal.addEventListener("abort", done, { once: true });
  });
}
