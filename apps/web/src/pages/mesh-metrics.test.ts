import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { histogramQuantile, labelKey, parsePrometheusText, parseValue } from "./mesh-metrics.js";
import { callEdges, methodStats, oneHotStates, perService } from "./mesh-stats.js";

// The shape of the gateway's aggregated /metrics, as a real platform wrote it (services/gateway metrics-aggregate.ts).
const AGGREGATED = `# HELP grpc_client_handled_total Calls completed by the client, by destination, method and gRPC code.
# TYPE grpc_client_handled_total counter
grpc_client_handled_total{service="gateway",destination="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="ListJobs",grpc_code="OK"} 8
grpc_client_handled_total{service="gateway",destination="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="GetJob",grpc_code="NOT_FOUND"} 2
grpc_client_handled_total{service="gateway",destination="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="GetJob",grpc_code="OK"} 3
grpc_client_handled_total{service="experiments",destination="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="SubmitJob",grpc_code="OK"} 6
# TYPE grpc_server_handling_seconds histogram
grpc_server_handling_seconds_bucket{service="jobs",server="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="ListJobs",le="0.01"} 4
grpc_server_handling_seconds_bucket{service="jobs",server="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="ListJobs",le="0.1"} 8
grpc_server_handling_seconds_bucket{service="jobs",server="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="ListJobs",le="+Inf"} 8
grpc_server_handling_seconds_sum{service="jobs",server="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="ListJobs"} 0.2
grpc_server_handling_seconds_count{service="jobs",server="jobs",grpc_type="unary",grpc_service="switchyard.v1.Jobs",grpc_method="ListJobs"} 8
switchyard_mesh_endpoint_state{service="gateway",destination="jobs",endpoint="unix:/run/jobs.sock",state="serving"} 0
switchyard_mesh_endpoint_state{service="gateway",destination="jobs",endpoint="unix:/run/jobs.sock",state="ejected"} 1
switchyard_mesh_breaker_state{service="gateway",destination="jobs",subset="",state="closed"} 0
switchyard_mesh_breaker_state{service="gateway",destination="jobs",subset="",state="open"} 1
switchyard_mesh_policy_revision{service="gateway"} 3
switchyard_mesh_policy_revision{service="jobs"} 2
`;

describe("parsePrometheusText", () => {
  it("reads samples with labels, HELP and TYPE, and skips other comments", () => {
    const e = parsePrometheusText("# a comment\n# HELP up Whether it is up.\n# TYPE up gauge\nup{job=\"a\",instance=\"x:1\"} 1\nplain 2.5\n");
    assert.deepEqual(e.samples, [
      { name: "up", labels: { job: "a", instance: "x:1" }, value: 1 },
      { name: "plain", labels: {}, value: 2.5 },
    ]);
    assert.equal(e.types.get("up"), "gauge");
    assert.equal(e.help.get("up"), "Whether it is up.");
    assert.deepEqual(e.errors, []);
  });

  it("unescapes backslashes, quotes and newlines in label values, and braces and commas stay literal", () => {
    const e = parsePrometheusText('m{path="C:\\\\dir",msg="say \\"hi\\"\\nbye",odd="a},b=\\"c"} 1\n');
    assert.deepEqual(e.samples[0]?.labels, { path: "C:\\dir", msg: 'say "hi"\nbye', odd: 'a},b="c' });
  });

  it("unescapes HELP text but leaves quotes alone there", () => {
    const e = parsePrometheusText('# HELP m Line one\\nline \\\\two "quoted"\n');
    assert.equal(e.help.get("m"), 'Line one\nline \\two "quoted"');
  });

  it("reads NaN, +Inf, -Inf, exponents and an optional timestamp", () => {
    const e = parsePrometheusText("a NaN\nb +Inf\nc -Inf\nd 1.5e-3 1700000000000\ne{le=\"+Inf\"} 3\nf -0.25\n");
    const v = Object.fromEntries(e.samples.map((s) => [s.name, s.value]));
    assert.ok(Number.isNaN(v.a));
    assert.equal(v.b, Infinity);
    assert.equal(v.c, -Infinity);
    assert.equal(v.d, 0.0015);
    assert.equal(v.f, -0.25);
    assert.equal(e.samples[3]?.timestampMs, 1700000000000);
    assert.equal(e.samples[4]?.labels.le, "+Inf");
  });

  it("accepts a trailing comma, spaces around labels, CRLF line ends and an empty label set", () => {
    const e = parsePrometheusText('m{ a = "1" , b="2", } 7\r\nn{} 8\r\n');
    assert.deepEqual(e.samples, [
      { name: "m", labels: { a: "1", b: "2" }, value: 7 },
      { name: "n", labels: {}, value: 8 },
    ]);
  });

  it("skips malformed lines with their line numbers and keeps reading", () => {
    const e = parsePrometheusText('ok 1\nbad{a="unterminated} 1\nnovalue\n{x="1"} 2\nwords here\nalso 3 4 5\nfine 2\n');
    assert.deepEqual(e.samples.map((s) => s.name), ["ok", "fine"]);
    assert.deepEqual(e.errors.map((x) => x.line), [2, 3, 4, 5, 6]);
    assert.match(e.errors[0]!.message, /unterminated value of label a/);
  });

  it("reads the gateway's aggregated text with the service label on every sample", () => {
    const e = parsePrometheusText(AGGREGATED);
    assert.deepEqual(e.errors, []);
    assert.equal(e.samples.length, 15);
    assert.ok(e.samples.every((s) => s.labels.service !== undefined));
    assert.equal(e.types.get("grpc_server_handling_seconds"), "histogram");
  });
});

describe("parseValue", () => {
  it("refuses what Prometheus would not write", () => {
    for (const bad of ["", "abc", "1.2.3", "0x", "1e", "--1"]) assert.equal(parseValue(bad), undefined, bad);
    assert.equal(parseValue("Inf"), Infinity);
    assert.equal(parseValue("nan"), NaN);
  });
});

describe("histogramQuantile", () => {
  const buckets = [
    { le: 0.1, count: 50 },
    { le: 1, count: 90 },
    { le: 10, count: 100 },
    { le: Infinity, count: 100 },
  ];
  it("interpolates within the bucket holding the rank, from 0 in the first bucket", () => {
    assert.equal(histogramQuantile(0.25, buckets), 0.05);
    assert.ok(Math.abs(histogramQuantile(0.7, buckets)! - 0.55) < 1e-12);
    assert.ok(Math.abs(histogramQuantile(0.95, buckets)! - 5.5) < 1e-12);
  });
  it("answers the highest finite bound for a rank in the +Inf bucket, and nothing without observations", () => {
    assert.equal(histogramQuantile(0.99, [{ le: 1, count: 1 }, { le: Infinity, count: 10 }]), 1);
    assert.equal(histogramQuantile(0.5, [{ le: 1, count: 0 }, { le: Infinity, count: 0 }]), undefined);
    assert.equal(histogramQuantile(0.5, []), undefined);
  });
  it("does not depend on the order the buckets came in", () => {
    assert.equal(histogramQuantile(0.25, [...buckets].reverse()), 0.05);
  });
});

describe("labelKey", () => {
  it("is the same for the same labels in any order and can leave labels out", () => {
    assert.equal(labelKey({ b: "2", a: "1" }), labelKey({ a: "1", b: "2" }));
    assert.equal(labelKey({ a: "1", le: "0.1" }, ["le"]), labelKey({ a: "1", le: "+Inf" }, ["le"]));
    assert.notEqual(labelKey({ a: "x,b=y" }), labelKey({ a: "x", b: "y" }));
  });
});

describe("mesh statistics", () => {
  const first = { atMs: 0, exposition: parsePrometheusText(AGGREGATED) };
  it("counts calls and non-OK codes per method and side, with latency from the histogram", () => {
    const rows = methodStats(first);
    const getJob = rows.find((r) => r.side === "client" && r.method === "switchyard.v1.Jobs/GetJob");
    assert.equal(getJob?.calls, 5);
    assert.equal(getJob?.errors, 2);
    assert.deepEqual(getJob?.errorCodes, [{ code: "NOT_FOUND", count: 2 }]);
    assert.equal(getJob?.callsPerSec, undefined);
    const list = rows.find((r) => r.side === "server" && r.method === "switchyard.v1.Jobs/ListJobs");
    assert.equal(list?.service, "jobs");
    assert.equal(list?.meanSec, 0.025);
    assert.equal(list?.windowed, false);
    assert.ok(list?.p95Sec !== undefined && list.p95Sec > 0.01 && list.p95Sec <= 0.1);
  });

  it("computes rates and latency over the interval between two scrapes", () => {
    const later = AGGREGATED.replace('grpc_method="ListJobs",grpc_code="OK"} 8', 'grpc_method="ListJobs",grpc_code="OK"} 18')
      .replace('grpc_method="ListJobs",le="0.01"} 4', 'grpc_method="ListJobs",le="0.01"} 14')
      .replace('grpc_method="ListJobs",le="0.1"} 8', 'grpc_method="ListJobs",le="0.1"} 18')
      .replace('grpc_method="ListJobs",le="+Inf"} 8', 'grpc_method="ListJobs",le="+Inf"} 18')
      .replace('grpc_method="ListJobs"} 0.2', 'grpc_method="ListJobs"} 0.25')
      .replace('grpc_method="ListJobs"} 8', 'grpc_method="ListJobs"} 18');
    const rows = methodStats({ atMs: 5000, exposition: parsePrometheusText(later) }, first);
    const client = rows.find((r) => r.side === "client" && r.method === "switchyard.v1.Jobs/ListJobs");
    assert.equal(client?.callsPerSec, 2);
    assert.equal(client?.errorsPerSec, 0);
    const server = rows.find((r) => r.side === "server" && r.method === "switchyard.v1.Jobs/ListJobs");
    assert.equal(server?.windowed, true);
    assert.ok(Math.abs(server!.meanSec! - 0.005) < 1e-12);
    assert.ok(server!.p99Sec! <= 0.01, "all ten calls of the interval were under 10 ms");
  });

  it("treats a counter that went down (a restarted service) as counting from zero", () => {
    const restarted = AGGREGATED.replace('grpc_method="ListJobs",grpc_code="OK"} 8', 'grpc_method="ListJobs",grpc_code="OK"} 3');
    const rows = methodStats({ atMs: 1000, exposition: parsePrometheusText(restarted) }, first);
    assert.equal(rows.find((r) => r.side === "client" && r.method === "switchyard.v1.Jobs/ListJobs")?.callsPerSec, 3);
  });

  it("draws who calls whom from the client side, summed per caller and destination", () => {
    assert.deepEqual(callEdges(methodStats(first)), [
      { from: "experiments", to: "jobs", calls: 6, errors: 0 },
      { from: "gateway", to: "jobs", calls: 13, errors: 2 },
    ]);
  });

  it("reads one-hot endpoint and breaker states and the policy revision per service", () => {
    assert.deepEqual(oneHotStates(first.exposition, "switchyard_mesh_endpoint_state", "endpoint"), [{ service: "gateway", destination: "jobs", target: "unix:/run/jobs.sock", state: "ejected" }]);
    assert.deepEqual(oneHotStates(first.exposition, "switchyard_mesh_breaker_state", "subset"), [{ service: "gateway", destination: "jobs", target: "", state: "open" }]);
    assert.deepEqual(perService(first.exposition, "switchyard_mesh_policy_revision"), [
      { service: "gateway", value: 3 },
      { service: "jobs", value: 2 },
    ]);
  });
});
