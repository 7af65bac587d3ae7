import type { PolicySnapshot, PolicySource } from "@switchyard/mesh";
import type { ConfigStore } from "./config-store.js";

/**
 * control's own policies, read from its own store: control serves the config center, so its mesh runtime cannot watch
 * it over the mesh (it would depend on itself to start). `changed()` is called after every committed change
 * (configService's onChange); snapshots are read one after another, so they reach the policy store in order.
 */
export function localPolicySource(store: ConfigStore, namespace = "mesh"): PolicySource & { changed(): void } {
  const watchers = new Set<(s: PolicySnapshot) => void>();
  let chain: Promise<void> = Promise.resolve();
  const push = () => {
    chain = chain.then(async () => {
      const [docs, revision] = await Promise.all([store.list(namespace), store.revision()]);
      const snapshot: PolicySnapshot = { revision, documents: docs.map((d) => ({ name: `${d.kind}/${d.name}`, revision: d.version, yaml: d.content })) };
      for (const w of watchers) w(snapshot);
    });
    chain = chain.catch(() => undefined);
  };
  return {
    watch(onChange) {
      watchers.add(onChange);
      push();
      return () => watchers.delete(onChange);
    },
    changed: push,
  };
}
