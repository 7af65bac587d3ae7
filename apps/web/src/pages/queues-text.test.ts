import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { create } from "@bufbuild/protobuf";
import { QueuedJobSchema } from "@switchyard/api";
import { agoText, amountText, hoursText, resourceLabel, waitText } from "./queues-text.js";

describe("queue text", () => {
  it("says why a job waits in plain words, without the position the table already shows", () => {
    const j = create(QueuedJobSchema, { reason: "Waiting", message: "queue default is at its gpus quota: 2 in use + 2 needed > nominal 1 (position 2 in the queue)" });
    assert.equal(waitText(j), "Waiting for resources: queue default is at its gpus quota: 2 in use + 2 needed > nominal 1.");
    assert.equal(waitText(create(QueuedJobSchema, { reason: "Submitted" })), "Not looked at by the scheduler yet.");
    assert.equal(waitText(create(QueuedJobSchema, { reason: "SomethingNew", message: "because" })), "SomethingNew: because.");
  });

  it("writes resource amounts in their units", () => {
    assert.equal(amountText("gpus", 1), "1 GPU");
    assert.equal(amountText("gpus/A100", 8), "8 GPUs");
    assert.equal(amountText("cpuMilli", 2500), "2.5 cores");
    assert.equal(amountText("memoryMb", 4096), "4 GiB");
    assert.equal(amountText("memoryMb", 512), "512 MiB");
    assert.equal(amountText("gpus", Infinity), "no limit");
    assert.equal(resourceLabel("gpus/H100"), "GPUs (H100)");
  });

  it("writes durations and hours briefly", () => {
    assert.equal(agoText(0, 59_000), "59 s");
    assert.equal(agoText(0, 3 * 3600_000 + 5 * 60_000), "3 h 5 min");
    assert.equal(agoText(0, 50 * 3600_000), "2 d 2 h");
    assert.equal(hoursText(0), "0");
    assert.equal(hoursText(0.004), "< 0.01");
    assert.equal(hoursText(1.256), "1.26");
    assert.equal(hoursText(12.34), "12.3");
  });
});
