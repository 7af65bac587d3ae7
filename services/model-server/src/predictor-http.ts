// JSON over HTTP/1.1 to a custom predictor on 127.0.0.1: keep-alive connections, the caller's deadline and
// cancellation, bounded responses, and HTTP statuses mapped to gRPC codes.
import { Agent, request } from "node:http";
import { Code, SwitchyardError } from "@switchyard/core";
import { newRefusal } from "@switchyard/mesh";

/** How long a call without a deadline may wait for the predictor's answer. */
const PREDICTOR_TIMEOUT_MS = 120_000;

/** A predictor's answer larger than this is refused (INTERNAL): a bug there must not exhaust this process. */
export const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

export interface PredictorCall {
  signal?: AbortSignal;
  /** Epoch ms; the request is abandoned then (DEADLINE_EXCEEDED). */
  deadlineMs?: number;
}

export interface PredictorResponse {
  status: number;
  body: unknown;
  /** From a `Retry-After` header in seconds. */
  retryAfterMs?: number;
}

export interface PredictorHttp {
  get(path: string, call?: PredictorCall): Promise<PredictorResponse>;
  post(path: string, body: unknown, call?: PredictorCall): Promise<PredictorResponse>;
  /** The error a non-2xx answer stands for (400 → INVALID_ARGUMENT with the predictor's `error`, 404 → NOT_FOUND, …). */
  errorOf(res: PredictorResponse, what: string): SwitchyardError;
  close(): void;
}

export function createPredictorHttp(port: number): PredictorHttp {
  // Keep-alive: a call reuses a connection instead of paying a TCP handshake (and the predictor a thread start) each.
  const agent = new Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 16 });

  function send(method: "GET" | "POST", path: string, body: unknown, call: PredictorCall = {}): Promise<PredictorResponse> {
    const payload = body === undefined ? undefined : Buffer.from(JSON.stringify(body));
    return new Promise((resolve, reject) => {
      let settled = false;
      // Declared before `done` can run (an already-aborted call ends before the timer exists).
      let timer: NodeJS.Timeout | undefined;
      const done = (err: SwitchyardError | undefined, res?: PredictorResponse) => {
        if (settled) return;
        settled = true;
        if (timer !== undefined) clearTimeout(timer);
        call.signal?.removeEventListener("abort", onAbort);
        if (err) reject(err);
        else resolve(res!);
      };
      const req = request(
        { host: "127.0.0.1", port, method, path, agent, headers: { accept: "application/json", ...(payload ? { "content-type": "application/json", "content-length": payload.length } : {}) } },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on("data", (c: Buffer) => {
            size += c.length;
            if (size > MAX_RESPONSE_BYTES) {
              done(new SwitchyardError(Code.Internal, `the custom predictor's answer to ${method} ${path} is larger than ${MAX_RESPONSE_BYTES} bytes`));
              req.destroy();
            } else chunks.push(c);
          });
          res.on("end", () => {
            const text = Buffer.concat(chunks).toString("utf8");
            let parsed: unknown = text;
            if (/json/.test(res.headers["content-type"] ?? "") || /^\s*[[{]/.test(text)) {
              try {
                parsed = JSON.parse(text);
              } catch {
                if ((res.statusCode ?? 500) < 300) return done(new SwitchyardError(Code.Internal, `the custom predictor answered ${method} ${path} with JSON that does not parse`));
              }
            }
            const retryAfter = Number(res.headers["retry-after"]);
            done(undefined, { status: res.statusCode ?? 500, body: parsed, ...(Number.isFinite(retryAfter) ? { retryAfterMs: retryAfter * 1000 } : {}) });
          });
          res.on("error", (err) => done(unreachable(err, method, path)));
          // The connection closed before the whole answer came (the predictor died mid-answer).
          res.on("close", () => {
            if (!res.complete) done(new SwitchyardError(Code.Unavailable, `the custom predictor's answer to ${method} ${path} was cut off`));
          });
        },
      );
      req.on("error", (err) => done(unreachable(err, method, path)));
      const onAbort = () => {
        done(call.signal?.reason instanceof SwitchyardError ? call.signal.reason : new SwitchyardError(Code.Canceled, "cancelled by the caller"));
        req.destroy();
      };
      if (call.signal?.aborted) return onAbort();
      call.signal?.addEventListener("abort", onAbort, { once: true });
      // The call's deadline, or a bound of our own when it has none: a predictor that hangs holds nothing forever.
      const deadlineMs = call.deadlineMs ?? Date.now() + PREDICTOR_TIMEOUT_MS;
      timer = setTimeout(() => {
        done(new SwitchyardError(Code.DeadlineExceeded, `the custom predictor did not answer ${method} ${path} ${call.deadlineMs !== undefined ? "before the call's deadline" : `within ${PREDICTOR_TIMEOUT_MS / 1000} s`}`));
        req.destroy();
      }, Math.min(2 ** 31 - 1, Math.max(0, deadlineMs - Date.now())));
      req.end(payload);
    });
  }

  return {
    get: (path, call) => send("GET", path, undefined, call),
    post: (path, body, call) => send("POST", path, body, call),
    errorOf(res, what) {
      const b = res.body as { error?: unknown } | string;
      const said = typeof b === "object" && b !== null && typeof b.error === "string" ? b.error : typeof b === "string" ? b.slice(0, 1000) : JSON.stringify(b).slice(0, 1000);
      const retryAfterMs = res.retryAfterMs;
      switch (res.status) {
        case 400:
          return new SwitchyardError(Code.InvalidArgument, said || `the custom predictor refused ${what} (400)`);
        case 404:
          return new SwitchyardError(Code.NotFound, said || `the custom predictor does not know ${what} (404)`);
        case 429:
          return newRefusal(Code.ResourceExhausted, `the custom predictor is overloaded (429): ${said}`, retryAfterMs);
        case 503:
          return newRefusal(Code.Unavailable, `the custom predictor is unavailable (503): ${said}`, retryAfterMs);
        default:
          return new SwitchyardError(Code.Internal, `the custom predictor failed ${what} (HTTP ${res.status}): ${said}`);
      }
    },
    close: () => agent.destroy(),
  };
}

function unreachable(err: Error, method: string, path: string): SwitchyardError {
  return new SwitchyardError(Code.Unavailable, `the custom predictor did not answer ${method} ${path}: ${(err as NodeJS.ErrnoException).code ?? err.message}`, { cause: err });
}
