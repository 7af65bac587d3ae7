import type { Clock } from "@switchyard/core";
import type { MeshCredentials } from "./credentials.js";
import { MeshEvents, type MeshEventMap } from "./events.js";
import type { LocalTable } from "./local-transport.js";
import { MemoryPolicySource, createPolicyStore } from "./policy-source.js";
import { createMeshRuntime, type MeshRuntime } from "./runtime.js";
import type { MeshTracing } from "./tracing.js";

/** Helpers shared by the mesh's tests (real servers on loopback, policies from YAML, events recorded). */

export interface TestRuntime {
  readonly rt: MeshRuntime;
  readonly source: MemoryPolicySource;
  readonly events: MeshEvents;
  /** Applies YAML documents as one revision and waits until the runtime runs with it. */
  apply(docs: Record<string, string>): Promise<void>;
  /** Records every event of the given types, in order. */
  record<K extends keyof MeshEventMap>(...types: K[]): MeshEventMap[K][];
}

export async function testRuntime(o: { yaml?: string; clock?: Clock; serviceName?: string; local?: LocalTable; tracing?: MeshTracing; random?: () => number; events?: MeshEvents; credentials?: MeshCredentials; mode?: "mesh" | "istio" } = {}): Promise<TestRuntime> {
  const source = new MemoryPolicySource();
  if (o.yaml !== undefined) source.apply({ policies: o.yaml });
  const events = o.events ?? new MeshEvents();
  const policies = createPolicyStore({ source, events });
  await policies.ready();
  const rt = createMeshRuntime({ policies, events, ...(o.clock ? { clock: o.clock } : {}), ...(o.serviceName ? { serviceName: o.serviceName } : {}), ...(o.local ? { local: o.local } : {}), ...(o.tracing ? { tracing: o.tracing } : {}), ...(o.random ? { random: o.random } : {}), ...(o.credentials ? { credentials: o.credentials } : {}), ...(o.mode ? { mode: o.mode } : {}) });
  return {
    rt,
    source,
    events,
    async apply(docs) {
      const revision = source.apply(docs);
      while (policies.current.revision < revision) await new Promise((r) => setImmediate(r));
    },
    record(...types) {
      const out: MeshEventMap[(typeof types)[number]][] = [];
      for (const t of types) events.on(t, (e) => out.push(e));
      return out;
    },
  };
}

/** Runs `total` calls with at most `concurrency` in flight; resolves with each call's outcome. */
export async function runConcurrent<T>(concurrency: number, total: number, call: (i: number) => Promise<T>): Promise<PromiseSettledResult<T>[]> {
  const out: PromiseSettledResult<T>[] = new Array(total);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < total; i = next++) {
      try {
        out[i] = { status: "fulfilled", value: await call(i) };
      } catch (reason) {
        out[i] = { status: "rejected", reason };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, total) }, worker));
  return out;
}

/** Keeps `concurrency` callers calling `call` in a loop until `stop()` (which resolves when they have all returned). */
export function backgroundLoad(concurrency: number, call: () => Promise<void>): { stop(): Promise<void> } {
  let stopped = false;
  const workers = Array.from({ length: concurrency }, async () => {
    while (!stopped) await call();
  });
  return {
    async stop() {
      stopped = true;
      await Promise.all(workers);
    },
  };
}

/** Counts values. */
export function tally(values: Iterable<string>): Record<string, number> {
  const t: Record<string, number> = {};
  for (const v of values) t[v] = (t[v] ?? 0) + 1;
  return t;
}

/** Waits (real time, polling every 5 ms) until `cond` holds, failing after `timeoutMs`. */
export async function until(cond: () => boolean, timeoutMs = 3000, what = "condition"): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

export const DR = (host: string, body: string) => `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: ${host}-dr}
spec:
  host: ${host}
${body}`;

export const VS = (host: string, body: string) => `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: ${host}-vs}
spec:
  hosts: [${host}]
${body}`;

export const OWN = (kind: string, name: string, body: string) => `apiVersion: mesh.switchyard.io/v1
kind: ${kind}
metadata: {name: ${name}}
spec:
${body}`;
