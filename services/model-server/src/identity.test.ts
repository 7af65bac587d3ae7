// A replica's workload identity (identity.ts) as an attacker meets it: the mutual-TLS socket it serves once certified,
// called without a certificate, with another team's workload certificate, with a certificate of another CA, and by
// the gateway; and certificates that are not for its key or not for its identity. Real keys from a real CA.
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { GRPCInferenceService } from "@switchyard/api";
import { Code, noopLogger, SwitchyardError } from "@switchyard/core";
import { CertificateAuthority, loadOrCreateCa } from "@switchyard/mesh/ca";
import { createClient, createMeshRuntime, localIdentity, serviceId, spiffeId, WorkloadIdentity, type MeshCredentials, type ServiceImpl } from "@switchyard/mesh";
import { onlyFromPlatform, replicaIdentity, type ReplicaIdentity } from "./identity.js";

const TD = "switchyard.local";
const ID = spiffeId(TD, "vision", "model-iris");

/** A stand-in inference service: the identity's guard is what is tested, not inference. */
const fake: ServiceImpl<typeof GRPCInferenceService> = {
  serverLive: async () => ({ live: true }),
  serverReady: async () => ({ ready: true }),
  modelReady: async () => ({ ready: true }),
  serverMetadata: async () => ({ name: "test" }),
  modelMetadata: async () => ({ name: "iris" }),
  modelInfer: async () => ({ modelName: "iris" }),
};

describe("a replica's workload identity", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-replica-id-"));
  let ca: CertificateAuthority;
  let identity: ReplicaIdentity;
  let address = "";
  const ids: WorkloadIdentity[] = [];

  const call = async (credentials: MeshCredentials | undefined): Promise<string> => {
    const client = createClient(GRPCInferenceService, { target: address, peer: ID, defaultTimeoutMs: 1500, healthCheck: false, runtime: createMeshRuntime({ serviceName: "caller", ...(credentials ? { credentials } : {}) }) });
    try {
      await client.serverLive({});
      return "served";
    } catch (err) {
      const e = SwitchyardError.from(err);
      return e.code === Code.PermissionDenied ? "refused" : e.code === Code.Unavailable || e.code === Code.DeadlineExceeded || e.code === Code.Unauthenticated ? "no connection" : `other: ${e.message}`;
    } finally {
      client.close();
    }
  };

  before(async () => {
    ca = await loadOrCreateCa(dir, TD);
    identity = replicaIdentity({ socketPath: join(dir, "serve.sock"), logger: noopLogger, maxMessageBytes: 1 << 20, serve: (s) => s.add(GRPCInferenceService, onlyFromPlatform(fake)) });
    const csr = identity.request(ID);
    const issued = await ca.issue(csr, ID, 600_000);
    address = await identity.install(issued);
    identity.setServing(true);
  });
  after(async () => {
    await identity.close();
    for (const i of ids) i.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("serves inference with mutual TLS to the gateway, and to nobody else", async () => {
    assert.equal(address, `unix:${join(dir, "serve.sock")}-mtls`);
    const gateway = await localIdentity(ca, serviceId(TD, "gateway"));
    const otherTeam = await localIdentity(ca, spiffeId(TD, "finance", "model-fraud"));
    const foreignCa = (await CertificateAuthority.create(TD)).ca;
    const foreign = new WorkloadIdentity({ id: serviceId(TD, "gateway"), trustDomain: TD, issued: { ...(await foreignCa.issueWorkload(serviceId(TD, "gateway"), 600_000)), caPem: ca.caPem } });
    ids.push(gateway, otherTeam, foreign);
    assert.deepEqual(
      { gateway: await call(gateway), plaintext: await call(undefined), "another team's workload": await call(otherTeam), "another CA's gateway": await call(foreign) },
      { gateway: "served", plaintext: "no connection", "another team's workload": "refused", "another CA's gateway": "no connection" },
    );
  });

  it("takes a new certificate without dropping the server, and only one for its own new key and identity", async () => {
    // Nothing requested (the last request was answered): refused. Then a certificate for a key it did not make, for
    // another identity: refused.
    await assert.rejects(identity.install(await ca.issueWorkload(ID, 600_000)), /no certificate was requested/);
    const stranger = await ca.issueWorkload(ID, 600_000);
    identity.request(ID);
    await assert.rejects(identity.install(stranger), /not for the key of the last request/);
    const other = spiffeId(TD, "vision", "model-other");
    // (A certificate of its key for another identity cannot even be had: the CA signs a request for the id it names.)
    await assert.rejects(ca.issue(identity.request(ID), other, 600_000), /may have .*model-other only/);
    assert.throws(() => identity.request(serviceId(TD, "gateway")), /not a model server's identity/);
    assert.throws(() => identity.request(other), /cannot become/);
    // The rotation itself: still served to the gateway.
    const renewed = await ca.issue(identity.request(ID), ID, 600_000);
    assert.equal(await identity.install(renewed), address);
    const gateway = await localIdentity(ca, serviceId(TD, "gateway"));
    ids.push(gateway);
    assert.equal(await call(gateway), "served");
  });
});
