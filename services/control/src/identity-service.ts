import { Identity } from "@switchyard/api";
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { spiffeId, verifyJoinToken, type ServiceImpl } from "@switchyard/mesh";
import type { CertificateAuthority } from "@switchyard/mesh/ca";
import type { JoinTokenStore } from "./identity-store.js";

export interface IdentityServiceOptions {
  ca: CertificateAuthority;
  /** The join key (`<data>/secrets/join.key`) tokens are signed with. */
  joinKey: Buffer;
  tokens: JoinTokenStore;
  /** Lifetime of the certificates issued. */
  certTtlMs: number;
  logger: Logger;
}

/**
 * The CA's service. Enroll is the one method control answers without a client certificate (server.ts openMethods):
 * the join token is the credential, checked (signature, expiry, CA fingerprint) before anything is signed and spent
 * (its nonce recorded) only when a certificate is returned. Renew issues only the identity the caller's own
 * certificate proves.
 */
export function identityService(o: IdentityServiceOptions): ServiceImpl<typeof Identity> {
  const answer = (issued: { certPem: string; caPem: string; notAfterMs: number }, id: string) => ({ certificatePem: issued.certPem, caPem: issued.caPem, notAfterMs: BigInt(issued.notAfterMs), spiffeId: id });
  return {
    async enroll(req) {
      const claims = verifyJoinToken(o.joinKey, req.joinToken);
      if (claims.caFingerprint !== o.ca.fingerprint) throw new SwitchyardError(Code.Unauthenticated, "the join token was minted for another CA than this control's: mint a new one with `switchyard join-token`");
      const id = spiffeId(o.ca.trustDomain, claims.namespace, claims.account);
      const issued = await o.ca.issue(req.csrPem, id, o.certTtlMs);
      if (!(await o.tokens.claim(claims.nonce, claims.expiresAtMs))) {
        o.logger.warn({ id }, "a join token was presented a second time; refused");
        throw new SwitchyardError(Code.Unauthenticated, "the join token was used already (each is good for one enrolment): mint a new one");
      }
      o.logger.info({ id, notAfter: new Date(issued.notAfterMs).toISOString() }, "workload enrolled");
      return answer(issued, id);
    },
    async renew(req, ctx) {
      const id = ctx.callerId;
      if (id === undefined) throw new SwitchyardError(Code.Unauthenticated, "renewal needs the caller's current certificate (mutual TLS); a new workload enrols with a join token");
      return answer(await o.ca.issue(req.csrPem, id, o.certTtlMs), id);
    },
  };
}
