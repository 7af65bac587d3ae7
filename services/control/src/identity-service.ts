import { Identity } from "@switchyard/api";
import { Code, SwitchyardError, type Logger } from "@switchyard/core";
import { parseSpiffeId, spiffeId, SYSTEM_NAMESPACE, verifyJoinToken, type ServiceImpl } from "@switchyard/mesh";
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
 * Which platform service certifies which accounts of a team's namespace: the serving service runs each deployment's
 * replicas (model servers) and certifies them as `ns/<team>/sa/model-<deployment>`. Another service, or another
 * account, gets nothing: a team's workload identity is handed out by the one service that runs such workloads.
 */
export const WORKLOAD_ISSUERS: Readonly<Record<string, RegExp>> = { serving: /^model-[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/ };
const TEAM = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

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
      // A team's workload is renewed by the service that certified it (while it still runs it), never by itself: a
      // certificate taken out of a replica must not outlive the deployment.
      if (parseSpiffeId(id)?.namespace !== SYSTEM_NAMESPACE) throw new SwitchyardError(Code.PermissionDenied, `${id} is a team's workload: the service that runs it renews its certificate, it does not renew itself`);
      return answer(await o.ca.issue(req.csrPem, id, o.certTtlMs), id);
    },
    async issueWorkload(req, ctx) {
      const service = ctx.callerService;
      const accounts = service === undefined ? undefined : WORKLOAD_ISSUERS[service];
      if (accounts === undefined) throw new SwitchyardError(Code.PermissionDenied, `${ctx.callerId ?? "a caller without a certificate"} certifies no team workloads (only ${Object.keys(WORKLOAD_ISSUERS).join(", ")} does, for the workloads it runs)`);
      const p = parseSpiffeId(req.spiffeId);
      if (p === undefined || p.trustDomain !== o.ca.trustDomain || p.namespace === SYSTEM_NAMESPACE || !TEAM.test(p.namespace) || !accounts.test(p.account)) {
        throw new SwitchyardError(Code.PermissionDenied, `${service} certifies ${accounts.source} accounts of a team's namespace of ${o.ca.trustDomain}, not ${req.spiffeId.slice(0, 200)}`);
      }
      const issued = await o.ca.issue(req.csrPem, req.spiffeId, o.certTtlMs);
      o.logger.info({ id: req.spiffeId, by: service, notAfter: new Date(issued.notAfterMs).toISOString() }, "team workload certified");
      return answer(issued, req.spiffeId);
    },
  };
}
