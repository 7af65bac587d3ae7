import type { DescService } from "@bufbuild/protobuf";
import { Jobs, Queues } from "@switchyard/api";
import { announceReady, createLogger, onShutdown } from "@switchyard/core";
import { createClient, createRemoteRegistry, type MeshClient } from "@switchyard/mesh";
import { loadConfig } from "./config.js";
import { createGateway } from "./gateway.js";

/**
 * The services the gateway serves by forwarding, and where they live in the mesh. Adding a service is one line here;
 * its `google.api.http` annotations add its REST routes and its OpenAPI entries by themselves.
 */
const FORWARDED: readonly { service: DescService; target: string }[] = [
  { service: Jobs, target: "mesh:///jobs" },
  { service: Queues, target: "mesh:///jobs" },
];

/** Composition root of the gateway: the one public port (gRPC, gRPC-Web, Connect, REST). */
async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger({ component: "gateway", level: config.logLevel });
  const registry = createRemoteRegistry({ address: config.controlAddress, logger });
  // Calls from the gateway say so: the services refuse gateway calls that carry no identity.
  const forwards = FORWARDED.map((f) => ({ service: f.service, client: createClient(f.service, { target: f.target, registry, metadata: { "x-switchyard-caller": "gateway" } }) as MeshClient<DescService> }));
  const gateway = await createGateway({
    dbPath: config.dbPath,
    forwards,
    adminTokenFile: config.adminTokenFile,
    logger,
    async status() {
      const by = new Map<string, string[]>();
      for (const i of await registry.list()) by.set(i.service, [...(by.get(i.service) ?? []), i.address]);
      return [...by].map(([service, addresses]) => ({ service, addresses }));
    },
  });
  const port = await gateway.listen(config.port, config.host);
  const address = `${config.host}:${port}`;
  announceReady({ service: "gateway", address, url: `http://${address}`, adminTokenFile: config.adminTokenFile });
  logger.info({ url: `http://${address}`, routes: gateway.routes.all().length }, "gateway serving");
  onShutdown(logger, async () => {
    await gateway.close();
    for (const f of forwards) f.client.close();
    await registry.close();
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
