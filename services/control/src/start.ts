import { join } from "node:path";
import { ConfigCenter, Identity, Registry } from "@switchyard/api";
import { ensurePrivateDir, keyPath, loadOrCreateKey, meshListen, serviceSocketPath, type Logger, type RunningService } from "@switchyard/core";
import { createServer, createServiceRuntime, localIdentity, MemoryRegistry, serviceId, type LocalTable } from "@switchyard/mesh";
import { loadOrCreateCa } from "@switchyard/mesh/ca";
import { openStore, storeOptionsFor } from "@switchyard/store";
import { configService } from "./config-service.js";
import { ConfigStore, migrations, type ControlDatabase } from "./config-store.js";
import type { ControlConfig } from "./config.js";
import { seedDefaultPolicies } from "./default-policies.js";
import { identityService } from "./identity-service.js";
import { JoinTokenStore } from "./identity-store.js";
import { localPolicySource } from "./local-policy-source.js";
import { registryService } from "./registry-service.js";

/** The one method control answers without a client certificate: a new workload has none yet. */
const ENROLL = "/switchyard.v1.Identity/Enroll";

/**
 * Starts `control`: the CA, the embedded registry and the config center. The registry is returned for co-hosted
 * services. control issues its own certificate from the CA it holds.
 */
export async function startControl(config: ControlConfig, logger: Logger, local?: LocalTable): Promise<RunningService & { registry: MemoryRegistry }> {
  ensurePrivateDir(config.dataDir);
  const { db, close: closeDb } = await openStore<ControlDatabase>({ ...storeOptionsFor(config.db, "control", join(config.dataDir, "control", "control.db")), migrations });
  const registry = new MemoryRegistry();
  const ca = await loadOrCreateCa(config.dataDir, config.trustDomain);
  const credentials = await localIdentity(ca, serviceId(config.trustDomain, "control"), { ttlMs: config.certTtlMs, logger });
  const configStore = new ConfigStore(db);
  if (await seedDefaultPolicies(configStore, config.trustDomain)) logger.info({}, "new config center: default AuthorizationPolicies written (switchyard mesh get)");
  // control serves the policies; its own runtime follows them from its own store (not over the mesh: it would
  // depend on itself to start).
  const policies = localPolicySource(configStore);
  const mesh = await createServiceRuntime({ serviceName: "control", credentials, mode: config.meshMode, policySource: policies, env: config.otelEnv, logger, ...(local ? { local } : {}) });
  const metricsAddress = await mesh.serveMetrics(`unix:${serviceSocketPath(config.dataDir, "control-metrics")}`);
  const identity = identityService({ ca, joinKey: loadOrCreateKey(keyPath(config.dataDir, "join")), tokens: new JoinTokenStore(db), certTtlMs: config.certTtlMs, logger });
  const server = createServer({ name: "control", ...meshListen(config.listen, config.dataDir, "control"), logger, runtime: mesh.runtime, openMethods: [ENROLL], authzExempt: ["/switchyard.v1.Identity/", "/switchyard.v1.ConfigCenter/"] })
    .add(Registry, registryService(registry))
    .add(ConfigCenter, configService(configStore, policies.changed))
    .add(Identity, identity);
  const address = await server.start();
  // control registers itself in its own registry, so `mesh:///control` resolves like any service.
  await registry.register({ service: "control", address, labels: { service: "control", metrics: metricsAddress }, instanceId: `control@${address}` }, 365 * 24 * 3600_000);
  return {
    service: "control",
    address,
    registry,
    async stop() {
      await server.stop(2000);
      await mesh.close();
      credentials.close();
      await registry.close();
      await closeDb();
    },
  };
}
