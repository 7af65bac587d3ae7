import type { DescService } from "@bufbuild/protobuf";
import { GRPCInferenceService, type Serving } from "@switchyard/api";
import { Code, SwitchyardError, noopLogger, systemClock, type Clock, type Logger } from "@switchyard/core";
import type { MeshClient } from "@switchyard/mesh";
import { openStore, storeOptionsFor, type Kysely } from "@switchyard/store";
import { AuditLog, audited } from "./audit.js";
import { authenticate, type TokenVerifier } from "./auth.js";
import type { Identity } from "./identity.js";
import { AuditStore, auditMigrations, type AuditDatabase } from "./audit-store.js";
import { authService, platformService } from "./auth-service.js";
import { ensureAdminToken } from "./bootstrap.js";
import { createConnectEdge } from "./connect-edge.js";
import { closeUnread, hasBody, refuse, type EdgeRequest, type EdgeResponse } from "./edge-guard.js";
import { AuthFailureBudget, compileEdgeLimits, type EdgeLimits } from "./edge-limits.js";
import { routeConnect, type EdgeService } from "./edge-service.js";
import { createEdgeServer, type EdgeHandler, type EdgeStats, type EdgeTls } from "./edge-server.js";
import { forwardService } from "./forward.js";
import { inferenceService, type InferenceEdgeOptions } from "./inference-edge.js";
import { inferenceOpenApi } from "./openapi-inference.js";
import { createInferenceRest } from "./rest-inference.js";
import { publicError } from "./http-errors.js";
import { collectRoutes, RouteTable } from "./http-rule.js";
import { OidcVerifier, type OidcRule } from "./oidc.js";
import { openApiDocument } from "./openapi.js";
import { loadWebAssets, notBuilt } from "./web-assets.js";
import { createRestHandler } from "./rest-handler.js";
import { StreamForms, TEXT_STREAMS } from "./rest-stream.js";
import { TOKEN_PREFIX, TokenAuthority } from "./token-authority.js";
import { migrations, TokenStore, type GatewayDatabase } from "./token-store.js";

export const GATEWAY_VERSION = "0.1.0";

export interface GatewayOptions {
  /** The gateway's own SQLite database (users, teams, tokens, signing key, audit). `:memory:` for a throwaway one. */
  dbPath: string;
  /** SWITCHYARD_DB: a postgres:// URL puts the gateway's store in that database (schema `gateway`) instead of `dbPath`. */
  db?: string;
  /** Services served by forwarding to their owners through the mesh. */
  forwards: readonly { service: DescService; client: MeshClient<DescService> }[];
  /**
   * Model inference at the edge (the Open Inference Protocol over gRPC and REST under /v2): the serving service's
   * client (deployments, activation) and `mesh:///inference` (the model servers). None: inference is not served.
   */
  inference?: {
    serving: MeshClient<typeof Serving>;
    inference: MeshClient<typeof GRPCInferenceService>;
    /** Held-request bounds and cache times (inference-edge.ts defaults). */
    options?: Partial<Omit<InferenceEdgeOptions, "serving" | "inference" | "version" | "clock" | "logger">>;
  };
  /** Where the bootstrap admin's token is kept (see ensureAdminToken); none: no bootstrap admin. */
  adminTokenFile?: string;
  /** The services running, for Platform.GetStatus. */
  status?: () => Promise<{ service: string; addresses: string[] }[]>;
  /** Prometheus text for GET /metrics: the platform's processes, aggregated. */
  metrics?: () => Promise<string>;
  /**
   * Why this platform is single-user (jobs run with the platform's own rights: not root, no working bubblewrap), when
   * it is: then no member tokens are issued, since a member's job could read everything the platform can.
   */
  singleUser?: string;
  /** What one caller may cost the edge (body size, timeouts, connections); defaults in edge-limits.ts. */
  limits?: Partial<EdgeLimits>;
  /** How long audit events are kept (default 90 days). */
  auditRetentionMs?: number;
  /** Other issuers whose tokens the edge accepts (RequestAuthentication, oidc.ts). */
  requestAuthentication?: readonly OidcRule[];
  /** TLS at the edge (a certificate and key); none: plaintext, for loopback. */
  tls?: EdgeTls;
  /** The built dashboard (apps/web/dist), served at / (web-assets.ts); none: GET / says no dashboard is served. */
  webDir?: string;
  /** Removes a deleted user's (or membership's) delegation grants (auth-service.ts). */
  revokeGrants?: (user: string, team?: string) => Promise<number>;
  clock?: Clock;
  logger?: Logger;
}

export interface Gateway {
  /** The one handler for every protocol: gRPC, gRPC-Web, Connect, REST, /openapi.json, /healthz. */
  readonly handler: EdgeHandler;
  readonly authority: TokenAuthority;
  readonly routes: RouteTable;
  readonly openApi: Record<string, unknown>;
  /** The bootstrap admin's token, when adminTokenFile was given. */
  readonly adminToken: string | undefined;
  readonly limits: Readonly<EdgeLimits>;
  /** Connections and bytes the edge has seen (see EdgeStats). */
  edgeStats(): EdgeStats;
  listen(port: number, host: string): Promise<number>;
  close(): Promise<void>;
}

/**
 * Builds the gateway: the token authority over its database, the edge services (forwarded ones and its own Auth and
 * Platform), the Connect router behind the edge's guard (token first, body capped), and the REST transcoder and
 * OpenAPI document derived from the same descriptors — all behind one handler for one port, with the edge's limits.
 */
export async function createGateway(o: GatewayOptions): Promise<Gateway> {
  const logger = o.logger ?? noopLogger;
  const clock = o.clock ?? systemClock;
  const overlap = Object.keys(auditMigrations).filter((k) => k in migrations);
  if (overlap.length > 0) throw new Error(`gateway migrations named twice: ${overlap.join(", ")}`);
  const { db, close: closeDb } = await openStore<GatewayDatabase>({ ...storeOptionsFor(o.db, "gateway", o.dbPath), migrations: { ...migrations, ...auditMigrations } });
  const store = new TokenStore(db);
  // One database, two stores over their own tables (Kysely's types are invariant in the table set, hence the view).
  const audit = new AuditLog({ store: new AuditStore(db as unknown as Kysely<AuditDatabase>), clock, logger, ...(o.auditRetentionMs ? { retentionMs: o.auditRetentionMs } : {}) });
  audit.start();
  const authority = await TokenAuthority.open({ store, clock });
  const deps = { authority, store, ...(o.singleUser ? { singleUser: o.singleUser } : {}), ...(o.revokeGrants ? { revokeGrants: o.revokeGrants } : {}) };
  const adminToken = o.adminTokenFile ? (await ensureAdminToken(deps, o.adminTokenFile)).token : undefined;

  // Every service's calls go through the audit log (audit.ts says which are recorded).
  const services: EdgeService[] = [
    ...o.forwards.map((f) => forwardService(f.service, f.client)),
    authService(deps),
    platformService(o.status ?? (async () => []), GATEWAY_VERSION, audit, clock),
    ...(o.inference ? [inferenceService({ ...o.inference.options, serving: o.inference.serving, inference: o.inference.inference, version: GATEWAY_VERSION, clock, logger })] : []),
  ].map((s) => audited(s, audit));
  const routes = new RouteTable(collectRoutes(services.map((s) => s.service)).filter((r) => services.some((s) => s.service === r.service && s.handlers.has(r.method.localName))));
  // The forms server streams take over REST (text streams as text lines): one rule for the handler and the document.
  const streamForms = new StreamForms(routes.all(), TEXT_STREAMS);
  const openApi = openApiDocument(routes.all(), {
    title: "Switchyard",
    version: GATEWAY_VERSION,
    description: "REST routes transcoded from the gRPC services' google.api.http annotations. The same methods answer gRPC, gRPC-Web and Connect on the same port.",
  }, streamForms, o.inference ? inferenceOpenApi() : undefined);
  const openApiJson = JSON.stringify(openApi);
  const limits = compileEdgeLimits(o.limits);
  // Addresses that fail authentication too often have their new connections closed at once for a while.
  const authFailures = new AuthFailureBudget(limits.authFailuresPerSecond);
  const onAuthFailure = (address: string) => authFailures.fail(address);
  // The platform's own tokens, and those of the issuers RequestAuthentication trusts (by the issuer a token claims).
  const oidc = o.requestAuthentication?.length ? new OidcVerifier(o.requestAuthentication, clock) : undefined;
  // Another issuer's user never speaks as a user of this platform's own (the bootstrap `admin` above all).
  const notLocal = async (id: Identity): Promise<Identity> => {
    if (await store.user(id.user)) throw new SwitchyardError(Code.Unauthenticated, `token names ${id.user}, a user of this platform's own: another issuer cannot speak for them`);
    return id;
  };
  const verifier: TokenVerifier = oidc
    ? {
        verify(token) {
          // The platform's own tokens (sy_…) never pay for decoding a claim first.
          const rule = token.startsWith(TOKEN_PREFIX) ? undefined : oidc.owns(token);
          return rule ? oidc.verify(token, rule).then(notLocal) : authority.verify(token);
        },
      }
    : authority;
  const rest = createRestHandler({ table: routes, services, verifier, streamForms, maxBodyBytes: limits.maxBodyBytes, logger, onAuthFailure });
  const inference = services.find((s) => s.service === GRPCInferenceService);
  const oip = inference ? createInferenceRest({ service: inference, verifier, maxBodyBytes: limits.maxBodyBytes, logger, onAuthFailure }) : undefined;
  const connect = createConnectEdge({
    verifier,
    maxBodyBytes: limits.maxBodyBytes,
    logger,
    onAuthFailure,
    routes(router) {
      for (const s of services) routeConnect(router, s, logger);
    },
  });

  /**
   * The plain-HTTP routes: GET /healthz and /openapi.json for anyone, GET /metrics for admins (the series name every
   * service's endpoints, which GetStatus shows admins only; Prometheus sends the token with
   * `authorization: {credentials_file: …}`). They read no body.
   */
  const plainRoute = (req: EdgeRequest, res: EdgeResponse, path: string): boolean => {
    if (req.method !== "GET" || (path !== "/healthz" && path !== "/openapi.json" && !(path === "/metrics" && o.metrics))) return false;
    if (hasBody(req)) closeUnread(req, res);
    if (path === "/healthz") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end('{"status":"SERVING"}');
    } else if (path === "/openapi.json") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(openApiJson);
    } else {
      Promise.resolve()
        .then(() => authenticate(verifier, req.headers.authorization))
        .then((id) => {
          if (id.role !== "admin") throw new SwitchyardError(Code.PermissionDenied, `only admins read /metrics (you are ${id.user}, ${id.role})`);
          return o.metrics!();
        })
        .then(
          (text) => {
            res.writeHead(200, { "content-type": "text/plain; version=0.0.4; charset=utf-8" });
            res.end(text);
          },
          (err: unknown) => {
            if (err instanceof SwitchyardError && err.code === Code.Unauthenticated) onAuthFailure(req.socket?.remoteAddress ?? "");
            refuse(req, res, "rest", publicError(err, logger));
          },
        );
    }
    return true;
  };

  // The dashboard's files: public (the app asks for a token before it calls anything), read once, here.
  const web = o.webDir ? loadWebAssets(o.webDir, logger) : undefined;

  // Connect, gRPC and gRPC-Web methods by path; then the public routes and the dashboard's files; then the inference
  // protocol's /v2; then REST. Each authenticates before it reads.
  const handler: EdgeHandler = (req, res) => {
    if (connect(req, res)) return;
    const path = (req.url ?? "/").split("?", 1)[0]!;
    if (plainRoute(req, res, path)) return;
    if (web ? web.handle(req, res, path) : notBuilt(req, res, path, o.webDir)) return;
    if (oip?.(req, res)) return;
    rest(req, res).catch((err: unknown) => refuse(req, res, "rest", publicError(err, logger)));
  };

  const edge = createEdgeServer(handler, limits, logger, authFailures, o.tls);
  return {
    handler,
    authority,
    routes,
    openApi,
    adminToken,
    limits,
    edgeStats: () => edge.stats(),
    listen: (port, host) => edge.listen(port, host),
    async close() {
      await edge.close();
      await audit.close();
      await closeDb();
    },
  };
}
