import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { compileMeshPolicies } from "./policy-compile.js";
import { parseMeshPolicies } from "./policy-parse.js";
import { MemoryPolicySource, createPolicyStore, validatePolicyDocuments } from "./policy-source.js";
import { MeshEvents } from "./events.js";

export const CANARY_YAML = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: jobs}
spec:
  host: jobs.default.svc.cluster.local
  trafficPolicy:
    loadBalancer: {simple: LEAST_REQUEST}
    connectionPool: {http: {http2MaxRequests: 100, http1MaxPendingRequests: 10, maxRetries: 5}}
    outlierDetection: {consecutive5xxErrors: 3, interval: 1s, baseEjectionTime: 30s, maxEjectionPercent: 50}
  subsets:
  - name: v1
    labels: {version: v1}
  - name: v2
    labels: {version: v2}
    trafficPolicy:
      loadBalancer:
        consistentHash: {httpHeaderName: x-user, ringHash: {minimumRingSize: 256}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: jobs}
spec:
  hosts: [jobs]
  http:
  - name: canary-header
    match:
    - headers: {x-canary: {exact: "true"}}
    route:
    - destination: {host: jobs, subset: v2}
  - name: split
    route:
    - destination: {host: jobs, subset: v1}
      weight: 90
    - destination: {host: jobs, subset: v2}
      weight: 10
    timeout: 2s
    retries: {attempts: 3, perTryTimeout: 500ms, retryOn: "unavailable,deadline-exceeded,503"}
    fault:
      abort: {grpcStatus: UNAVAILABLE, percentage: {value: 0.5}}
`;

function violationsOf(fn: () => unknown): SwitchyardError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SwitchyardError, String(err));
    assert.equal(err.code, Code.InvalidArgument);
    return err;
  }
  assert.fail("expected an INVALID_ARGUMENT error");
}

describe("mesh policies (Istio's YAML)", () => {
  it("reads a canary DestinationRule and VirtualService into routes, subsets and per-destination settings", () => {
    const p = compileMeshPolicies(parseMeshPolicies(CANARY_YAML, { source: "canary.yaml" }).resources, 7);
    assert.equal(p.revision, 7);
    const header = p.route("jobs", { path: "/switchyard.v1.Jobs/GetJob", headers: { "x-canary": "true" } });
    assert.equal(header?.name, "canary-header");
    assert.deepEqual(header?.destinations, [{ host: "jobs", subset: "v2", weight: 100 }]);
    const split = p.route("jobs", { path: "/switchyard.v1.Jobs/GetJob", headers: {} })!;
    assert.deepEqual(split.destinations.map((d) => [d.subset, d.weight]), [["v1", 90], ["v2", 10]]);
    assert.equal(split.timeoutMs, 2000);
    assert.equal(split.retry.attempts, 3);
    assert.equal(split.retry.perTryTimeoutMs, 500);
    assert.deepEqual([...split.retry.codes].sort((a, b) => a - b), [Code.DeadlineExceeded, Code.Unavailable]);
    assert.deepEqual(split.fault?.abort, { fraction: 0.005, code: Code.Unavailable });
    const v1 = p.destination("jobs", "v1");
    assert.deepEqual(v1.labels, { version: "v1" });
    assert.equal(v1.lb.kind, "least_request");
    assert.deepEqual([v1.bulkhead?.maxConcurrent, v1.bulkhead?.maxQueue, v1.maxRetries], [100, 10, 5]);
    assert.deepEqual(p.destination("jobs", "v2").lb, { kind: "ring_hash", hashHeader: "x-user", ringSize: 256 });
    assert.equal(p.outlier("jobs")?.consecutive5xxErrors, 3);
    assert.equal(p.outlier("jobs")?.baseEjectionMs, 30_000);
    // A host without policies gets Istio's defaults: itself, 2 retries on unavailable/cancelled/connect failures.
    const other = p.route("gateway", { path: "/x/Y", headers: {} })!;
    assert.equal(other.retry.attempts, 2);
    assert.ok(other.retry.codes.has(Code.Unavailable) && other.retry.transport);
  });

  it("refuses Istio fields it does not enforce, naming each with its line and column", () => {
    const err = violationsOf(() =>
      parseMeshPolicies(
        `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: r}
spec:
  host: jobs
  trafficPolicy:
    tls: {mode: ISTIO_MUTUAL}
    loadBalancer: {simple: ROUND_ROBIN, localityLbSetting: {enabled: true}}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [jobs]
  http:
  - route: [{destination: {host: jobs}}]
    mirror: {host: jobs-shadow}
    match: [{method: {exact: GET}}]
`,
        { source: "bad.yaml" },
      ),
    );
    const fields = err.details.map((d) => `${d.field}@${d.line}:${d.column}`);
    assert.deepEqual(fields.sort(), ["[0]spec.trafficPolicy.loadBalancer.localityLbSetting@8:41", "[0]spec.trafficPolicy.tls@7:5", "[1]spec.http[0].match[0].method@18:14", "[1]spec.http[0].mirror@17:5"].sort());
    assert.match(err.details.find((d) => d.field.endsWith("tls"))!.message, /not enforced.*refused rather than silently ignored/);
    assert.match(err.details.find((d) => d.field.endsWith("method"))!.message, /uri: \{exact: \/package.Service\/Method\}/);
    assert.match(err.message, /^invalid mesh policy bad\.yaml:\d+:\d+/);
  });

  it("refuses unknown fields, bad values and a wrong apiVersion", () => {
    const err = violationsOf(() =>
      parseMeshPolicies(`apiVersion: networking.istio.io/v2
kind: VirtualService
metadata: {name: v}
spec: {hosts: [a]}
---
apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [a]
  http:
  - route: [{destination: {host: a}}]
    timeout: soon
    retries: {attempts: 2, retryOnn: unavailable}
`),
    );
    const byField = Object.fromEntries(err.details.map((d) => [d.field, d.message]));
    assert.match(byField["[0]apiVersion"]!, /networking\.istio\.io\/v1/);
    assert.match(byField["[1]spec.http[0].timeout"]!, /duration/);
    assert.match(byField["[1]spec.http[0].retries.retryOnn"]!, /unknown field "retryOnn"/);
  });

  it("checks what spans documents when a set is compiled: subsets that exist, weights that add up, one rule per host", () => {
    const vs = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec:
  hosts: [jobs]
  http:
  - route:
    - {destination: {host: jobs, subset: v3}, weight: 60}
    - {destination: {host: jobs, subset: v1}, weight: 30}
`;
    const dr = `apiVersion: networking.istio.io/v1
kind: DestinationRule
metadata: {name: d}
spec: {host: jobs, subsets: [{name: v1, labels: {version: v1}}]}
`;
    const err = violationsOf(() => validatePolicyDocuments([{ name: "vs.yaml", yaml: vs }, { name: "dr.yaml", yaml: dr }, { name: "dr2.yaml", yaml: dr.replace("name: d}", "name: d2}") }]));
    const messages = err.details.map((d) => `${d.field}: ${d.message}`).join("\n");
    assert.match(messages, /VirtualService\/v: spec\.http\[0\]\.route\[0\]\.destination\.subset: no DestinationRule for host "jobs" defines subset "v3"/);
    assert.match(messages, /weights must add up to 100/);
    assert.match(messages, /DestinationRule\/d2: spec\.host: a DestinationRule for host "jobs" is already defined by DestinationRule\/d \(dr\.yaml:1\)/);
    const retryOn = `apiVersion: networking.istio.io/v1
kind: VirtualService
metadata: {name: v}
spec: {hosts: [a], http: [{route: [{destination: {host: a}}], retries: {attempts: 1, retryOn: "envoy-ratelimited"}}]}`;
    assert.throws(() => validatePolicyDocuments([{ name: "r.yaml", yaml: retryOn }]), /retryOn condition "envoy-ratelimited" is not supported/);
  });

  it("reads the mesh's own kinds: rate limits per caller, per-method bulkheads, breaker and retry budget", () => {
    const p = validatePolicyDocuments([
      {
        name: "own.yaml",
        yaml: `apiVersion: mesh.switchyard.io/v1
kind: RateLimitPolicy
metadata: {name: jobs-limits}
spec:
  host: jobs
  limits:
  - {methods: [SubmitJob], per: caller, tokenBucket: {maxTokens: 10, tokensPerFill: 5, fillInterval: 1s}}
  - {per: none, tokenBucket: {maxTokens: 1000, fillInterval: 1s}}
---
apiVersion: mesh.switchyard.io/v1
kind: BulkheadPolicy
metadata: {name: jobs-bulkheads}
spec:
  host: jobs
  methods:
  - {method: "*", maxConcurrent: 64, maxQueue: 64}
  - {method: /switchyard.v1.Jobs/SubmitJob, maxConcurrent: 4, maxQueue: 8, maxQueueWait: 2s}
---
apiVersion: mesh.switchyard.io/v1
kind: ResiliencePolicy
metadata: {name: jobs-resilience}
spec:
  host: jobs
  circuitBreaker: {consecutiveFailures: 5, openTime: 10s, halfOpenCalls: 2, failureCodes: [UNAVAILABLE, INTERNAL]}
  retryBudget: {percent: 10, minRetriesPerSecond: 1}
  retryBackoff: {baseInterval: 10ms, maxInterval: 1s}
  adaptiveThrottling: {requestsPerAccept: 1.5, window: 2s}
`,
      },
    ]);
    const submit = p.serverMethod("jobs", "/switchyard.v1.Jobs/SubmitJob");
    assert.deepEqual(submit.limits.map((l) => [l.per, l.bucket.maxTokens, l.bucket.tokensPerFill, l.bucket.fillIntervalMs]), [["caller", 10, 5, 1000], ["none", 1000, 1000, 1000]]);
    assert.deepEqual([submit.bulkhead?.options.maxConcurrent, submit.bulkhead?.options.maxQueue, submit.bulkhead?.options.maxQueueWaitMs], [4, 8, 2000]);
    const get = p.serverMethod("jobs", "/switchyard.v1.Jobs/GetJob");
    assert.equal(get.limits.length, 1);
    assert.equal(get.bulkhead?.options.maxConcurrent, 64);
    const d = p.destination("jobs", "");
    assert.deepEqual([d.breaker?.consecutiveFailures, d.breaker?.openMs, d.breaker?.halfOpenCalls, [...d.breaker!.failureCodes]], [5, 10_000, 2, [Code.Unavailable, Code.Internal]]);
    assert.deepEqual([d.retryBudget.percent, d.retryBudget.minRetriesPerSecond, d.backoff.baseMs, d.backoff.maxMs], [10, 1, 10, 1000]);
    assert.deepEqual(d.throttle, { requestsPerAccept: 1.5, windowMs: 2000 });
  });

  it("hot-reloads from a source, keeping the last good policies when a change is invalid", async () => {
    const source = new MemoryPolicySource();
    const events = new MeshEvents();
    const seen: string[] = [];
    events.on("policyApplied", (e) => seen.push(`applied ${e.revision}`));
    events.on("policyRejected", (e) => seen.push(`rejected ${e.revision} ${e.document}`));
    source.apply({ canary: CANARY_YAML });
    const store = createPolicyStore({ source, events });
    await store.ready();
    assert.equal(store.current.revision, 1);
    assert.equal(store.current.route("jobs", { path: "/a/B", headers: {} })?.name, "split");
    // The source itself refuses an invalid change…
    assert.throws(() => source.apply({ broken: "apiVersion: networking.istio.io/v1\nkind: Nope\n" }), /kind must be one of/);
    // …and the store refuses one that reaches it anyway (a source that does not validate), keeping revision 1.
    const raw = { watch: (cb: (s: { revision: number; documents: { name: string; revision: number; yaml: string }[] }) => void) => (cb({ revision: 9, documents: [{ name: "x", revision: 9, yaml: "kind: Nope" }] }), () => undefined) };
    const store2 = createPolicyStore({ source: raw, events });
    await store2.ready();
    assert.equal(store2.current.revision, 0);
    assert.match(store2.lastError?.message ?? "", /kind must be one of/);
    source.apply({ canary: CANARY_YAML.replace("weight: 90", "weight: 50").replace("weight: 10", "weight: 50") });
    assert.equal(store.current.revision, 2);
    assert.deepEqual(store.current.route("jobs", { path: "/a/B", headers: {} })?.destinations.map((d) => d.weight), [50, 50]);
    assert.deepEqual(seen, ["applied 1", "rejected 9 x", "applied 2"]);
    store.close();
    store2.close();
  });
});
