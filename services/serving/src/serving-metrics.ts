// The serving service's own series, beside the mesh's RED metrics in its registry (the gateway merges every
// service's /metrics): how many replicas each revision wants and has ready, read from the store when scraped.
import { createRequire } from "node:module";
import type * as Prom from "prom-client";
import type { Registry } from "prom-client";
import type { Reconciler } from "./reconciler.js";
import type { ServingStore } from "./serving-store.js";

export function registerServingMetrics(registry: Registry, store: ServingStore, rc: Reconciler): void {
  // Loaded here, as the mesh loads it: prom-client only where metrics are made.
  const { Gauge } = createRequire(import.meta.url)("prom-client") as typeof Prom;
  new Gauge({
    name: "switchyard_serving_replicas",
    help: "Replicas of each live revision: desired (the autoscaler's figure) and ready (registered, answering).",
    labelNames: ["deployment", "revision", "state"] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const names = new Map((await store.deployments()).map((d) => [d.uid, d.name]));
      for (const r of await store.allRevisions()) {
        const labels = { deployment: names.get(r.deployment_uid) ?? r.deployment_uid, revision: String(r.number) };
        this.set({ ...labels, state: "desired" }, r.state === "Active" ? r.desired : 0);
        this.set({ ...labels, state: "ready" }, rc.readyCount(r.deployment_uid, r.number));
      }
    },
  });
}
