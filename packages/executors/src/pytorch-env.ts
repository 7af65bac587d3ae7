/**
 * The environment Kubeflow's PyTorchJob gives every replica, so that `torch.distributed.init_process_group(
 * init_method="env://")` and `torchrun` work unchanged on every engine.
 */
import { createServer } from "node:net";
import { invalidArgument } from "@switchyard/core";
import type { FieldViolation } from "@switchyard/core";

export interface PytorchEnvOptions {
  /** The replica's global index: the master is 0, worker i is i + 1. */
  replicaIndex: number;
  /** All replicas, master included (PET_NNODES). */
  replicas: number;
  /** Processes per replica (PET_NPROC_PER_NODE). */
  nprocPerNode: number;
  /** Address of replica 0. */
  masterAddr: string;
  masterPort: number;
}

/**
 * Exactly the Training Operator's PyTorchJob variables, plus LOCAL_RANK=0 for single-process replicas:
 * WORLD_SIZE = replicas × nprocPerNode and RANK = PET_NODE_RANK = replicaIndex, as Kubeflow sets them.
 */
export function pytorchEnv(o: PytorchEnvOptions): Record<string, string> {
  const problems: FieldViolation[] = [];
  const wholeAtLeast = (field: keyof PytorchEnvOptions, min: number): void => {
    const v = o[field];
    if (typeof v !== "number" || !Number.isSafeInteger(v) || v < min) {
      problems.push({ field, message: `must be an integer >= ${min}`, got: String(v) });
    }
  };
  wholeAtLeast("replicas", 1);
  wholeAtLeast("nprocPerNode", 1);
  wholeAtLeast("replicaIndex", 0);
  if (o.replicaIndex >= o.replicas) problems.push({ field: "replicaIndex", message: `must be below replicas (${o.replicas})`, got: String(o.replicaIndex) });
  if (!Number.isSafeInteger(o.masterPort) || o.masterPort < 1 || o.masterPort > 65535) {
    problems.push({ field: "masterPort", message: "must be a TCP port (1-65535)", got: String(o.masterPort) });
  }
  if (typeof o.masterAddr !== "string" || o.masterAddr === "") problems.push({ field: "masterAddr", message: "is required" });
  if (problems.length > 0) {
    throw invalidArgument(`cannot build the PyTorchJob environment: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`, problems);
  }
  const port = String(o.masterPort);
  return {
    PYTHONUNBUFFERED: "1",
    MASTER_ADDR: o.masterAddr,
    MASTER_PORT: port,
    WORLD_SIZE: String(o.replicas * o.nprocPerNode),
    RANK: String(o.replicaIndex),
    LOCAL_RANK: "0",
    PET_MASTER_ADDR: o.masterAddr,
    PET_MASTER_PORT: port,
    PET_NNODES: String(o.replicas),
    PET_NODE_RANK: String(o.replicaIndex),
    PET_NPROC_PER_NODE: String(o.nprocPerNode),
  };
}

/**
 * A TCP port that was free a moment ago (listen on port 0, read it, close). Another process may take it before the
 * master binds it; rendezvous retries cover that.
 */
export function findFreePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      server.close((err) => (err ? reject(err) : port > 0 ? resolve(port) : reject(new Error(`no port from listen on ${host}`))));
    });
  });
}
