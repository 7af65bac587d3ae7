import { Code, SwitchyardError, noopLogger, type Logger } from "@switchyard/core";
import type { MeshEvents } from "./events.js";
import { EMPTY_POLICIES, compileMeshPolicies, type CompiledPolicies } from "./policy-compile.js";
import { knownDefaultResources } from "./default-authz.js";
import { parseMeshPolicies, type PolicyResource } from "./policy-parse.js";

/** One versioned policy document of the config center: a name, its YAML (one or more resources), a revision. */
export interface PolicyDocument {
  /** Unique in the source, e.g. `jobs-canary`. */
  readonly name: string;
  /** Increases on every change of this document (etcd's mod_revision fits). */
  readonly revision: number;
  readonly yaml: string;
}

/** All documents of a source at one moment. `revision` increases on every change of any document. */
export interface PolicySnapshot {
  readonly revision: number;
  readonly documents: readonly PolicyDocument[];
}

/**
 * Where the mesh's policies come from: the config center in `control` (policy-source-control.ts) or memory
 * (MemoryPolicySource); etcd or a file would implement the same interface. The mesh only watches:
 * `onChange` gets the full set now (asynchronously) and after every change, and the mesh swaps its compiled policies
 * without a restart. A backend delivers whole snapshots, so a change spanning documents (a DestinationRule's new subset
 * and the VirtualService routing to it) is applied at once when the backend writes them in one revision.
 */
export interface PolicySource {
  watch(onChange: (snapshot: PolicySnapshot) => void): () => void;
}

/**
 * Parses and compiles a set of documents as the mesh would, throwing a SwitchyardError (INVALID_ARGUMENT, with field
 * violations carrying the document name and line) when it would refuse them. A config center calls this before it
 * stores a change, so that `apply` fails loudly instead of the mesh keeping the old policies quietly.
 */
export function validatePolicyDocuments(documents: readonly Pick<PolicyDocument, "name" | "yaml">[], revision = 0): CompiledPolicies {
  const resources: PolicyResource[] = [];
  for (const d of documents) resources.push(...parseMeshPolicies(d.yaml, { source: d.name }).resources);
  return compileMeshPolicies(resources, revision);
}

/** An in-memory, versioned policy source: the config center's model, for tests and the single-process platform. */
export class MemoryPolicySource implements PolicySource {
  private readonly documents = new Map<string, PolicyDocument>();
  private readonly watchers = new Set<(s: PolicySnapshot) => void>();
  private revisionCounter = 0;

  /** Adds or replaces documents in one revision, after validating the resulting set. Returns the new revision. */
  apply(changes: Record<string, string>): number {
    const next = new Map(this.documents);
    const revision = this.revisionCounter + 1;
    for (const [name, yaml] of Object.entries(changes)) next.set(name, { name, yaml, revision });
    validatePolicyDocuments([...next.values()], revision);
    return this.commit(next, revision);
  }

  /** Removes documents in one revision (validating what remains). */
  delete(...names: string[]): number {
    const next = new Map(this.documents);
    for (const n of names) if (!next.delete(n)) throw new SwitchyardError(Code.NotFound, `no policy document named "${n}"`);
    const revision = this.revisionCounter + 1;
    validatePolicyDocuments([...next.values()], revision);
    return this.commit(next, revision);
  }

  snapshot(): PolicySnapshot {
    return { revision: this.revisionCounter, documents: [...this.documents.values()] };
  }

  watch(onChange: (snapshot: PolicySnapshot) => void): () => void {
    this.watchers.add(onChange);
    queueMicrotask(() => {
      if (this.watchers.has(onChange)) onChange(this.snapshot());
    });
    return () => this.watchers.delete(onChange);
  }

  private commit(next: Map<string, PolicyDocument>, revision: number): number {
    this.documents.clear();
    for (const [k, v] of next) this.documents.set(k, v);
    this.revisionCounter = revision;
    const snap = this.snapshot();
    for (const w of this.watchers) w(snap);
    return revision;
  }
}

/** The compiled policies a process runs with, following a source. */
export interface PolicyStore {
  /** The policies in force: read on every call, replaced whole on every accepted change. */
  readonly current: CompiledPolicies;
  /** The last snapshot that was refused (its error); undefined once a later one is accepted. */
  readonly lastError: SwitchyardError | undefined;
  /** Resolves when the source's first snapshot has been applied or refused. */
  ready(): Promise<void>;
  onChange(listener: (policies: CompiledPolicies) => void): () => void;
  close(): void;
}

export interface PolicyStoreOptions {
  source?: PolicySource;
  events?: MeshEvents;
  logger?: Logger;
}

/**
 * Follows a PolicySource: each snapshot is parsed (documents whose revision did not change are not parsed again) and
 * compiled as a whole; an invalid snapshot is refused (event `policyRejected`, a warning) and the previous policies stay
 * in force. Without a source, the store holds the defaults forever.
 */
export function createPolicyStore(options: PolicyStoreOptions = {}): PolicyStore {
  const log = options.logger ?? noopLogger;
  let current = EMPTY_POLICIES;
  let lastError: SwitchyardError | undefined;
  const listeners = new Set<(p: CompiledPolicies) => void>();
  const parsed = new Map<string, { revision: number; resources: readonly PolicyResource[] }>();
  let markReady: () => void = () => undefined;
  const readyPromise = new Promise<void>((r) => (markReady = r));

  const apply = (snap: PolicySnapshot) => {
    let failing = "";
    try {
      const resources: PolicyResource[] = [];
      for (const d of snap.documents) {
        failing = d.name;
        let p = parsed.get(d.name);
        if (p === undefined || p.revision !== d.revision) parsed.set(d.name, (p = { revision: d.revision, resources: knownDefaultResources(d.yaml, d.name) ?? parseMeshPolicies(d.yaml, { source: d.name }).resources }));
        resources.push(...p.resources);
      }
      failing = "(the set)";
      for (const name of parsed.keys()) if (!snap.documents.some((d) => d.name === name)) parsed.delete(name);
      current = compileMeshPolicies(resources, snap.revision);
      lastError = undefined;
      options.events?.emit("policyApplied", { revision: snap.revision, documents: snap.documents.map((d) => ({ name: d.name, revision: d.revision })) });
      log.info({ revision: snap.revision, documents: snap.documents.length }, "mesh policies applied");
      for (const l of listeners) l(current);
    } catch (err) {
      lastError = SwitchyardError.from(err);
      options.events?.emit("policyRejected", { document: failing, revision: snap.revision, error: lastError });
      log.warn({ revision: snap.revision, document: failing, err: lastError.message }, "mesh policies refused; the previous ones stay in force");
    }
    markReady();
  };
  const stop = options.source?.watch(apply);
  if (!options.source) markReady();
  return {
    get current() {
      return current;
    },
    get lastError() {
      return lastError;
    },
    ready: () => readyPromise,
    onChange(l) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    close() {
      stop?.();
      listeners.clear();
    },
  };
}
