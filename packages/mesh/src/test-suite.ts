// For this package's own test files only (it uses node:test's hooks): not exported by @switchyard/mesh/testing.
import { after } from "node:test";
import type { Echo, EchoInstance } from "./echo-fixture.js";
import { MemoryRegistry } from "./registry-memory.js";
import type { MeshClient } from "./types.js";

/** What a suite of echo tests starts — a registry, echo instances, clients — all closed after the suite. */
export function echoSuite(): { registry: MemoryRegistry; instances: EchoInstance[]; clients: MeshClient<typeof Echo>[] } {
  const suite = { registry: new MemoryRegistry({ sweepMs: 20 }), instances: [] as EchoInstance[], clients: [] as MeshClient<typeof Echo>[] };
  after(async () => {
    for (const c of suite.clients) c.close();
    await Promise.all(suite.instances.map((i) => i.stop()));
    await suite.registry.close();
  });
  return suite;
}
