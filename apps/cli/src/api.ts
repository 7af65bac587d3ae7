import { Code, ConnectError, createClient, type Client, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ConfigCenter, Experiments, Jobs, Platform, Queues, Secrets, Serving } from "@switchyard/api";
import { ERROR_DETAILS_KEY, errorText, parseErrorDetails } from "@switchyard/core";
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { readCliConfig } from "./cli-config.js";

export interface GlobalOptions {
  server?: string;
  token?: string;
  team?: string;
  caFile?: string;
}

export interface Api {
  jobs: Client<typeof Jobs>;
  platform: Client<typeof Platform>;
  queues: Client<typeof Queues>;
  secrets: Client<typeof Secrets>;
  config: Client<typeof ConfigCenter>;
  /** Deployments and the model registry (the serving service, through the gateway). */
  serving: Client<typeof Serving>;
  /** Hyperparameter experiments and their trials (the experiments service, through the gateway). */
  experiments: Client<typeof Experiments>;
  server: string;
  /** Plain HTTP GETs to the server (`/metrics`), with the token the clients send. */
  fetch(path: string): Promise<Response>;
}

import { CliExit, EXIT } from "./exit.js";

export { CliExit, EXIT };

/** Server, token and CA file as every command resolves them: flag, then environment, then the CLI config. */
export function resolveTarget(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): { server: string | undefined; token: string | undefined; caFile: string | undefined } {
  const cfg = readCliConfig();
  return { server: opts.server ?? env.SWITCHYARD_URL ?? cfg.server, token: opts.token ?? env.SWITCHYARD_TOKEN ?? cfg.token, caFile: opts.caFile ?? env.SWITCHYARD_TLS_CA ?? cfg.ca };
}

/**
 * The Connect transport every command talks through: the bearer token on each call, and for an https server the
 * system's CAs, or the certificate(s) of the CA file (a self-signed gateway is trusted only as that one certificate).
 */
export function connectTransport(t: { server: string | undefined; token: string | undefined; caFile: string | undefined }): { server: string; transport: Transport; ca: Buffer | undefined } {
  const { server, token, caFile } = t;
  if (!server) throw new CliExit(EXIT.unreachable, "no server configured: run `switchyard up`, or pass --server URL (or set SWITCHYARD_URL)");
  const auth: Interceptor = (next) => (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  let ca: Buffer | undefined;
  if (server.startsWith("https:") && caFile) {
    try {
      ca = readFileSync(caFile);
    } catch (err) {
      throw new CliExit(EXIT.usage, `cannot read the CA file ${caFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
  return { server, ca, transport: createConnectTransport({ baseUrl: server, httpVersion: "1.1", interceptors: [auth], ...(ca ? { nodeOptions: { ca } } : {}) }) };
}

export function connectApi(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Api {
  const target = resolveTarget(opts, env);
  const { server, ca, transport } = connectTransport(target);
  const token = target.token;
  return {
    jobs: createClient(Jobs, transport),
    platform: createClient(Platform, transport),
    queues: createClient(Queues, transport),
    secrets: createClient(Secrets, transport),
    config: createClient(ConfigCenter, transport),
    serving: createClient(Serving, transport),
    experiments: createClient(Experiments, transport),
    server,
    fetch: (path) => (ca ? httpsGet(new URL(path, server), token, ca) : fetch(new URL(path, server), token ? { headers: { authorization: `Bearer ${token}` } } : {})),
  };
}

const TLS_CODES = /^(DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT(_LOCALLY)?|CERT_HAS_EXPIRED|CERT_NOT_YET_VALID|ERR_TLS_CERT_ALTNAME_INVALID|CERT_SIGNATURE_FAILURE)$/;

/** The TLS verification failure somewhere in an error's causes (Node's `code`), as its message; undefined if none. */
function tlsFailure(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; message?: unknown; cause?: unknown } | undefined, i = 0; e && i < 6; e = e.cause as typeof e, i++) {
    if (typeof e.code === "string" && TLS_CODES.test(e.code)) return typeof e.message === "string" ? e.message : e.code;
  }
  return undefined;
}

/** GET over https trusting `ca` (global fetch cannot be given a CA without undici's own Agent). */
function httpsGet(url: URL, token: string | undefined, ca: Buffer): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: "GET", ca, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve(new Response(Buffer.concat(chunks), { status: res.statusCode ?? 0, headers: Object.entries(res.headers).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)] as [string, string]])) })));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

/** Turns an API error into the message and exit code the user gets. */
export function explain(err: unknown, server?: string): CliExit {
  if (err instanceof CliExit) return err;
  const tls = tlsFailure(err);
  if (tls !== undefined) return new CliExit(EXIT.unreachable, `the platform${server ? ` at ${server}` : ""} could not be reached: its TLS certificate is not trusted (${tls}); pass --ca-file with the gateway's certificate (\`switchyard up --tls\` prints its fingerprint to compare) or set SWITCHYARD_TLS_CA`);
  const ce = ConnectError.from(err);
  const message = errorText(ce.rawMessage, parseErrorDetails(ce.metadata.get(ERROR_DETAILS_KEY)));
  switch (ce.code) {
    case Code.InvalidArgument:
    case Code.AlreadyExists:
    case Code.NotFound:
    case Code.FailedPrecondition:
    case Code.OutOfRange:
      return new CliExit(EXIT.usage, message);
    case Code.Unavailable:
      return new CliExit(EXIT.unreachable, `the platform${server ? ` at ${server}` : ""} could not be reached: ${message}\n  start it with \`switchyard up\` or check --server`);
    case Code.Unauthenticated:
    case Code.PermissionDenied:
      return new CliExit(EXIT.unreachable, `refused: ${message}`);
    default:
      return new CliExit(EXIT.failed, message);
  }
}
