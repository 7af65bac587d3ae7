import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Platform } from "@switchyard/api";
import { createClient } from "./client.js";
import { createEtcdRegistry } from "./registry-etcd.js";
import { startEtcd, type EtcdServer } from "./etcd-test-server.js";
import { createServer, type MeshServer } from "./server.js";

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
