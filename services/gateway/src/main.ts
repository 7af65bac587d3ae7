import { readFileSync } from "node:fs";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { Jobs, Platform, Queues } from "@switchyard/api";
import { announceReady, createLogger, onShutdown } from "@switchyard/core";
import { createClient, createRemoteRegistry } from "@switchyard/mesh";
import { authInterceptor, identityOf, staticTokenVerifier } from "./auth.js";
import { createEdgeServer } from "./edge-server.js";
import { forwardService, toConnectError } from "./forward.js";

/** Composition root of the gateway: the one public port (gRPC, gRPC-Web, Connect JSON). */
async function main(): Promise<void> {
  const env = process.env;
  const logger = createLogger({ component: "gateway", level: env.SWITCHYARD_LOG_LEVEL ?? "info" });
  const controlAddress = env.SWITCHYARD_CONTROL;
  if (!controlAddress) throw new Error("SWITCHYARD_CONTROL (host:port of the control service) is required");
  const token = env.SWITCHYARD_ADMIN_TOKEN ?? (env.SWITCHYARD_ADMIN_TOKEN_FILE ? readFileSync(env.SWITCHYARD_ADMIN_TOKEN_FILE, "utf8").trim() : "");
  if (!token) throw new Error("SWITCHYARD_ADMIN_TOKEN or SWITCHYARD_ADMIN_TOKEN_FILE is required");
  const registry = createRemoteRegistry({ address: controlAddress, logger });
  const jobs = createClient(Jobs, { target: "mesh:///jobs", registry, metadata: { "x-switchyard-caller": "gateway" } });
  const queues = createClient(Queues, { target: "mesh:///jobs", registry, metadata: { "x-switchyard-caller": "gateway" } });

  const handler = connectNodeAdapter({
    interceptors: [authInterceptor(staticTokenVerifier(token))],
    routes(router) {
      router.service(Jobs, forwardService(Jobs, jobs));
      router.service(Queues, forwardService(Queues, queues));
      router.service(Platform, {
        async whoAmI(_req, ctx) {
          const id = identityOf(ctx);
          return { user: id.user, teams: id.teams, role: id.role };
        },
        async getStatus() {
          try {
            const all = await registry.list();
            const by = new Map<string, string[]>();
            for (const i of all) by.set(i.service, [...(by.get(i.service) ?? []), i.address]);
            return { services: [...by].map(([service, addresses]) => ({ service, addresses })), version: "0.1.0" };
          } catch (err) {
            throw toConnectError(err);
          }
        },
      });
    },
    fallback(req, res) {
      if (req.url === "/healthz") {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"status":"SERVING"}');
        return;
      }
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ code: "not_found", message: `no route for ${req.method} ${req.url}` }));
    },
  });
  const edge = createEdgeServer(handler);
  const host = env.SWITCHYARD_HOST ?? "127.0.0.1";
  const port = await edge.listen(Number(env.SWITCHYARD_PORT ?? 8080), host);
  const address = `${host}:${port}`;
  announceReady({ service: "gateway", address, url: `http://${address}` });
  logger.info({ url: `http://${address}` }, "gateway serving");
  onShutdown(logger, async () => {
    await edge.close();
    jobs.close();
    queues.close();
    await registry.close();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
