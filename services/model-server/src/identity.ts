/**
 * The replica's workload identity: a certificate of its team (spiffe://<trust-domain>/ns/<team>/sa/model-<deployment>),
 * which the serving service obtains from control for it — the replica runs in a sandbox that cannot reach control, and
 * its key never leaves it: RequestCertificate makes a new key and answers its certificate request, InstallCertificate
 * brings the certificate control issued for that key. From the first certificate on, inference is served with mutual
 * TLS on `<socket>-mtls`, to platform services only (the gateway forwards users' requests; a team's own workloads and
 * anything without a certificate of the platform CA are refused); later certificates replace it without dropping a
 * call (the serving service renews at half-life). The replica is the platform-owned mTLS proxy of a custom predictor
 * too: the predictor speaks plain HTTP to it alone, on loopback.
 */
import { X509Certificate } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { createCsr, createMeshRuntime, createServer, generateWorkloadKey, parseSpiffeId, ServingStatus, spiffeIdOfSan, SYSTEM_NAMESPACE, WorkloadIdentity, type CallContext, type MeshServer, type ServiceImpl } from "@switchyard/mesh";

/** The platform services a replica answers inference from over mutual TLS. */
const CALLERS: readonly string[] = ["gateway", "serving"];

export interface IssuedForReplica {
  certPem: string;
  caPem: string;
  notAfterMs: number;
}

export interface ReplicaIdentity {
  /** A new key for `spiffeId` and its certificate request (PEM). */
  request(spiffeId: string): string;
  /** The certificate for the last request; starts the mutual-TLS server on the first one. Returns its address. */
  install(issued: IssuedForReplica): Promise<string>;
  /** Whether the model takes requests (the mutual-TLS server's health says so too, once it runs). */
  setServing(serving: boolean): void;
  close(): Promise<void>;
}

/** Each handler of `impl` refused to any caller but the platform services named (the certificate says which). */
export function onlyFromPlatform<S extends DescService>(impl: ServiceImpl<S>, services: readonly string[] = CALLERS): ServiceImpl<S> {
  const out: Record<string, unknown> = {};
  for (const [name, handler] of Object.entries(impl as Record<string, (req: unknown, ctx: CallContext) => unknown>)) {
    out[name] = (req: unknown, ctx: CallContext) => {
      if (ctx.callerService === undefined || !services.includes(ctx.callerService)) {
        throw new SwitchyardError(Code.PermissionDenied, `this model server answers ${services.join(" and ")} only (the caller is ${ctx.callerId ?? "no workload of the platform"}): send requests through the gateway`);
      }
      return handler(req, ctx);
    };
  }
  return out as ServiceImpl<S>;
}

export function replicaIdentity(o: {
  socketPath: string;
  logger: Logger;
  maxMessageBytes: number;
  /** Adds the services the mutual-TLS server serves (inference, guarded). */
  serve: (server: MeshServer) => void;
}): ReplicaIdentity {
  let pending: { id: string; keyPem: string; spki: Buffer } | undefined;
  let identity: WorkloadIdentity | undefined;
  let server: MeshServer | undefined;
  let starting: Promise<string> | undefined;
  let serving = false;
  const address = `unix:${o.socketPath}-mtls`;
  return {
    request(spiffeId) {
      const p = parseSpiffeId(spiffeId);
      if (p === undefined || p.namespace === SYSTEM_NAMESPACE || !p.account.startsWith("model-")) {
        throw new SwitchyardError(Code.InvalidArgument, `${spiffeId.slice(0, 200)} is not a model server's identity (spiffe://<trust-domain>/ns/<team>/sa/model-<name>)`);
      }
      if (identity !== undefined && identity.id !== spiffeId) throw new SwitchyardError(Code.FailedPrecondition, `this replica is ${identity.id}; it cannot become ${spiffeId}`);
      const key = generateWorkloadKey();
      pending = { id: spiffeId, keyPem: key.keyPem, spki: key.spkiDer };
      return createCsr(key, spiffeId);
    },
    async install(issued) {
      const p = pending;
      if (p === undefined) throw new SwitchyardError(Code.FailedPrecondition, "no certificate was requested: call RequestCertificate first");
      let cert: X509Certificate;
      try {
        cert = new X509Certificate(issued.certPem);
      } catch {
        throw new SwitchyardError(Code.InvalidArgument, "certificate_pem is not an X.509 certificate");
      }
      if (spiffeIdOfSan(cert.subjectAltName) !== p.id) throw new SwitchyardError(Code.InvalidArgument, `the certificate names ${spiffeIdOfSan(cert.subjectAltName) ?? "no workload"}, not ${p.id}`);
      if (!Buffer.from(cert.publicKey.export({ type: "spki", format: "der" })).equals(p.spki)) throw new SwitchyardError(Code.InvalidArgument, "the certificate is not for the key of the last request");
      pending = undefined;
      const full = { certPem: issued.certPem, caPem: issued.caPem, notAfterMs: issued.notAfterMs, keyPem: p.keyPem };
      if (identity !== undefined) {
        identity.install(full);
        return (await starting) ?? address;
      }
      identity = new WorkloadIdentity({ id: p.id, trustDomain: parseSpiffeId(p.id)!.trustDomain, issued: full, logger: o.logger });
      const runtime = createMeshRuntime({ serviceName: "inference", credentials: identity, logger: o.logger });
      server = createServer({ name: "inference", socketPath: `${o.socketPath}-mtls`, logger: o.logger, runtime, maxReceiveMessageBytes: o.maxMessageBytes, maxSendMessageBytes: o.maxMessageBytes });
      o.serve(server);
      starting = server.start();
      const at = await starting;
      server.health.setAll(serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
      o.logger.info({ id: p.id, address: at, notAfter: new Date(issued.notAfterMs).toISOString() }, "serving inference with mutual TLS as the team's workload");
      return at;
    },
    setServing(s) {
      serving = s;
      server?.health.setAll(s ? ServingStatus.SERVING : ServingStatus.NOT_SERVING);
    },
    async close() {
      await server?.stop(0);
      identity?.close();
    },
  };
}
