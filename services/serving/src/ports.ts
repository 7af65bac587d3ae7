/**
 * What the serving service needs from the rest of the platform, as narrow interfaces: the jobs service (replicas are
 * its jobs), a replica's socket (load, model upload), the registry (replicas as `inference` endpoints) and the config
 * center (traffic policies). start.ts binds them to mesh clients; tests bind them to real services too.
 */
import type { CallContext, EndUser, GrantRecorder } from "@switchyard/mesh";

export interface ReplicaJob {
  uid: string;
  name: string;
  /** Queued, Starting, Running, Succeeded, Failed, Cancelled, … */
  phase: string;
  message: string;
  /** The job's directory (its socket is `serve.sock` there). */
  jobDir: string;
}

export interface JobsPort {
  /** Submits a replica job as the deployment's owner (under the owner's grant); idempotent by `requestId`. */
  submit(manifest: string, requestId: string, owner: EndUser): Promise<ReplicaJob>;
  /** undefined when the job is gone. */
  get(uid: string, team: string): Promise<ReplicaJob | undefined>;
  /** Cancels (SIGTERM, then SIGKILL after the jobs service's grace); a finished job is fine. */
  cancel(uid: string, team: string): Promise<void>;
  /** Deletes a finished job with its files; a missing one is fine. */
  remove(uid: string, team: string): Promise<void>;
  /**
   * A job's artifact, read for the user of the call being handled (`call`: the jobs service sees the gateway's
   * proof that they are calling now, and decides whether they may).
   */
  readArtifact(job: string, team: string, path: string, call: CallContext): AsyncIterable<Uint8Array>;
  /** A job's uid and the last value of each of its metrics, read for the user of `call`. */
  finalMetrics(job: string, team: string, call: CallContext): Promise<{ uid: string; metrics: Record<string, number> }>;
}

/**
 * Delegation grants (mesh grants.ts) in the config center: what lets this service submit a deployment's replicas as
 * its owner after the owner's call is over, and nothing else (mesh grantRecorder).
 */
export type GrantsPort = GrantRecorder;

export interface ReplicaLoad {
  ready: boolean;
  inFlight: number;
  completed: number;
  busyMsTotal: number;
}

/** Certificates for replicas from control's CA (Identity.IssueWorkload). */
export interface IdentityPort {
  issue(spiffeId: string, csrPem: string): Promise<{ certPem: string; caPem: string; notAfterMs: number }>;
}

export interface ReplicaPort {
  /** The replica's load; throws while its socket does not answer. */
  load(socket: string): Promise<ReplicaLoad>;
  /** Sends the model file in pieces; resolves once the replica loaded it. */
  sendModel(socket: string, pieces: AsyncIterable<Uint8Array>, totalBytes: number, checksum: string): Promise<void>;
  /**
   * Gives the replica its workload identity: a certificate request from it, the certificate from `issue`, installed.
   * Answers where it serves inference with mutual TLS, and until when the certificate holds.
   */
  certify(socket: string, spiffeId: string, issue: (csrPem: string) => Promise<{ certPem: string; caPem: string; notAfterMs: number }>): Promise<{ address: string; notAfterMs: number }>;
  /** Forgets the connection to a replica that went away. */
  forget(socket: string): void;
  close(): void;
}

export interface EndpointRegistration {
  /** Removes the endpoint from the registry (idempotent). */
  remove(): Promise<void>;
}

export interface RegistryPort {
  /** Registers a replica as an `inference` endpoint and keeps its lease alive until removed. */
  register(replicaId: string, address: string, labels: Record<string, string>): Promise<EndpointRegistration>;
}

export interface PolicyPort {
  /** Writes the traffic policies (DestinationRule and VirtualService), or removes them (undefined). */
  write(docs: { destinationRule: string; virtualService: string } | undefined): Promise<void>;
}
