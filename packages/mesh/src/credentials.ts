/**
 * Service credentials: how a server knows which platform service is calling. Every call of a runtime with credentials
 * says `x-switchyard-caller: <service>` and proves it with `x-switchyard-proof: HMAC-SHA256(key, service)`, the key
 * being the platform's service key (`<data>/secrets/mesh.key`, 0600). A server whose runtime has credentials refuses
 * (UNAUTHENTICATED) a call without a valid proof before anything else runs, and tells its handlers the verified
 * caller (`CallContext.callerService`); the proof itself never reaches a handler or the next hop.
 *
 * This is the stopgap until mTLS with per-service certificates: every holder of the key can claim any service name,
 * so the key is only in the data dir, which only the platform's user can read. Over a Unix socket in that directory the
 * operating system already keeps other users out; over TCP (another host) the proof is what does, and it travels in
 * clear text, so a TCP listener belongs on a network that is trusted not to be sniffed.
 */
import { createHmac, timingSafeEqual } from "node:crypto";
import { Code, SwitchyardError } from "@switchyard/core";

export const CALLER_HEADER = "x-switchyard-caller";
export const PROOF_HEADER = "x-switchyard-proof";

export interface MeshCredentials {
  /** The proof that a call comes from `service`. */
  proofFor(service: string): string;
  /**
   * The verified calling service of a call with these headers: returns the service, or throws UNAUTHENTICATED.
   * Removes the proof from `headers` (handlers, logs and propagated metadata never see it).
   */
  verify(headers: Record<string, string>, server: string): string;
}

/** Credentials from a shared key (loadOrCreateKey(keyPath(dataDir, "mesh"))). Proofs are computed once per name. */
export function createSharedKeyCredentials(key: Buffer): MeshCredentials {
  const proofs = new Map<string, Buffer>();
  const proof = (service: string): Buffer => {
    let p = proofs.get(service);
    if (p === undefined) {
      p = Buffer.from(createHmac("sha256", key).update(`switchyard-service:${service}`).digest("base64url"));
      if (proofs.size < 1000) proofs.set(service, p);
    }
    return p;
  };
  return {
    proofFor: (service) => proof(service).toString(),
    verify(headers, server) {
      const service = headers[CALLER_HEADER];
      const given = headers[PROOF_HEADER];
      delete headers[PROOF_HEADER];
      if (!service || !given) {
        throw new SwitchyardError(Code.Unauthenticated, `${server} answers platform services only: the call carries no service credential (${CALLER_HEADER} and ${PROOF_HEADER}); users call the gateway with a token`);
      }
      const want = proof(service);
      const got = Buffer.from(given);
      if (got.length !== want.length || !timingSafeEqual(got, want)) {
        throw new SwitchyardError(Code.Unauthenticated, `${server} refused the call: its service credential for "${service}" is not valid`);
      }
      return service;
    },
  };
}
