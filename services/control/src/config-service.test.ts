import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigCenter } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient, createMeshRuntime, createServer, dataDirIdentity, DEFAULT_TRUST_DOMAIN, grantDocument, GRANTS_NAMESPACE, newGrant, serviceId, UserTokenMinter, verifierFor, WorkloadIdentity } from "@switchyard/mesh";
import { loadOrCreateCa } from "@switchyard/mesh/ca";

const CONTROL = serviceId(DEFAULT_TRUST_DOMAIN, "control");
import { openSqlite } from "@switchyard/store";
import { configService } from "./config-service.js";
import { ConfigStore, migrations, type ControlDatabase } from "./config-store.js";

// The platform's CA (in a data dir of its own) and another one: the outsider's certificate is from the other.
const caDir = mkdtempSync(join(tmpdir(), "switchyard-control-ca-"));
const otherCaDir = mkdtempSync(join(tmpdir(), "switchyard-control-ca-"));
after(() => {
  rmSync(caDir, { recursive: true, force: true });
  rmSync(otherCaDir, { recursive: true, force: true });
});

async function startControl(dir: string) {
  const opened = await openSqlite<ControlDatabase>({ path: join(dir, "control.db"), migrations });
  const server = createServer({ name: "control", runtime: createMeshRuntime({ serviceName: "control", credentials: dataDirIdentity(caDir, "control") }) }).add(ConfigCenter, configService(new ConfigStore(opened.db)));
  const address = await server.start();
  // A platform service (a certificate of the CA), the gateway speaking for users, and a process with a certificate
  // for "gateway" from another CA — trusting the platform's CA itself, so that a refusal can only come from the server.
  const [platformCa, otherCa] = await Promise.all([loadOrCreateCa(caDir, DEFAULT_TRUST_DOMAIN), loadOrCreateCa(otherCaDir, DEFAULT_TRUST_DOMAIN)]);
  const gatewayId = serviceId(DEFAULT_TRUST_DOMAIN, "gateway");
  const outsiderId = new WorkloadIdentity({ id: gatewayId, trustDomain: DEFAULT_TRUST_DOMAIN, issued: { ...(await otherCa.issueWorkload(gatewayId, 600_000)), caPem: platformCa.caPem } });
  const client = createClient(ConfigCenter, { target: address, peer: CONTROL, runtime: createMeshRuntime({ serviceName: "jobs", credentials: dataDirIdentity(caDir, "jobs") }) });
  const gateway = createClient(ConfigCenter, { target: address, peer: CONTROL, runtime: createMeshRuntime({ serviceName: "gateway", credentials: dataDirIdentity(caDir, "gateway") }) });
  const outsider = createClient(ConfigCenter, { target: address, peer: CONTROL, defaultTimeoutMs: 1500, runtime: createMeshRuntime({ serviceName: "gateway", credentials: outsiderId }) });
  let stopped = false;
  return {
    address,
    client,
    gateway,
    outsider,
    async stop() {
      if (stopped) return;
      stopped = true;
      for (const c of [client, gateway, outsider]) c.close();
      await server.stop(100);
      await opened.close();
    },
  };
}

describe("config center", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-control-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("versions documents, tells watchers after each change, and keeps them across a restart", async (t) => {
    const c = await startControl(dir);
    t.after(() => c.stop().catch(() => undefined));
    const seen: bigint[] = [];
    const abort = new AbortController();
    t.after(() => abort.abort());
    const watching = (async () => {
      try {
        for await (const r of c.client.watchDocuments({ namespace: "app" }, { signal: abort.signal })) seen.push(r.revision);
      } catch {
        /* cancelled */
      }
    })();
    // The watch first sends the current set (empty, revision 0); wait for it so the puts below are changes it sees.
    for (const until = Date.now() + 5000; seen.length === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
    const doc = { namespace: "app", kind: "DestinationRule", name: "jobs", content: "spec: {host: jobs}\n" };
    const first = await c.client.putDocuments({ documents: [doc] });
    assert.equal(first.documents[0]!.version, 1n);
    const same = await c.client.putDocuments({ documents: [doc] });
    assert.equal(same.documents[0]!.version, 1n, "unchanged content keeps its version");
    assert.equal(same.revision, first.revision);
    const second = await c.client.putDocuments({ documents: [{ ...doc, content: "spec: {host: jobs, x: 1}\n" }] });
    assert.equal(second.documents[0]!.version, 2n);
    const until = Date.now() + 5000;
    while (!seen.includes(second.revision) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(seen, [0n, first.revision, second.revision]);
    await assert.rejects(c.client.putDocuments({ documents: [{ namespace: "app", kind: "", name: "x", content: "" }] }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && e.details[0]!.field === "documents[0].kind");
    // The mesh namespace holds the mesh's policies: a document the mesh would refuse is refused here, naming the field.
    await assert.rejects(
      c.client.putDocuments({ documents: [{ namespace: "mesh", kind: "VirtualService", name: "x", content: "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec:\n  hosts: [jobs]\n  http:\n  - route: [{destination: {host: jobs}}]\n    mirror: {host: jobs}\n" }] }),
      (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && e.details.some((d) => d.field.includes("mirror")),
    );
    assert.equal((await c.client.listDocuments({ namespace: "mesh" })).documents.length, 0, "nothing stored");
    // Changes need an admin when the gateway speaks for a user; a caller without a certificate of this CA is refused
    // outright, whatever identity it claims; a user named by another service is not believed (it acts as itself).
    const viewer = { user: "v", teams: ["default"], role: "viewer" as const };
    await assert.rejects(c.gateway.putDocuments({ documents: [doc] }, { user: viewer }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.PermissionDenied);
    const admin = { user: "root", teams: ["default"], role: "admin" as const };
    for (const call of [() => c.outsider.putDocuments({ documents: [doc] }, { user: admin }), () => c.outsider.listDocuments({ namespace: "app" })]) {
      // The server does not know its CA: the handshake fails, never served.
      await assert.rejects(call(), (e: unknown) => e instanceof SwitchyardError && (e.code === Code.Unavailable || e.code === Code.DeadlineExceeded));
    }
    await assert.rejects(c.gateway.putDocuments({ documents: [doc] }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.Unauthenticated, "the gateway always names the user");
    const byService = await c.client.putDocuments({ documents: [{ ...doc, name: "other" }] }, { user: viewer });
    assert.equal(byService.documents[0]!.updatedBy, "jobs", "a service's own change, not the viewer's it claimed");
    await c.client.deleteDocument({ namespace: "app", kind: "DestinationRule", name: "other" });
    abort.abort();
    await watching;
    await c.stop();

    const again = await startControl(dir);
    t.after(() => again.stop().catch(() => undefined));
    const list = await again.client.listDocuments({ namespace: "app" });
    assert.deepEqual(list.documents.map((d) => [d.kind, d.name, d.version]), [["DestinationRule", "jobs", 2n]]);
    assert.equal((await again.client.deleteDocument({ namespace: "app", kind: "DestinationRule", name: "jobs" })).found, true);
    assert.equal((await again.client.listDocuments({ namespace: "app" })).documents.length, 0);
    await again.stop();
  });

  it("records a grant only from the service it is given to, while its user calls through the gateway, and only what the user may give", async (t) => {
    const c = await startControl(mkdtempSync(join(dir, "grants-")));
    t.after(() => c.stop().catch(() => undefined));
    const servingId = dataDirIdentity(caDir, "serving");
    const gatewayId = dataDirIdentity(caDir, "gateway");
    await Promise.all([servingId.ready, gatewayId.ready]);
    const serving = createClient(ConfigCenter, { target: c.address, peer: CONTROL, runtime: createMeshRuntime({ serviceName: "serving", credentials: servingId }) });
    t.after(() => serving.close());
    // alice calls serving through the gateway: the token serving received, as its server chain verified it.
    const alice = { user: "alice", teams: ["vision"], role: "member" } as const;
    const received = verifierFor(servingId).verify(new UserTokenMinter(gatewayId).token(alice, serviceId(DEFAULT_TRUST_DOMAIN, "serving")), serviceId(DEFAULT_TRUST_DOMAIN, "serving"));
    const during = { parent: { metadata: {}, signal: new AbortController().signal, deadlineMs: undefined, method: "/switchyard.v1.Serving/ApplyDeployment", peer: "gateway", user: received } };
    const grant = (over: Partial<Parameters<typeof newGrant>[0]> = {}) => grantDocument(newGrant({ ...alice, teams: ["vision"], delegate: "serving", team: "vision", label: { key: "serving.switchyard.io/deployment", value: "iris" }, ...over }, Date.now()));
    const denied = (pattern: RegExp) => (e: unknown) => e instanceof SwitchyardError && e.code === Code.PermissionDenied && pattern.test(e.message);

    await serving.putDocuments({ documents: [grant()] }, during);
    assert.equal((await c.client.listDocuments({ namespace: GRANTS_NAMESPACE })).documents.length, 1, "a platform service reads grants");
    await assert.rejects(serving.putDocuments({ documents: [grant({ user: "bob" })] }, during), denied(/records a grant of bob while alice is calling/));
    await assert.rejects(serving.putDocuments({ documents: [grant({ team: "finance" })] }, during), denied(/alice is not in team finance/));
    await assert.rejects(serving.putDocuments({ documents: [grant({ role: "admin" })] }, during), denied(/not as the gateway knows them/));
    await assert.rejects(serving.putDocuments({ documents: [grant({ delegate: "experiments" })] }, during), denied(/serving records a grant to experiments/));
    await assert.rejects(serving.putDocuments({ documents: [grant({ label: { key: "experiments.switchyard.io/experiment", value: "iris" } })] }, during), denied(/serving's grants cover jobs labelled serving.switchyard.io\/deployment/));
    await assert.rejects(serving.putDocuments({ documents: [grant({ label: { key: "serving.switchyard.io/deployment", value: "other" } })] }, { user: alice }), denied(/acts for alice here only while alice is calling/), "serving's own word for alice (no gateway proof) records nothing");
    await assert.rejects(serving.putDocuments({ documents: [grant()] }), denied(/while its user calls/), "serving as itself records nothing");
    await assert.rejects(c.gateway.putDocuments({ documents: [grant()] }, { user: { user: "root", teams: ["vision"], role: "admin" } }), denied(/recorded by the service it is given to/), "not even an admin");
    await assert.rejects(c.gateway.listDocuments({ namespace: GRANTS_NAMESPACE }, { user: alice }), denied(/only admins read grants/));
    const doc = grant();
    await assert.rejects(c.client.deleteDocument({ namespace: GRANTS_NAMESPACE, kind: doc.kind, name: doc.name }), denied(/jobs removes only the grants given to it/));
    assert.equal((await serving.deleteDocument({ namespace: GRANTS_NAMESPACE, kind: doc.kind, name: doc.name })).found, true, "the delegate removes its own");
    await serving.putDocuments({ documents: [grant()] }, during);
    assert.equal((await c.gateway.deleteDocument({ namespace: GRANTS_NAMESPACE, kind: doc.kind, name: doc.name })).found, true, "the gateway removes any (a user deleted)");
  });
});

