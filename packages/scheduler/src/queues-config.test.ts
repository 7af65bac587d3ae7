import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { parseQueuesConfig } from "./queues-config.js";
import { DEFAULT_QUEUE_LIMITS, limitsOf } from "./queues-limits.js";

function problems(text: string): SwitchyardError {
  try {
    parseQueuesConfig(text, "queues.yaml");
  } catch (e) {
    assert.ok(e instanceof SwitchyardError);
    assert.equal(e.code, Code.InvalidArgument);
    return e;
  }
  assert.fail("expected an error");
}

describe("parseQueuesConfig", () => {
  it("reads queues with cohorts, limits, shorthand quotas and typed GPUs", () => {
    const c = parseQueuesConfig(`
queues:
  - name: vision
    team: vision
    cohort: research
    weight: 2
    resources:
      gpus: { nominalQuota: 16, borrowingLimit: 8, lendingLimit: 4 }
      gpus/A100: 8
      cpuMilli: { nominalQuota: 256000 }
  - name: nlp
    cohort: research
    resources:
      gpus: 8
`);
    assert.deepEqual(c, {
      queues: [
        { name: "vision", team: "vision", cohort: "research", weight: 2, resources: { gpus: { nominalQuota: 16, borrowingLimit: 8, lendingLimit: 4 }, "gpus/A100": { nominalQuota: 8 }, cpuMilli: { nominalQuota: 256000 } } },
        { name: "nlp", team: "nlp", cohort: "research", resources: { gpus: { nominalQuota: 8 } } },
      ],
    });
  });

  it("points at the line and column of an unknown resource, with a hint", () => {
    const e = problems(`queues:
  - name: a
    resources:
      cpu: 4
`);
    assert.equal(e.details[0]?.field, "queues[0].resources.cpu");
    assert.equal(e.details[0]?.line, 4);
    assert.equal(e.details[0]?.column, 7);
    assert.equal(e.details[0]?.hint, "use cpuMilli (1 CPU = 1000 cpuMilli)");
    assert.match(e.message, /queues.yaml:4:7: queues\[0\].resources.cpu: unknown resource "cpu"/);
  });

  it("reports every problem at once: typos, negative quotas, limits without a cohort, duplicates", () => {
    const e = problems(`queues:
  - name: a
    resources:
      gpus: { nominal: 4 }
  - name: a
    resources:
      gpus: { nominalQuota: -1 }
  - name: b
    resources:
      gpus: { nominalQuota: 4, borrowingLimit: 2 }
  - name: c
    cohort: x
    resources:
      gpus: { nominalQuota: 4, lendingLimit: 5 }
`);
    const fields = e.details.map((d) => `${d.field}: ${d.message}`);
    assert.deepEqual(fields, [
      'queues[0].resources.gpus.nominal: unknown field "nominal"',
      "queues[0].resources.gpus.nominalQuota: nominalQuota is required",
      "queues[1].resources.gpus.nominalQuota: nominalQuota must be a non-negative number",
      'queues[1].name: queue "a" is defined twice',
      "queues[2].resources.gpus.borrowingLimit: borrowingLimit means nothing without a cohort",
      "queues[3].resources.gpus.lendingLimit: cannot lend more than the nominal quota",
    ]);
    assert.equal(e.details[0]?.hint, "did you mean nominalQuota?");
  });

  it("rejects an empty document and broken YAML clearly", () => {
    assert.match(problems("").message, /the document is empty/);
    const broken = problems("queues:\n  - name: a\n   resources: [\n");
    assert.ok(broken.details[0]?.line !== undefined);
    assert.match(broken.message, /is not valid YAML/);
  });
});

describe("queue limits in queues.yaml", () => {
  it("layers built-in defaults, the file's defaults and each queue's own limits", () => {
    const config = parseQueuesConfig("defaults:\n  limits: {retention: 14d, metricPoints: 500}\nteams:\n  vision: {diskQuota: 50Gi}\nqueues:\n  - name: vision\n    resources: {gpus: 2}\n    limits: {retention: 12h, logTail: 16Mi}\n  - name: nlp\n    resources: {gpus: 2}\n");
    assert.deepEqual(limitsOf(config, "vision"), { retentionMs: 12 * 3600_000, logHeadBytes: 8 * 1024 ** 2, logTailBytes: 16 * 1024 ** 2, metricPoints: 500 });
    assert.deepEqual(limitsOf(config, "nlp"), { ...DEFAULT_QUEUE_LIMITS, retentionMs: 14 * 86_400_000, metricPoints: 500 });
    assert.deepEqual(limitsOf(undefined, "any"), DEFAULT_QUEUE_LIMITS);
    assert.deepEqual(config.teams, { vision: { diskQuotaBytes: 50 * 1024 ** 3 } });
  });

  it("refuses unknown or malformed limits with the field, the line and what was expected", () => {
    try {
      parseQueuesConfig("teams:\n  vision: {diskQuota: lots}\nqueues:\n  - name: a\n    resources: {gpus: 1}\n    limits: {retention: forever, logTial: 1Mi, metricPoints: 5}\n");
      assert.fail("accepted");
    } catch (err) {
      assert.ok(err instanceof SwitchyardError && err.code === Code.InvalidArgument);
      const by = Object.fromEntries(err.details.map((d) => [d.field, d]));
      assert.equal(by["teams.vision.diskQuota"]?.line, 2);
      assert.match(by["queues[0].limits.retention"]?.expected ?? "", /30d/);
      assert.match(by["queues[0].limits.logTial"]?.hint ?? "", /did you mean logTail/);
      assert.ok(by["queues[0].limits.metricPoints"]);
    }
  });
});
