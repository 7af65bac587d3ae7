/**
 * SPIFFE identities as the mesh names workloads: `spiffe://<trust-domain>/ns/<namespace>/sa/<account>` (Istio's form).
 * Platform services are `ns/system/sa/<service>`; a team's long-running processes `ns/<team>/sa/<name>`.
 */
import { Code, SwitchyardError } from "@switchyard/core";

export const DEFAULT_TRUST_DOMAIN = "switchyard.local";
export const SYSTEM_NAMESPACE = "system";

export interface SpiffeId {
  readonly trustDomain: string;
  readonly namespace: string;
  readonly account: string;
}

const NAME = /^[a-z0-9]([a-z0-9._-]{0,61}[a-z0-9])?$/;

export function spiffeId(trustDomain: string, namespace: string, account: string): string {
  for (const [what, v] of [["trust domain", trustDomain], ["namespace", namespace], ["service account", account]] as const) {
    if (!NAME.test(v)) throw new SwitchyardError(Code.InvalidArgument, `${what} "${v}" is not a valid identity name (lower-case letters, digits, '.', '_' and '-', at most 63)`);
  }
  return `spiffe://${trustDomain}/ns/${namespace}/sa/${account}`;
}

/** The SPIFFE id of a platform service: `spiffe://<td>/ns/system/sa/<service>`. */
export function serviceId(trustDomain: string, service: string): string {
  return spiffeId(trustDomain, SYSTEM_NAMESPACE, service);
}

export function parseSpiffeId(uri: string): SpiffeId | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(uri);
  if (!m || !NAME.test(m[1]!) || !NAME.test(m[2]!) || !NAME.test(m[3]!)) return undefined;
  return { trustDomain: m[1]!, namespace: m[2]!, account: m[3]! };
}

/**
 * The one SPIFFE id in a certificate's subjectAltName text (Node's `URI:spiffe://…, DNS:…` form); undefined when it
 * has none or more than one (a certificate that names two workloads names none).
 */
export function spiffeIdOfSan(subjectAltName: string | undefined): string | undefined {
  if (!subjectAltName) return undefined;
  let found: string | undefined;
  for (const part of subjectAltName.split(", ")) {
    if (!part.startsWith("URI:spiffe://")) continue;
    if (found !== undefined) return undefined;
    found = part.slice(4);
  }
  return found;
}
