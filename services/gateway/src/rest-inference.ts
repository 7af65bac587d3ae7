import { create } from "@bufbuild/protobuf";
import { ModelInferResponseSchema, ModelMetadataRequestSchema, ModelMetadataResponseSchema, ModelReadyRequestSchema, ServerMetadataRequestSchema } from "@switchyard/api";
import { Code, SwitchyardError, noopLogger, type Logger } from "@switchyard/core";
import { protoInferResponseToRest, restInferRequestToProto, restMetadata } from "@switchyard/inference";
import { authenticate, type TokenVerifier } from "./auth.js";
import { closeUnread, hasBody, readCappedBody, type EdgeRequest, type EdgeResponse } from "./edge-guard.js";
import type { EdgeCall, EdgeService, UnaryHandler } from "./edge-service.js";
import { httpStatusOfError, publicError, retryAfterHeader } from "./http-errors.js";
import { invalid } from "./rest-transcode.js";

// The Open Inference Protocol's REST form (KServe's V2 protocol, also Triton's) under /v2, beside the routes
// transcoded from google.api.http: its paths and its JSON are the protocol's, not proto3 JSON, so they are written
// here, over the same handlers gRPC callers of inference.GRPCInferenceService reach.

export type InferenceRoute =
  | { readonly kind: "live" | "health-ready" | "server" }
  | { readonly kind: "metadata" | "ready" | "infer"; readonly model: string; readonly version: string };

/** What an OIP path names (undefined: no such route). Throws URIError for malformed percent-encoding. */
export function matchInferencePath(path: string): InferenceRoute | undefined {
  if (path === "/v2") return { kind: "server" };
  if (!path.startsWith("/v2/")) return undefined;
  const parts = path.slice(4).split("/");
  if (parts.length === 2 && parts[0] === "health" && (parts[1] === "live" || parts[1] === "ready")) return { kind: parts[1] === "live" ? "live" : "health-ready" };
  if (parts[0] !== "models" || parts.length < 2 || parts[1] === "") return undefined;
  const model = decodeURIComponent(parts[1]!);
  let rest = parts.slice(2);
  let version = "";
  if (rest[0] === "versions") {
    if (rest.length < 2 || rest[1] === "") return undefined;
    version = decodeURIComponent(rest[1]!);
    rest = rest.slice(2);
  }
  if (rest.length === 0) return { kind: "metadata", model, version };
  if (rest.length === 1 && (rest[0] === "ready" || rest[0] === "infer")) return { kind: rest[0], model, version };
  return undefined;
}

export interface InferenceRestOptions {
  /** GRPCInferenceService as the gateway serves it (audited): REST calls the handlers gRPC callers reach. */
  service: EdgeService;
  verifier: TokenVerifier;
  /** Largest request body (EdgeLimits.maxBodyBytes). */
  maxBodyBytes: number;
  logger?: Logger;
  /** Called with the client's address when a request fails authentication (AuthFailureBudget). */
  onAuthFailure?: (address: string) => void;
}

/** Serves a request when its path is under /v2 (true), else leaves it to the other routes (false). */
export type InferenceRest = (req: EdgeRequest, res: EdgeResponse) => boolean;

const ROUTES_HINT = "the inference routes are GET /v2/health/live, /v2/health/ready, /v2, /v2/models/{model}[/versions/{version}][/ready] and POST …/infer (see /openapi.json)";

/** An error as the protocol writes it: `{"error": "<message>"}`, the gRPC code mapped to the HTTP status. */
export function writeInferenceError(req: EdgeRequest, res: EdgeResponse, err: SwitchyardError, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) return void res.destroy();
  if (hasBody(req)) closeUnread(req, res);
  const headers: Record<string, string> = { "content-type": "application/json", ...retryAfterHeader(err), ...extraHeaders };
  if (err.code === Code.Unauthenticated) headers["www-authenticate"] = 'Bearer realm="switchyard"';
  res.writeHead(httpStatusOfError(err), headers);
  res.end(JSON.stringify({ error: err.message }));
}

function writeJson(res: EdgeResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

function isJson(contentType: string): boolean {
  const t = contentType.split(";")[0]!.trim().toLowerCase();
  return t === "application/json" || (t.startsWith("application/") && t.endsWith("+json"));
}

/**
 * The protocol's REST routes. Health is public (as /healthz); everything else takes a token, checked from the headers
 * before any body is read; an infer body is capped at maxBodyBytes as it arrives (413 past it), then read by
 * @switchyard/inference's codec, whose errors name the JSON path (`inputs[0].shape: …`).
 */
export function createInferenceRest(o: InferenceRestOptions): InferenceRest {
  const log = o.logger ?? noopLogger;
  const handler = (name: string): UnaryHandler => {
    const h = o.service.handlers.get(name);
    if (h === undefined) throw new Error(`inference edge service has no ${name} handler`);
    return h as UnaryHandler;
  };
  const h = { serverMetadata: handler("serverMetadata"), modelReady: handler("modelReady"), modelMetadata: handler("modelMetadata"), modelInfer: handler("modelInfer") };

  async function serve(req: EdgeRequest, res: EdgeResponse, path: string): Promise<void> {
    let route: InferenceRoute | undefined;
    try {
      route = matchInferencePath(path);
    } catch {
      throw invalid([{ field: "path", message: "has malformed percent-encoding", got: JSON.stringify(path.slice(0, 200)), hint: "encode reserved characters as %XX" }]);
    }
    const method = (req.method ?? "GET").toUpperCase();
    if (route === undefined) return writeInferenceError(req, res, new SwitchyardError(Code.NotFound, `no route for ${method} ${path.slice(0, 200)}: ${ROUTES_HINT}`));
    const allowed = route.kind === "infer" ? "POST" : "GET";
    if (method !== allowed) return writeInferenceError(req, res, new SwitchyardError(Code.NotFound, `no route for ${method} ${path.slice(0, 200)}: this path takes ${allowed}`), { allow: allowed });
    if (route.kind !== "infer" && hasBody(req)) closeUnread(req, res);
    // Public, like /healthz: the gateway is up and serving (a model's readiness is .../ready, with a token).
    if (route.kind === "live") return writeJson(res, 200, { live: true });
    if (route.kind === "health-ready") return writeJson(res, 200, { ready: true });

    // The token before anything else of the request: a caller without one learns nothing more.
    const pending = authenticate(o.verifier, req.headers["authorization"]);
    const identity = pending instanceof Promise ? await pending : pending;
    const ac = new AbortController();
    res.on("close", () => {
      if (!res.writableFinished) ac.abort();
    });
    const call: EdgeCall = { identity, signal: ac.signal, timeoutMs: undefined };
    switch (route.kind) {
      case "server": {
        const m = (await h.serverMetadata(create(ServerMetadataRequestSchema), call)) as { name: string; version: string; extensions: string[] };
        return writeJson(res, 200, { name: m.name, version: m.version, extensions: m.extensions });
      }
      case "ready": {
        const r = (await h.modelReady(create(ModelReadyRequestSchema, { name: route.model, version: route.version }), call)) as { ready: boolean };
        // The protocol: 200 when ready, an error status when not (503: a replica may come).
        return writeJson(res, r.ready ? 200 : 503, { name: route.model, ready: r.ready });
      }
      case "metadata": {
        const m = await h.modelMetadata(create(ModelMetadataRequestSchema, { name: route.model, version: route.version }), call);
        return writeJson(res, 200, restMetadata(create(ModelMetadataResponseSchema, m as never)));
      }
      case "infer": {
        const request = restInferRequestToProto(await readInferBody(req, o.maxBodyBytes), route.model, route.version);
        const out = await h.modelInfer(request, call);
        return writeJson(res, 200, protoInferResponseToRest(create(ModelInferResponseSchema, out as never)));
      }
    }
  }

  return (req, res) => {
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (path !== "/v2" && !path.startsWith("/v2/")) return false;
    serve(req, res, path).catch((err: unknown) => {
      const e = publicError(err, log, { path: path.slice(0, 200) });
      if (e.code === Code.Unauthenticated) o.onAuthFailure?.(req.socket?.remoteAddress ?? "");
      writeInferenceError(req, res, e);
    });
    return true;
  };
}

/** An infer request's JSON body, read no further than the limit (BodyTooLargeError: 413). */
async function readInferBody(req: EdgeRequest, maxBodyBytes: number): Promise<unknown> {
  if (req.headers["inference-header-content-length"] !== undefined) {
    throw invalid([{ field: "Inference-Header-Content-Length", message: "asks for the binary tensor data extension, which this gateway does not support", hint: "send the tensors as JSON data, or over gRPC (raw_input_contents)" }]);
  }
  const type = req.headers["content-type"];
  if (type !== undefined && !isJson(type)) {
    throw invalid([{ field: "Content-Type", message: "is not JSON", expected: "application/json", got: JSON.stringify(type.slice(0, 100)), hint: "send -H 'Content-Type: application/json'" }]);
  }
  const body = await readCappedBody(req, maxBodyBytes);
  if (body.length === 0) throw invalid([{ field: "body", message: "is empty", expected: "an inference request {inputs: [...]}", hint: "send the inputs as JSON" }]);
  try {
    return JSON.parse(body.toString("utf8"));
  } catch (err) {
    throw invalid([{ field: "body", message: `is not valid JSON: ${(err as Error).message.slice(0, 200)}`, hint: "send a JSON object {inputs: [...]}" }]);
  }
}
