import { createRequire } from "node:module";
import type * as zod from "zod";
import type { VerifiedUser } from "./user-token.js";

/**
 * Istio's `security.istio.io/v1` AuthorizationPolicy, enforced per method by every mesh server (server-chain.ts): the
 * caller is the SPIFFE id its certificate proves (`source.principals`, Istio's `<trust-domain>/ns/<ns>/sa/<sa>` form,
 * and `source.namespaces`), the end user the verified user token a call carries (`source.requestPrincipals`
 * `<issuer>/<user>` and `when` on `request.auth.claims[...]`), the operation the gRPC path (`to.operation.paths`;
 * `methods` is always POST). Istio's order of evaluation: a matching DENY refuses; with ALLOW policies for the
 * workload, a call no ALLOW matches is refused; otherwise it is allowed. AUDIT policies mark the calls they match
 * for the audit log and decide nothing. Fields the mesh does not enforce are refused by name (policy-parse.ts).
 */

/** Fields of Istio's AuthorizationPolicy that the mesh refuses, with why. */
export const UNENFORCED_AUTHZ_FIELDS: Readonly<Record<string, string>> = {
  provider: "no external authorizers (CUSTOM)",
  targetRef: "policies select workloads by selector.matchLabels (app or service)",
  targetRefs: "policies select workloads by selector.matchLabels (app or service)",
  ipBlocks: "callers are known by their certificates, not their addresses",
  notIpBlocks: "callers are known by their certificates, not their addresses",
  remoteIpBlocks: "callers are known by their certificates, not their addresses",
  notRemoteIpBlocks: "callers are known by their certificates, not their addresses",
  hosts: "each server is one service; select it with selector.matchLabels",
  notHosts: "each server is one service; select it with selector.matchLabels",
  ports: "each server listens on one port",
  notPorts: "each server listens on one port",
  serviceAccounts: "write principals (<trust-domain>/ns/<ns>/sa/<account>)",
  notServiceAccounts: "write notPrincipals",
};

/** The `when` keys the mesh can evaluate. */
const WHEN_KEYS = /^(source\.principal|source\.namespace|request\.auth\.principal|request\.auth\.claims\[(sub|role|teams|iss)\])$/;

function build(z: typeof zod) {
  const Strings = z.array(z.string().min(1)).min(1);
  const Source = z.strictObject({
    principals: Strings.optional(),
    notPrincipals: Strings.optional(),
    namespaces: Strings.optional(),
    notNamespaces: Strings.optional(),
    requestPrincipals: Strings.optional(),
    notRequestPrincipals: Strings.optional(),
  });
  const Operation = z.strictObject({
    paths: Strings.optional(),
    notPaths: Strings.optional(),
    methods: Strings.optional(),
    notMethods: Strings.optional(),
  });
  const Condition = z
    .strictObject({ key: z.string().regex(WHEN_KEYS, { message: "the mesh evaluates source.principal, source.namespace, request.auth.principal and request.auth.claims[sub|role|teams|iss]" }), values: Strings.optional(), notValues: Strings.optional() })
    .refine((c) => c.values !== undefined || c.notValues !== undefined, { message: "a condition needs values or notValues" });
  const Rule = z.strictObject({
    from: z.array(z.strictObject({ source: Source })).optional(),
    to: z.array(z.strictObject({ operation: Operation })).optional(),
    when: z.array(Condition).optional(),
  });
  return {
    AuthorizationPolicySpec: z.strictObject({
      // A server is selected by its name: `app` or `service` (any other label would select nothing, silently).
      selector: z
        .strictObject({ matchLabels: z.record(z.string(), z.string()).refine((m) => Object.keys(m).every((k) => k === "app" || k === "service"), { message: "the mesh selects a server by its name: matchLabels takes app or service only" }) })
        .optional(),
      action: z.enum(["ALLOW", "DENY", "AUDIT"], { message: "action is ALLOW, DENY or AUDIT (CUSTOM: no external authorizers here)" }).optional(),
      rules: z.array(Rule).optional(),
    }),
  };
}

let schemas: ReturnType<typeof build> | undefined;
export function authzSchemas(): ReturnType<typeof build> {
  return (schemas ??= build(createRequire(import.meta.url)("zod") as typeof zod));
}
export type AuthorizationPolicySpec = zod.infer<ReturnType<typeof build>["AuthorizationPolicySpec"]>;
export const AUTHZ_API_VERSIONS = ["security.istio.io/v1", "security.istio.io/v1beta1"] as const;

/** What a call offers to be matched: who calls, for whom, and which method. */
export interface AuthzRequest {
  /** The caller's SPIFFE id (`spiffe://td/ns/x/sa/y`), or undefined (no certificate). */
  readonly principal: string | undefined;
  readonly path: string;
  /** The verified user, if the call carries one. */
  readonly user: Pick<VerifiedUser, "user" | "role" | "teams" | "issuer"> | undefined;
}

export type AuthzDecision =
  | { readonly allowed: true; readonly audit: string | undefined }
  | { readonly allowed: false; readonly policy: string; readonly audit: string | undefined };

/** Istio string matching: exact, `*` alone, `prefix*` or `*suffix`. */
function matchOne(pattern: string, value: string | undefined): boolean {
  if (value === undefined) return false;
  if (pattern === "*") return true;
  if (pattern.endsWith("*")) return value.startsWith(pattern.slice(0, -1));
  if (pattern.startsWith("*")) return value.endsWith(pattern.slice(1));
  return pattern === value;
}
const anyOf = (patterns: readonly string[] | undefined, values: readonly (string | undefined)[]): boolean | undefined =>
  patterns === undefined ? undefined : patterns.some((p) => values.some((v) => matchOne(p, v)));

type Rule = NonNullable<AuthorizationPolicySpec["rules"]>[number];

function fields(r: AuthzRequest) {
  const principal = r.principal?.replace(/^spiffe:\/\//, "");
  const namespace = /\/ns\/([^/]+)\//.exec(r.principal ?? "")?.[1];
  const requestPrincipal = r.user ? `${r.user.issuer.replace(/^spiffe:\/\//, "")}/${r.user.user}` : undefined;
  return { principal, namespace, requestPrincipal };
}

function ruleMatches(rule: Rule, r: AuthzRequest, f: ReturnType<typeof fields>): boolean {
  const not = (x: boolean | undefined) => (x === undefined ? true : !x);
  const is = (x: boolean | undefined) => x ?? true;
  if (rule.from && !rule.from.some(({ source: s }) =>
    is(anyOf(s.principals, [f.principal])) && not(anyOf(s.notPrincipals, [f.principal])) &&
    is(anyOf(s.namespaces, [f.namespace])) && not(anyOf(s.notNamespaces, [f.namespace])) &&
    is(anyOf(s.requestPrincipals, [f.requestPrincipal])) && not(anyOf(s.notRequestPrincipals, [f.requestPrincipal])))) return false;
  if (rule.to && !rule.to.some(({ operation: o }) =>
    is(anyOf(o.paths, [r.path])) && not(anyOf(o.notPaths, [r.path])) && is(anyOf(o.methods, ["POST"])) && not(anyOf(o.notMethods, ["POST"])))) return false;
  for (const c of rule.when ?? []) {
    const values = conditionValues(c.key, r, f);
    if (c.values !== undefined && !anyOf(c.values, values)) return false;
    if (c.notValues !== undefined && anyOf(c.notValues, values)) return false;
  }
  return true;
}

function conditionValues(key: string, r: AuthzRequest, f: ReturnType<typeof fields>): (string | undefined)[] {
  switch (key) {
    case "source.principal":
      return [f.principal];
    case "source.namespace":
      return [f.namespace];
    case "request.auth.principal":
      return [f.requestPrincipal];
    case "request.auth.claims[sub]":
      return [r.user?.user];
    case "request.auth.claims[role]":
      return [r.user?.role];
    case "request.auth.claims[iss]":
      return [r.user?.issuer];
    default:
      return r.user ? [...r.user.teams] : [];
  }
}

export interface AuthzPolicyRef {
  readonly name: string;
  readonly action: "ALLOW" | "DENY" | "AUDIT";
  readonly selector: Readonly<Record<string, string>> | undefined;
  readonly rules: readonly Rule[];
}

/** The policies that apply to a server named `server` (selector.matchLabels `app` or `service`; none: every server). */
export function authorizationFor(policies: readonly AuthzPolicyRef[], server: string): CompiledAuthorization | undefined {
  const applies = policies.filter((p) => p.selector === undefined || Object.entries(p.selector).every(([k, v]) => (k === "app" || k === "service") && v === server));
  return applies.length === 0 ? undefined : new CompiledAuthorization(applies);
}

const ALLOWED: AuthzDecision = { allowed: true, audit: undefined };

export class CompiledAuthorization {
  private readonly deny: readonly AuthzPolicyRef[];
  private readonly allow: readonly AuthzPolicyRef[];
  private readonly audit: readonly AuthzPolicyRef[];

  constructor(policies: readonly AuthzPolicyRef[]) {
    this.deny = policies.filter((p) => p.action === "DENY");
    this.allow = policies.filter((p) => p.action === "ALLOW");
    this.audit = policies.filter((p) => p.action === "AUDIT");
  }

  decide(r: AuthzRequest): AuthzDecision {
    const f = fields(r);
    const matches = (p: AuthzPolicyRef) => p.rules.some((rule) => ruleMatches(rule, r, f));
    const audit = this.audit.find(matches)?.name;
    const denied = this.deny.find(matches);
    if (denied) return { allowed: false, policy: denied.name, audit };
    if (this.allow.length === 0 || this.allow.some(matches)) return audit === undefined ? ALLOWED : { allowed: true, audit };
    return { allowed: false, policy: this.allow.map((p) => p.name).join(", "), audit };
  }
}
