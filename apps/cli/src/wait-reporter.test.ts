import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { PassThrough } from "node:stream";
import { create } from "@bufbuild/protobuf";
import { JobSchema, type Job } from "@switchyard/api";
import { QUIET_WAIT_MS, WaitReporter } from "./cmd-jobs.js";

const job = (phase: string, message = ""): Job => create(JobSchema, { status: { phase, reason: phase === "Queued" ? "Waiting" : "", message } });

describe("--wait and --follow say why a job waits", () => {
  it("stays quiet for the first seconds, then prints the reason, and again only when it changes", () => {
    let now = 0;
    const out = new PassThrough();
    const lines: string[] = [];
    out.on("data", (d: Buffer) => lines.push(...d.toString().split("\n").filter(Boolean)));
    const r = new WaitReporter("train", out, () => now);
    r.see(job("Queued", "needs 2 GPUs; 0 of 1 GPUs free on node local"));
    now = QUIET_WAIT_MS - 1;
    r.see(job("Queued", "needs 2 GPUs; 0 of 1 GPUs free on node local"));
    assert.deepEqual(lines, [], "a job that starts within the quiet period is never said to wait");
    now = QUIET_WAIT_MS;
    r.see(job("Queued", "needs 2 GPUs; 0 of 1 GPUs free on node local"));
    now += 1000;
    r.see(job("Queued", "needs 2 GPUs; 0 of 1 GPUs free on node local"));
    now += 1000;
    r.see(job("Queued", "queue vision is at its gpus quota (4 of 4 used)"));
    assert.deepEqual(lines, ["job/train is waiting: needs 2 GPUs; 0 of 1 GPUs free on node local", "job/train is waiting: queue vision is at its gpus quota (4 of 4 used)"]);
    // Started, then preempted and queued again: a new quiet period, then the reason again even if it is the same text.
    r.see(job("Running"));
    r.see(job("Queued", "queue vision is at its gpus quota (4 of 4 used)"));
    now += QUIET_WAIT_MS;
    r.see(job("Queued", "queue vision is at its gpus quota (4 of 4 used)"));
    assert.equal(lines.length, 3);
  });
});
