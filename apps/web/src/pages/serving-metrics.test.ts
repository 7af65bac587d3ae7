import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { parsePrometheusText } from "./mesh-metrics.js";
import { revisionLoads } from "./serving-metrics.js";

// Two replicas of revision 1 (each model server's samples, as the gateway's /metrics merges them) and one of revision 2.
const text = (r1a: number, r1b: number, fails: number) => `# TYPE switchyard_inference_requests_total counter
switchyard_inference_requests_total{service="inference",model="spirals",revision="1",outcome="ok"} ${r1a}
switchyard_inference_requests_total{service="inference",model="spirals",revision="1",outcome="ok"} ${r1b}
switchyard_inference_requests_total{service="inference",model="spirals",revision="2",outcome="UNAVAILABLE"} ${fails}
switchyard_inference_request_duration_seconds_bucket{service="inference",model="spirals",revision="1",le="0.001"} ${r1a}
switchyard_inference_request_duration_seconds_bucket{service="inference",model="spirals",revision="1",le="+Inf"} ${r1a}
switchyard_inference_request_duration_seconds_bucket{service="inference",model="spirals",revision="1",le="0.001"} 0
switchyard_inference_request_duration_seconds_bucket{service="inference",model="spirals",revision="1",le="+Inf"} ${r1b}
switchyard_inference_request_duration_seconds_sum{service="inference",model="spirals",revision="1"} ${r1a * 0.0005}
switchyard_inference_request_duration_seconds_sum{service="inference",model="spirals",revision="1"} ${r1b * 0.002}
switchyard_inference_request_duration_seconds_count{service="inference",model="spirals",revision="1"} ${r1a}
switchyard_inference_request_duration_seconds_count{service="inference",model="spirals",revision="1"} ${r1b}
`;

describe("revisionLoads", () => {
  it("sums the replicas of a revision and counts outcomes other than ok as failed", () => {
    const loads = revisionLoads({ atMs: 0, exposition: parsePrometheusText(text(30, 10, 4)) });
    const r1 = loads.get("spirals/1")!;
    assert.equal(r1.requests, 40);
    assert.equal(r1.errors, 0);
    assert.ok(Math.abs(r1.meanSec! - (30 * 0.0005 + 10 * 0.002) / 40) < 1e-12);
    assert.equal(r1.p95Sec, 0.001, "a quarter of the calls were over 1 ms: the 95th percentile is in the +Inf bucket");
    assert.equal(r1.requestsPerSec, undefined);
    assert.equal(loads.get("spirals/2")?.errors, 4);
  });

  it("gives requests per second and the latency of the interval between two scrapes", () => {
    const first = { atMs: 0, exposition: parsePrometheusText(text(30, 10, 4)) };
    const loads = revisionLoads({ atMs: 2000, exposition: parsePrometheusText(text(50, 10, 4)) }, first);
    const r1 = loads.get("spirals/1")!;
    assert.equal(r1.requestsPerSec, 10);
    assert.equal(r1.windowed, true);
    assert.ok(Math.abs(r1.meanSec! - 0.0005) < 1e-12, "only the fast replica answered in the interval");
    assert.ok(Math.abs(r1.p99Sec! - 0.00099) < 1e-12, `p99 ${r1.p99Sec}: the interval's 20 calls were all under 1 ms (over both scrapes it would be the +Inf bucket: 0.001)`);
  });
});
