/**
 * The AuthorizationPolicies a new platform starts with (control writes them into a new config center), and their
 * parsed form: every service has them in force from its first start, and reading them through the YAML parser and the
 * schemas would load yaml and zod into every process (~7 MB each) for two documents that never vary but by trust
 * domain. So the policy store (policy-source.ts) takes a document whose text is exactly one of these as its parsed
 * resources below; any other text — an operator's edit included — is parsed as usual. A test keeps the two forms equal.
 *
 * - `jobs-platform-callers`: jobs answers platform services (`ns/system`) only — a team's workload holds a certificate
 *   of the CA but is no platform service;
 * - `users-via-gateway`: a call that names a user is refused unless the gateway sends it — only the edge, which verified
 *   the user's own token, speaks for users (each service's `verifiedCaller` checks this too) — or a service that acts
 *   for users under their delegation grants (serving for a deployment's owner, experiments for an experiment's:
 *   grants.ts GRANT_DELEGATES; the callee checks the grant).
 *
 * A default that changed between versions is replaced in a config center that still holds the old text exactly
 * (`SUPERSEDED`, control's seeding): an operator's edit is never overwritten.
 */
import { GRANT_DELEGATES } from "./grants.js";
import { USER_DELEGATES } from "./identity.js";
import type { PolicyResource } from "./policy-parse.js";

/** The services whose calls may name a user: the gateway, and the grant delegates. */
const USER_SPEAKERS: readonly string[] = [...USER_DELEGATES, ...GRANT_DELEGATES];

interface Template {
  readonly name: string;
  text(trustDomain: string): string;
  spec(trustDomain: string): Record<string, unknown>;
}

const TEMPLATES: readonly Template[] = [
  {
    name: "jobs-platform-callers",
    text: () => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: jobs-platform-callers, namespace: system}
spec:
  selector: {matchLabels: {app: jobs}}
  action: ALLOW
  rules:
  - from: [{source: {namespaces: [system]}}]
`,
    spec: () => ({ selector: { matchLabels: { app: "jobs" } }, action: "ALLOW", rules: [{ from: [{ source: { namespaces: ["system"] } }] }] }),
  },
  {
    name: "users-via-gateway",
    text: (td) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: users-via-gateway, namespace: system}
spec:
  action: DENY
  rules:
  - from: [{source: {notPrincipals: [${USER_SPEAKERS.map((s) => `"${td}/ns/system/sa/${s}"`).join(", ")}]}}]
    when: [{key: request.auth.principal, values: ["*"]}]
`,
    spec: (td) => ({ action: "DENY", rules: [{ from: [{ source: { notPrincipals: USER_SPEAKERS.map((s) => `${td}/ns/system/sa/${s}`) } }], when: [{ key: "request.auth.principal", values: ["*"] }] }] }),
  },
];

/** Earlier texts of the defaults, by name: a config center holding one exactly gets the current text. */
const SUPERSEDED: Readonly<Record<string, readonly ((td: string) => string)[]>> = {
  "users-via-gateway": [
    (td) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: users-via-gateway, namespace: system}
spec:
  action: DENY
  rules:
  - from: [{source: {notPrincipals: ["${td}/ns/system/sa/gateway"]}}]
    when: [{key: request.auth.principal, values: ["*"]}]
`,
    (td) => `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: users-via-gateway, namespace: system}
spec:
  action: DENY
  rules:
  - from: [{source: {notPrincipals: ["${td}/ns/system/sa/gateway", "${td}/ns/system/sa/serving"]}}]
    when: [{key: request.auth.principal, values: ["*"]}]
`,
  ],
};

/** Whether `content` is an earlier version of the default policy `name` (to be replaced by the current text). */
export function isSupersededDefault(name: string, content: string, trustDomain: string): boolean {
  return (SUPERSEDED[name] ?? []).some((text) => text(trustDomain) === content);
}

/** The default policies as config-center documents for `trustDomain`. */
export function defaultAuthorizationPolicies(trustDomain: string): { kind: string; name: string; content: string }[] {
  return TEMPLATES.map((t) => ({ kind: "AuthorizationPolicy", name: t.name, content: t.text(trustDomain) }));
}

const MARK = "\u0000";
const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
// The trust domain may appear more than once: the first is captured, the others must repeat it.
const MATCHERS = TEMPLATES.map((t) => {
  const [first, ...rest] = escape(t.text(MARK)).split(MARK);
  return { t, re: new RegExp(rest.length === 0 ? `^${first}$` : `^${first}([a-z0-9._-]{1,63})${rest.join("\\1")}$`) };
});

/** The parsed resources of a document that is exactly one of the defaults; undefined for any other text. */
export function knownDefaultResources(yaml: string, source: string): readonly PolicyResource[] | undefined {
  for (const { t, re } of MATCHERS) {
    const m = re.exec(yaml);
    if (m === null) continue;
    const td = m[1] ?? "";
    return [{ apiVersion: "security.istio.io/v1", kind: "AuthorizationPolicy", metadata: { name: t.name, namespace: "system" }, spec: t.spec(td), origin: { source, line: 1 } } as PolicyResource];
  }
  return undefined;
}
