import { describe, it, after } from "node:test";
import assert from "node:assert/strict";
import { Health, HealthCheckResponse_ServingStatus as ServingStatus, Platform } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { createClient, createServer, MemoryRegistry, type MeshServer } from "./index.js";

function platformServer(id: string, registry: MemoryRegistry): MeshServer {
  return createServer({ name: "platform", registry, leaseTtlMs: 1000 }).add(Platform, {
    async whoAmI(_req, ctx) {
      if (ctx.metadata["x-fail"] === "details") {
        throw new SwitchyardError(Code.InvalidArgument, "bad spec", { details: [{ field: "spec.replicas", message: "must be ≥ 1", line: 3, column: 5 }] });
      }
      return { user: id, role: ctx.metadata["x-switchyard-role"] ?? "", teams: ctx.deadlineMs ? [String(ctx.deadlineMs - Date.now())] : [] };
    },
    async getStatus() {
      return { version: id };
    },
    async listAuditEvents() {
      return {};
    },
  });
}

describe("mesh", () => {
  const registry = new MemoryRegistry({ sweepMs: 50 });
  const servers: MeshServer[] = [];
  after(async () => {
    for (const s of servers) await s.stop(100).catch(() => undefined);
    await registry.close();
  });

  it("discovers instances by watch and balances across them", async () => {
    const a = platformServer("a", registry);
    const b = platformServer("b", registry);
    servers.push(a, b);
    await a.start();
    await b.start();
    const client = createClient(Platform, { target: "mesh:///platform", registry });
    const seen = new Map<string, number>();
    for (let i = 0; i < 40; i++) {
      const r = await client.whoAmI({});
      seen.set(r.user, (seen.get(r.user) ?? 0) + 1);
    }
    assert.deepEqual([...seen.keys()].sort(), ["a", "b"]);
    assert.ok((seen.get("a") ?? 0) >= 10 && (seen.get("b") ?? 0) >= 10, `uneven: ${JSON.stringify([...seen])}`);

    // Stop one instance gracefully: it deregisters, and traffic follows the survivor without failed calls.
    await a.stop(500);
    const after = new Set<string>();
    for (let i = 0; i < 20; i++) after.add((await client.whoAmI({})).user);
    assert.deepEqual([...after], ["b"]);
    client.close();
  });

  it("carries field violations, deadlines and identity metadata across the wire", async () => {
    const client = createClient(Platform, { target: "mesh:///platform", registry });
    await assert.rejects(client.whoAmI({}, { metadata: { "x-fail": "details" } }), (err: unknown) => {
      assert.ok(err instanceof SwitchyardError);
      assert.equal(err.code, Code.InvalidArgument);
      assert.equal(err.message, "bad spec");
      assert.deepEqual(err.details[0], { field: "spec.replicas", message: "must be ≥ 1", line: 3, column: 5 });
      return true;
    });
    const r = await client.whoAmI({}, { timeoutMs: 2000, metadata: { "x-switchyard-role": "admin" } });
    assert.equal(r.role, "admin");
    const remaining = Number(r.teams[0]);
    assert.ok(remaining > 0 && remaining <= 2000, `deadline seen by the server: ${remaining}`);
    client.close();
  });

  it("serves grpc.health.v1 and reports NOT_SERVING while stopping", async () => {
    const s = platformServer("h", registry);
    servers.push(s);
    const address = await s.start();
    const health = createClient(Health, { target: address });
    assert.equal((await health.check({ service: "" })).status, ServingStatus.SERVING);
    assert.equal((await health.check({ service: "switchyard.v1.Platform" })).status, ServingStatus.SERVING);
    await assert.rejects(health.check({ service: "nope" }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.NotFound);
    const watched: ServingStatus[] = [];
    const watching = (async () => {
      for await (const r of health.watch({ service: "" })) {
        watched.push(r.status);
        if (r.status === ServingStatus.NOT_SERVING) break;
      }
    })();
    while (watched.length === 0) await new Promise((r) => setTimeout(r, 10));
    s.health.setAll(ServingStatus.NOT_SERVING);
    await watching;
    assert.deepEqual(watched, [ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    health.close();
  });

  it("forgets an instance whose lease is not renewed", async () => {
    const r = new MemoryRegistry({ sweepMs: 20 });
    const lease = await r.register({ service: "x", address: "127.0.0.1:1", labels: {}, instanceId: "i1" }, 60);
    assert.equal((await r.list("x")).length, 1);
    assert.equal(await r.keepAlive(lease.leaseId), true);
    await new Promise((res) => setTimeout(res, 200));
    assert.equal((await r.list("x")).length, 0);
    assert.equal(await r.keepAlive(lease.leaseId), false);
    await r.close();
  });
});
