// `switchyard mesh export --istio`: the policies as Istio resources, checked with Istio's published schemas
// (@kubernetes-models/istio, not ours), and the list of what has no Istio form. Offline (-f), through the real CLI.
import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { parseAllDocuments, parse } from "yaml";
import { cliEnv, runCli } from "./test-platform.js";

const POLICIES = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: jobs}
spec:
  host: jobs
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    outlierDetection: {consecutive5xxErrors: 5, interval: 1s, baseEjectionTime: 10s}
  subsets: [{name: canary, labels: {version: v2}}]
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: jobs}
spec:
  hosts: [jobs]
  http:
  - route: [{destination: {host: jobs}, weight: 90}, {destination: {host: jobs, subset: canary}, weight: 10}]
    retries: {attempts: 2, perTryTimeout: 2s, retryOn: unavailable}
---
apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: {name: jobs-from-gateway, namespace: system}
spec:
  selector: {matchLabels: {app: jobs}}
  rules:
  - from: [{source: {principals: ["switchyard.local/ns/system/sa/gateway"]}}]
    when: [{key: "request.auth.claims[role]", values: [admin, member]}]
---
apiVersion: mesh.switchyard.io/v1
kind: RateLimitPolicy
metadata: {name: submits}
spec:
  host: jobs
  limits: [{methods: [SubmitJob], per: team, tokenBucket: {maxTokens: 10, fillInterval: 1s}}]
---
apiVersion: mesh.switchyard.io/v1
kind: BulkheadPolicy
metadata: {name: jobs}
spec:
  host: jobs
  methods: [{method: SubmitJob, maxConcurrent: 8}]
---
apiVersion: mesh.switchyard.io/v1
kind: ResiliencePolicy
metadata: {name: jobs}
spec:
  host: jobs
  circuitBreaker: {consecutiveFailures: 20, openTime: 5s}
  retryBudget: {percent: 20}
`;

describe("switchyard mesh export --istio", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-istio-"));
  const env = cliEnv(join(dir, "config.yaml"));
  after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, "policies.yaml"), POLICIES);

  it("writes Istio's kinds as they are, principals in the cluster's trust domain, mTLS STRICT, and validates them with Istio's schemas", () => {
    const r = runCli(env, ["mesh", "export", "--istio", "-f", join(dir, "policies.yaml"), "--trust-domain", "cluster.local", "--namespace", "ml"]);
    assert.equal(r.code, 0, r.stderr);
    const docs = parseAllDocuments(r.stdout).map((d) => d.toJS() as { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> });
    assert.deepEqual(docs.map((d) => `${d.apiVersion} ${d.kind}/${d.metadata.name} ${d.metadata.namespace}`), [
      "networking.istio.io/v1 DestinationRule/jobs ml",
      "networking.istio.io/v1 VirtualService/jobs ml",
      "security.istio.io/v1 AuthorizationPolicy/jobs-from-gateway ml",
      "security.istio.io/v1 PeerAuthentication/default ml",
    ]);
    const ap = docs[2]!.spec as { rules: { from: { source: { principals: string[] } }[] }[] };
    assert.deepEqual(ap.rules[0]!.from[0]!.source.principals, ["cluster.local/ns/system/sa/gateway"]);
    assert.deepEqual(docs[3]!.spec, { mtls: { mode: "STRICT" } });
    assert.deepEqual((docs[1]!.spec as { http: { retries: unknown }[] }).http[0]!.retries, { attempts: 2, perTryTimeout: "2s", retryOn: "unavailable" });
    assert.match(r.stderr, /4 Istio resources .* validated against @kubernetes-models\/istio/);
  });

  it("lists what has no Istio form instead of dropping it: rate limits, bulkheads, the breaker, the retry budget, fallbacks, user conditions", () => {
    const out = join(dir, "out");
    const r = runCli(env, ["mesh", "export", "--istio", "-f", join(dir, "policies.yaml"), "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    assert.deepEqual(readdirSync(out).sort(), ["NOT-EXPORTED.md", "authorizationpolicy-jobs-from-gateway.yaml", "destinationrule-jobs.yaml", "peerauthentication-default.yaml", "virtualservice-jobs.yaml"]);
    assert.equal((parse(readFileSync(join(out, "destinationrule-jobs.yaml"), "utf8")) as { spec: { host: string } }).spec.host, "jobs");
    const report = readFileSync(join(out, "NOT-EXPORTED.md"), "utf8");
    for (const what of [/RateLimitPolicy\/submits: rate limits on jobs \(per team\)/, /BulkheadPolicy\/jobs: per-method server bulkheads on jobs \(SubmitJob\)/, /ResiliencePolicy\/jobs: circuit breaker/, /ResiliencePolicy\/jobs: retry budget/, /\(client code\): fallbacks/, /AuthorizationPolicy\/jobs-from-gateway: conditions on the end user/]) assert.match(report, what);
  });

  it("exports the gateway's RequestAuthentication for the ingress, validated with Istio's schema, and reports the claim mapping", async () => {
    const { generateKeyPair, exportJWK } = await import("jose");
    const { publicKey } = await generateKeyPair("ES256");
    const jwks = JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "k1", alg: "ES256" }] });
    const authn = join(dir, "authn.yaml");
    writeFileSync(authn, `apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata:\n  name: corp-sso\n  annotations: {switchyard.io/teams-claim: groups, switchyard.io/role-claim: role}\nspec:\n  jwtRules:\n  - issuer: https://sso.example.com\n    audiences: [switchyard]\n    jwks: '${jwks}'\n`, { mode: 0o600 });
    const out = join(dir, "out-authn");
    const r = runCli(env, ["mesh", "export", "--istio", "-f", join(dir, "policies.yaml"), "--request-authn", authn, "-o", out]);
    assert.equal(r.code, 0, r.stderr);
    const ra = parse(readFileSync(join(out, "requestauthentication-corp-sso.yaml"), "utf8")) as { metadata: { namespace: string }; spec: { selector: { matchLabels: { app: string } }; jwtRules: { issuer: string; audiences: string[]; jwks: string }[] } };
    assert.equal(ra.metadata.namespace, "switchyard");
    assert.deepEqual(ra.spec.selector.matchLabels, { app: "gateway" });
    assert.equal(ra.spec.jwtRules[0]!.issuer, "https://sso.example.com");
    assert.deepEqual(ra.spec.jwtRules[0]!.audiences, ["switchyard"]);
    assert.match(readFileSync(join(out, "NOT-EXPORTED.md"), "utf8"), /RequestAuthentication\/corp-sso: the claim mapping \(switchyard.io\/teams-claim, switchyard.io\/role-claim\)/);
    // What the gateway would refuse is refused here too, with where.
    writeFileSync(authn, "apiVersion: security.istio.io/v1\nkind: RequestAuthentication\nmetadata: {name: x}\nspec:\n  jwtRules:\n  - issuer: https://sso.example.com\n    fromHeaders: [{name: x-jwt}]\n    jwks: '{}'\n", { mode: 0o600 });
    const bad = runCli(env, ["mesh", "export", "--istio", "-f", join(dir, "policies.yaml"), "--request-authn", authn]);
    assert.equal(bad.code, 2, bad.stdout);
    assert.match(bad.stderr, /fromHeaders/);
  });

  it("refuses a policy file the mesh would refuse, with where", () => {
    writeFileSync(join(dir, "bad.yaml"), "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: x}\nspec:\n  rules:\n  - from: [{source: {ipBlocks: [10.0.0.0/8]}}]\n");
    const r = runCli(env, ["mesh", "export", "--istio", "-f", join(dir, "bad.yaml")]);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /bad\.yaml:6:.*ipBlocks/);
  });
});
