import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Platform } from "@switchyard/api";
import { createClient } from "./client.js";
import { createEtcdRegistry } from "./registry-etcd.js";
import { startEtcd, type EtcdServer } from "./etcd-test-server.js";
import { createServer, type MeshServer } from "./server.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WorkloadIdentity } from "./credentials.js";
import { CertificateAuthority, loadOrCreateCa } from "./pki.js";
import { serviceId } from "./spiffe.js";
import type { Registry } from "./registry.js";

// Discovery with a real etcd (Debian's etcd-server): instances started and stopped, leases expiring, traffic follows.
describe("etcd registry", () => {
  let etcd: EtcdServer;
  before(async () => {
    etcd = await startEtcd();
  });
  after(() => etcd.stop());

  it("registers with a lease, follows by watch, and forgets an instance whose lease expires", async () => {
    const registry = await createEtcdRegistry({ endpoints: `etcd://${etcd.endpoint}` });
    const servers: MeshServer[] = [];
    for (const id of ["a", "b"]) {
      const s = createServer({ name: "who", registry, leaseTtlMs: 2000 }).add(Platform, {
        async whoAmI() {
          return { user: id };
        },
        async getStatus() {
          return {};
        },
        async listAuditEvents() {
          return {};
        },
      });
      await s.start();
      servers.push(s);
    }
    assert.deepEqual((await registry.list("who")).length, 2);
    const client = createClient(Platform, { target: "mesh:///who", registry });
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add((await client.whoAmI({})).user);
    assert.deepEqual([...seen].sort(), ["a", "b"]);

    // A graceful stop deregisters at once.
    await servers[0]!.stop(200);
    const after1 = new Set<string>();
    for (let i = 0; i < 10; i++) after1.add((await client.whoAmI({})).user);
    assert.deepEqual([...after1], ["b"]);

    // A lease nobody renews expires (here: a second registry client registers and then goes silent).
    const other = await createEtcdRegistry({ endpoints: etcd.endpoint });
    await other.register({ service: "who", address: "127.0.0.1:1", labels: {}, instanceId: "ghost" }, 1000);
    assert.equal((await registry.list("who")).length, 2);
    await other.close();
    const until = Date.now() + 10_000;
    while ((await registry.list("who")).length !== 1 && Date.now() < until) await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual((await registry.list("who")).map((i) => i.instanceId).length, 1);
    client.close();
    await servers[1]!.stop(200);
    await registry.close();
  });
});

// etcd as a platform with mTLS runs it: TLS for clients, client certificates of the platform CA required. The
// rogue-registration attempt of the close-the-inside issue, repeated against it: without a certificate of this CA no
// instance gets in; the platform's own services register, and keep doing so across a certificate rotation.
describe("etcd with client-certificate authentication from the platform CA", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-etcd-ca-"));
  const ids: WorkloadIdentity[] = [];
  let etcd: EtcdServer;
  let ca: CertificateAuthority;
  before(async () => {
    ca = await loadOrCreateCa(dir, "switchyard.local");
    const server = await ca.issueWorkload(serviceId("switchyard.local", "etcd"), 3600_000, ["127.0.0.1", "localhost"]);
    etcd = await startEtcd({ tls: { caPem: ca.caPem, certPem: server.certPem, keyPem: server.keyPem } });
  });
  after(async () => {
    for (const i of ids) i.close();
    await etcd.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const rogueTries = async (registry: Promise<Registry>) => {
    const r = await registry;
    try {
      await r.register({ service: "jobs", address: "127.0.0.1:1", labels: {}, instanceId: "rogue" }, 60_000);
      return "registered";
    } catch (err) {
      return `refused: ${String(err).slice(0, 120)}`;
    } finally {
      await r.close();
    }
  };
  const withTimeout = <T>(p: Promise<T>, ms: number, label: string) => Promise.race([p, new Promise<T>((resolve) => setTimeout(() => resolve(label as T), ms))]);

  it("refuses a rogue registration without a certificate of the CA, takes the platform's, and survives a rotation", async () => {
    // Plaintext, and TLS with a certificate from another CA (etcd3 retries; a refusal or a hang both keep it out).
    assert.match(await withTimeout(rogueTries(createEtcdRegistry({ endpoints: `etcd://${etcd.endpoint}` })), 8000, "timed out"), /refused|timed out/);
    const other = (await CertificateAuthority.create("switchyard.local")).ca;
    const rogue = new WorkloadIdentity({ id: serviceId("switchyard.local", "jobs"), trustDomain: "switchyard.local", issued: { ...(await other.issueWorkload(serviceId("switchyard.local", "jobs"), 60_000)), caPem: ca.caPem } });
    ids.push(rogue);
    assert.match(await withTimeout(rogueTries(createEtcdRegistry({ endpoints: `etcd://${etcd.endpoint}`, identity: rogue })), 8000, "timed out"), /refused|timed out/);

    const jobs = new WorkloadIdentity({ id: serviceId("switchyard.local", "jobs"), trustDomain: "switchyard.local", issued: await ca.issueWorkload(serviceId("switchyard.local", "jobs"), 60_000), renew: (csr) => ca.issue(csr, serviceId("switchyard.local", "jobs"), 60_000) });
    ids.push(jobs);
    const registry = await createEtcdRegistry({ endpoints: `etcd://${etcd.endpoint}`, identity: jobs });
    const seen: string[][] = [];
    const stop = registry.watch("jobs", (instances) => seen.push(instances.map((i) => i.instanceId)));
    const lease = await registry.register({ service: "jobs", address: "127.0.0.1:2", labels: {}, instanceId: "jobs-1" }, 5000);
    assert.deepEqual((await registry.list("jobs")).map((i) => i.instanceId), ["jobs-1"], "no rogue instance is listed");
    await jobs.rotate();
    // The rotated client forgets the old lease (the server registers again on the new one); the watch moves over.
    assert.equal(await registry.keepAlive(lease.leaseId), false);
    await registry.register({ service: "jobs", address: "127.0.0.1:2", labels: {}, instanceId: "jobs-1" }, 5000);
    await registry.register({ service: "jobs", address: "127.0.0.1:3", labels: {}, instanceId: "jobs-2" }, 5000);
    const until = Date.now() + 5000;
    while (!seen.some((s) => s.includes("jobs-2")) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(seen.some((s) => s.includes("jobs-2")), `the watch follows changes after the rotation: ${JSON.stringify(seen)}`);
    stop();
    await registry.close();
  });
});
