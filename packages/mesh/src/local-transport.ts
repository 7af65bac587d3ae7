import type { HealthState } from "./health.js";

/** What a co-hosted call carries into the server: the request metadata, the deadline and the caller's cancellation. */
export interface LocalCallInit {
  readonly headers: Readonly<Record<string, string>>;
  /** Absolute deadline (ms since the epoch), or undefined. */
  readonly deadlineMs: number | undefined;
  readonly signal: AbortSignal | undefined;
  readonly peer: string;
  /** The calling runtime's workload identity and service name (same process: nothing to prove). */
  readonly callerId: string | undefined;
  readonly callerService: string | undefined;
}

/**
 * A server as seen by co-hosted clients: the same admission, metrics and tracing chain its gRPC handlers run, entered
 * with in-memory messages instead of bytes (server-chain.ts).
 */
export interface LocalServer {
  /** The mesh name (`jobs`). */
  readonly name: string;
  readonly instanceId: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly health: HealthState;
  has(path: string): boolean;
  unary(path: string, request: unknown, init: LocalCallInit): Promise<unknown>;
  stream(path: string, request: unknown, init: LocalCallInit): AsyncIterable<unknown>;
}

/**
 * The process-local table of co-hosted servers (Dubbo's injvm): `createServer` with a runtime that has one registers
 * itself here when it starts and leaves when it stops; a client of the same runtime family sees the server as an
 * endpoint of its destination and prefers it, so calls between co-hosted services stay in memory while routing,
 * retries, breakers, bulkheads, rate limits, metrics and traces still apply. Requests and responses are passed by
 * reference (as Dubbo's injvm does): neither side may mutate a message after handing it over.
 */
export class LocalTable {
  private readonly servers = new Map<string, Set<LocalServer>>();
  private readonly watchers = new Map<string, Set<() => void>>();

  register(server: LocalServer): () => void {
    let set = this.servers.get(server.name);
    if (!set) this.servers.set(server.name, (set = new Set()));
    set.add(server);
    this.notify(server.name);
    return () => {
      if (set.delete(server)) this.notify(server.name);
    };
  }

  list(name: string): LocalServer[] {
    return [...(this.servers.get(name) ?? [])];
  }

  /** Calls `onChange` after every registration or removal for `name`. Returns stop. */
  watch(name: string, onChange: () => void): () => void {
    let set = this.watchers.get(name);
    if (!set) this.watchers.set(name, (set = new Set()));
    set.add(onChange);
    return () => set.delete(onChange);
  }

  private notify(name: string): void {
    for (const w of this.watchers.get(name) ?? []) w();
  }
}
