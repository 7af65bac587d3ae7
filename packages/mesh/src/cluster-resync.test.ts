import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, FakeClock, SwitchyardError } from "@switchyard/core";
import { createClient } from "./client.js";
import { Echo, startEcho, type EchoInstance } from "./echo-fixture.js";
import { MemoryRegistry } from "./registry-memory.js";
import type { Instance, Lease, Registry, WatchUpdate } from "./registry.js";
import { createMeshRuntime } from "./runtime.js";
import type { MeshClient } from "./types.js";

/**
 * A registry that restarts as `control` does: a new, empty MemoryRegistry behind the same watches (each watch's next
 * list is its first, a resync), leases of the old one unknown. Instances in `partitioned` cannot register again, as if
 * they could not reach the restarted registry.
 */
class RestartingRegistry implements Registry {
  current = new MemoryRegistry({ sweepMs: 20 });
  readonly partitioned = new Set<string>();
  /** The latest lease of each instance, by its `id` label. */
  readonly leases = new Map<string, number>();
  private readonly watches = new Set<{ service: string; onChange: (i: Instance[], u: WatchUpdate) => void; stop: () => void }>();

  register(instance: Instance, ttlMs: number): Promise<Lease> {
    const id = instance.labels.id ?? instance.instanceId;
    if (this.partitioned.has(id)) return Promise.reject(new SwitchyardError(Code.Unavailable, "partitioned"));
    return this.current.register(instance, ttlMs).then((lease) => (this.leases.set(id, lease.leaseId), lease));
  }
  keepAlive(leaseId: number): Promise<boolean> {
    return this.current.keepAlive(leaseId);
  }
  deregister(leaseId: number): Promise<void> {
    return this.current.deregister(leaseId);
  }
  list(service?: string): Promise<Instance[]> {
    return this.current.list(service);
  }
  watch(service: string, onChange: (i: Instance[], u: WatchUpdate) => void): () => void {
    const w = { service, onChange, stop: this.current.watch(service, onChange) };
    this.watches.add(w);
    return () => (w.stop(), this.watches.delete(w));
  }
  async restart(): Promise<void> {
    const old = this.current;
    this.current = new MemoryRegistry({ sweepMs: 20 });
    for (const w of this.watches) (w.stop(), (w.stop = this.current.watch(w.service, w.onChange)));
    await old.close();
  }
  async close(): Promise<void> {
    await this.current.close();
  }
}

describe("endpoints across a registry restart", () => {
  const registries: RestartingRegistry[] = [];
  const instances: EchoInstance[] = [];
  const clients: MeshClient<typeof Echo>[] = [];
  after(async () => {
    for (const c of clients) c.close();
    await Promise.all(instances.map((i) => i.stop()));
    for (const r of registries) await r.close();
  });
  const setup = async (ids: string[], graceMs?: number, clock?: FakeClock) => {
    const registry = new RestartingRegistry();
    registries.push(registry);
    const started = await Promise.all(ids.map((id) => startEcho({ id, name: "svc", registry, leaseTtlMs: 600 })));
    instances.push(...started);
    const runtime = createMeshRuntime({ ...(graceMs !== undefined ? { registryGraceMs: graceMs } : {}), ...(clock ? { clock } : {}) });
    const client = createClient(Echo, { target: "mesh:///svc", registry, runtime, defaultTimeoutMs: 5000 });
    clients.push(client);
    // Every endpoint connected and serving before the restart.
    await until(async () => new Set(await Promise.all(Array.from({ length: 12 }, async () => (await client.echo({})).instance))).size === ids.length);
    return { registry, client, started };
  };
  const answerers = async (client: MeshClient<typeof Echo>, n: number) => new Set(await Promise.all(Array.from({ length: n }, async () => (await client.echo({})).instance)));

  it("keeps serving through an empty list right after the registry restarted, with no failed call", async () => {
    const { registry, client } = await setup(["a", "b"]);
    let failures = 0;
    let calls = 0;
    let running = true;
    const loop = (async () => {
      while (running) {
        calls++;
        await client.echo({}).catch((err: unknown) => {
          failures++;
          throw err;
        });
      }
    })();
    await registry.restart();
    // The restarted registry is empty until the servers' lease renewals (every 200 ms here) register them again.
    assert.deepEqual(await registry.list("svc"), []);
    await until(async () => (await registry.list("svc")).length === 2);
    const after = calls;
    await until(async () => calls > after + 20);
    running = false;
    await loop;
    assert.equal(failures, 0);
    assert.deepEqual([...(await answerers(client, 20))].sort(), ["a", "b"]);
  });

  it("drops a held endpoint as soon as it stops serving", async () => {
    const { registry, client, started } = await setup(["c", "d"], 60_000);
    registry.partitioned.add("c");
    await registry.restart();
    await until(async () => (await registry.list("svc")).length === 1);
    assert.deepEqual([...(await answerers(client, 20))].sort(), ["c", "d"], "c is held while it serves");
    // c stops: NOT_SERVING first, then it closes. Calls go to d only, none fails.
    await started[0]!.stop();
    assert.deepEqual([...(await answerers(client, 20))], ["d"]);
  });

  it("lets a held endpoint go when the grace ends without it registering again", async () => {
    const clock = new FakeClock(Date.now());
    const { registry, client } = await setup(["e", "f"], 6000, clock);
    registry.partitioned.add("e");
    await registry.restart();
    await until(async () => (await registry.list("svc")).length === 1);
    assert.deepEqual([...(await answerers(client, 20))].sort(), ["e", "f"]);
    clock.advance(5999);
    assert.deepEqual([...(await answerers(client, 20))].sort(), ["e", "f"], "still inside the grace");
    clock.advance(2);
    await until(async () => (await answerers(client, 20)).size === 1);
    assert.deepEqual([...(await answerers(client, 20))], ["f"]);
  });

  it("drops a serving endpoint at once when an ordinary update (not a resync) leaves it out", async () => {
    const { registry, client } = await setup(["g", "h"], 60_000);
    registry.partitioned.add("g");
    // g leaves the running registry (as when its lease expires): no reconnect, so no grace, though g still serves.
    await registry.deregister(registry.leases.get("g")!);
    assert.deepEqual([...(await answerers(client, 20))], ["h"]);
  });
});

/** Polls `cond` until it holds (real time; generous, as tests here assert outcomes, not timings). */
async function until(cond: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond().catch(() => false))) {
    if (Date.now() > end) throw new Error("timed out waiting for a condition");
    await new Promise((r) => setTimeout(r, 10));
  }
}
