import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ConfigCenter, Jobs, Platform, Queues, Secrets } from "@switchyard/api";
import { errorText, type FieldViolation } from "@switchyard/core";
import { readCliConfig } from "./cli-config.js";

export interface GlobalOptions {
  server?: string;
  token?: string;
  team?: string;
}

export interface Api {
  jobs: Client<typeof Jobs>;
  platform: Client<typeof Platform>;
  queues: Client<typeof Queues>;
  secrets: Client<typeof Secrets>;
  config: Client<typeof ConfigCenter>;
  server: string;
  /** Plain HTTP GETs to the server (`/metrics`), with the token the clients send. */
  fetch(path: string): Promise<Response>;
}

import { CliExit, EXIT } from "./exit.js";

export { CliExit, EXIT };

export function connectApi(opts: GlobalOptions, env: NodeJS.ProcessEnv = process.env): Api {
  const cfg = readCliConfig();
  const server = opts.server ?? env.SWITCHYARD_URL ?? cfg.server;
  const token = opts.token ?? env.SWITCHYARD_TOKEN ?? cfg.token;
  if (!server) throw new CliExit(EXIT.unreachable, "no server configured: run `switchyard up`, or pass --server URL (or set SWITCHYARD_URL)");
  const auth: Interceptor = (next) => (req) => {
    if (token) req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const transport = createConnectTransport({ baseUrl: server, httpVersion: "1.1", interceptors: [auth] });
  return {
    jobs: createClient(Jobs, transport),
    platform: createClient(Platform, transport),
    queues: createClient(Queues, transport),
    secrets: createClient(Secrets, transport),
    config: createClient(ConfigCenter, transport),
    server,
    fetch: (path) => fetch(new URL(path, server), token ? { headers: { authorization: `Bearer ${token}` } } : {}),
  };
}

/** Turns an API error into the message and exit code the user gets. */
export function explain(err: unknown, server?: string): CliExit {
  if (err instanceof CliExit) return err;
  const ce = ConnectError.from(err);
  const raw = ce.metadata.get("x-switchyard-error-details");
  let details: FieldViolation[] = [];
  if (raw) {
    try {
      details = JSON.parse(decodeURIComponent(raw)) as FieldViolation[];
    } catch {
      details = [];
    }
  }
  const message = errorText(ce.rawMessage, details);
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
