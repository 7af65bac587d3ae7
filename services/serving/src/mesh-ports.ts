/**
 * The ports (ports.ts) on the mesh: the jobs service and the config center through governed clients (mutual TLS,
 * the owner's identity as a user token where a replica is submitted for them), the registry through the service's
 * own registry handle, and each replica's socket through a plaintext client (the socket's directory is the
 * replica's protection; inference itself goes to each replica's mutual-TLS socket, as its team's certified workload).
 */
import { ConfigCenter, Identity, Jobs, ModelServer } from "@switchyard/api";
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { createClient, createMeshRuntime, type MeshClient, type MeshRuntime, type Registry } from "@switchyard/mesh";
import type { EndpointRegistration, IdentityPort, JobsPort, PolicyPort, RegistryPort, ReplicaJob, ReplicaLoad, ReplicaPort } from "./ports.js";
import { INFERENCE_HOST, POLICY_NAME } from "./traffic-policy.js";

const isNotFound = (err: unknown) => err instanceof SwitchyardError && err.code === Code.NotFound;

export function jobsPort(client: MeshClient<typeof Jobs>): JobsPort {
  const toJob = (j: { metadata?: { uid: string; name: string }; status?: { phase: string; message: string; jobDir: string } }): ReplicaJob => ({
    uid: j.metadata?.uid ?? "",
    name: j.metadata?.name ?? "",
    phase: j.status?.phase ?? "",
    message: j.status?.message ?? "",
    jobDir: j.status?.jobDir ?? "",
  });
  return {
    async submit(manifest, requestId, owner) {
      const r = await client.submitJob({ manifest, requestId, workloadClass: "serving", fileName: "replica.yaml" }, { user: owner, timeoutMs: 30_000 });
      return toJob(r.job!);
    },
    async get(uid, team) {
      try {
        return toJob(await client.getJob({ name: uid, team }, { timeoutMs: 5000 }));
      } catch (err) {
        if (isNotFound(err)) return undefined;
        throw err;
      }
    },
    async cancel(uid, team) {
      try {
        await client.cancelJob({ name: uid, team }, { timeoutMs: 10_000 });
      } catch (err) {
        if (!isNotFound(err) && !(err instanceof SwitchyardError && err.code === Code.FailedPrecondition)) throw err;
      }
    },
    async remove(uid, team) {
      try {
        await client.deleteJob({ name: uid, team, purge: true }, { timeoutMs: 10_000 });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    },
    async *readArtifact(job, team, path, call) {
      for await (const c of client.readArtifact({ name: job, team, path }, { parent: call })) yield c.data;
    },
    async finalMetrics(job, team, call) {
      const j = await client.getJob({ name: job, team }, { parent: call, timeoutMs: 10_000 });
      const m = await client.getMetrics({ name: job, team, maxPoints: 1 }, { parent: call, timeoutMs: 10_000 });
      return { uid: j.metadata?.uid ?? "", metrics: Object.fromEntries(m.series.map((s) => [s.name, s.latest])) };
    },
  };
}

/** Clients to replicas' sockets, one per socket, on a runtime without credentials (the sockets speak plaintext). */
export function replicaPort(logger: Logger): ReplicaPort {
  const runtime: MeshRuntime = createMeshRuntime({ serviceName: "serving", logger });
  const clients = new Map<string, MeshClient<typeof ModelServer>>();
  const clientOf = (socket: string) => {
    let c = clients.get(socket);
    if (!c) clients.set(socket, (c = createClient(ModelServer, { target: `unix:${socket}`, runtime, healthCheck: false })));
    return c;
  };
  return {
    async load(socket): Promise<ReplicaLoad> {
      const r = await clientOf(socket).getLoad({}, { timeoutMs: 2000 });
      return { ready: r.ready, inFlight: r.inFlight, completed: Number(r.completed), busyMsTotal: r.busyMsTotal };
    },
    async sendModel(socket, pieces, totalBytes, checksum) {
      const c = clientOf(socket);
      let offset = 0;
      let pending: Uint8Array | undefined;
      // One piece behind, so the last one goes with `last` and the checksum.
      for await (const p of pieces) {
        if (pending) {
          await c.loadModel({ offset: BigInt(offset), data: pending, last: false, totalBytes: BigInt(totalBytes) }, { timeoutMs: 60_000 });
          offset += pending.byteLength;
        }
        pending = p;
      }
      await c.loadModel({ offset: BigInt(offset), data: pending ?? new Uint8Array(), last: true, checksum, totalBytes: BigInt(totalBytes) }, { timeoutMs: 300_000 });
    },
    async certify(socket, spiffeId, issue) {
      const c = clientOf(socket);
      const { csrPem } = await c.requestCertificate({ spiffeId }, { timeoutMs: 10_000 });
      const issued = await issue(csrPem);
      const { address } = await c.installCertificate({ certificatePem: issued.certPem, caPem: issued.caPem, notAfterMs: BigInt(issued.notAfterMs) }, { timeoutMs: 10_000 });
      return { address, notAfterMs: issued.notAfterMs };
    },
    forget(socket) {
      clients.get(socket)?.close();
      clients.delete(socket);
    },
    close() {
      for (const c of clients.values()) c.close();
      clients.clear();
    },
  };
}

/** Replicas in the registry as `inference` instances, each lease renewed until removed (re-registered if it lapsed). */
export function registryPort(registry: Registry, logger: Logger, ttlMs = 6000): RegistryPort {
  return {
    async register(replicaId, address, labels): Promise<EndpointRegistration> {
      const instance = { service: INFERENCE_HOST, address, labels, instanceId: `replica-${replicaId}` };
      let lease = await registry.register(instance, ttlMs);
      let removed = false;
      const timer = setInterval(() => {
        registry
          .keepAlive(lease.leaseId)
          .then(async (found) => {
            if (!found && !removed) lease = await registry.register(instance, ttlMs);
          })
          .catch((err: unknown) => logger.warn({ err, replica: replicaId }, "renewing a replica's registration failed; trying again"));
      }, Math.max(200, ttlMs / 3));
      timer.unref();
      return {
        async remove() {
          if (removed) return;
          removed = true;
          clearInterval(timer);
          await registry.deregister(lease.leaseId);
        },
      };
    },
  };
}

/** The traffic policies as two config-center documents of the `mesh` namespace (validated there like any change). */
export function policyPort(client: MeshClient<typeof ConfigCenter>): PolicyPort {
  return {
    async write(docs) {
      if (docs) {
        await client.putDocuments({
          documents: [
            { namespace: "mesh", kind: "DestinationRule", name: POLICY_NAME, content: docs.destinationRule },
            { namespace: "mesh", kind: "VirtualService", name: POLICY_NAME, content: docs.virtualService },
          ],
        }, { timeoutMs: 10_000 });
        return;
      }
      // The VirtualService first: it names the rule's subsets.
      await client.deleteDocument({ namespace: "mesh", kind: "VirtualService", name: POLICY_NAME }, { timeoutMs: 10_000 });
      await client.deleteDocument({ namespace: "mesh", kind: "DestinationRule", name: POLICY_NAME }, { timeoutMs: 10_000 });
    },
  };
}


/** Replicas' certificates from control's CA: the serving service may ask for its deployments' identities only. */
export function identityPort(client: MeshClient<typeof Identity>): IdentityPort {
  return {
    async issue(spiffeId, csrPem) {
      const r = await client.issueWorkload({ spiffeId, csrPem }, { timeoutMs: 10_000 });
      return { certPem: r.certificatePem, caPem: r.caPem, notAfterMs: Number(r.notAfterMs) };
    },
  };
}
