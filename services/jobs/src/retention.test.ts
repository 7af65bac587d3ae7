import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Queues } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { Sandbox, shellJob, waitFor, waitForPhase } from "./test-harness.js";

// The disk as a whole: finished jobs' files deleted after their queue's retention (or by gc), their records kept;
// a team over its disk quota refused new work with the fix.
describe("jobs service: retention of job files and team disk quotas", () => {
  const sb = new Sandbox();
  after(() => sb.cleanup());

  it("deletes a finished job's logs and artifacts after its queue's retention, keeps its record and metrics, and says so", async (t) => {
    const jobs = await sb.startJobs({ SWITCHYARD_RETENTION_SWEEP_MS: "200" });
    // Stopped even when an assertion fails, so the next test's service can take the data dir's sockets.
    t.after(() => jobs.stop());
    const queues = sb.client(Queues, jobs.address);
    await queues.applyQueues({ yaml: "queues:\n  - name: short\n    team: default\n    resources: {gpus: 0}\n    limits: {retention: 1s}\n  - name: long\n    team: default\n    resources: {gpus: 0}\n", fileName: "queues.yaml" });
    const script = 'head -c 300000 /dev/zero > "$SWITCHYARD_OUTPUT_DIR/model.bin"; echo loss=0.5';
    const { job: short } = await jobs.client.submitJob({ manifest: shellJob("short-lived", script, "  queue: short\n"), requestId: "short" });
    const { job: long } = await jobs.client.submitJob({ manifest: shellJob("long-lived", script, "  queue: long\n"), requestId: "long" });
    await waitForPhase(jobs.client, "short-lived", ["Succeeded"]);
    await waitForPhase(jobs.client, "long-lived", ["Succeeded"]);
    const outputOf = async (name: string) => (await jobs.client.listArtifacts({ name })).outputDir;
    const shortOut = await outputOf("short-lived");
    const longOut = await outputOf("long-lived");
    await waitFor("the sweep to collect the short-retention job", async () => (await jobs.client.describeJob({ name: "short-lived" })).events.find((e) => e.type === "Collected"));
    const collected = (await jobs.client.describeJob({ name: "short-lived" })).events.find((e) => e.type === "Collected")!;
    assert.match(collected.message, /deleted \([\d.]+ MiB\): the job ended more than its queue's retention \(1 s\) ago/);
    assert.ok(!existsSync(shortOut), "its files are gone");
    assert.ok(existsSync(join(longOut, "model.bin")), "the default retention (30 days) keeps the other");
    assert.equal((await jobs.client.getJob({ name: "short-lived" })).metadata?.uid, short?.metadata?.uid, "its record stays");
    assert.equal((await jobs.client.getMetrics({ name: "short-lived" })).series[0]?.latest, 0.5, "its metrics stay");
    await assert.rejects(jobs.client.listArtifacts({ name: "short-lived" }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.FailedPrecondition && /files were deleted/.test(e.message));
    // gc now, dry first: the long-retention job is listed, then its files deleted.
    const dry = await jobs.client.collectGarbage({ olderThanSeconds: 0n, dryRun: true });
    assert.deepEqual(dry.jobs.map((j) => j.name), []);
    // "Older than 1 s" holds once the long job has been finished that long (not a race with when it ended).
    const longEnded = timestampMs((await jobs.client.getJob({ name: "long-lived" })).status!.completionTime!);
    await new Promise((r) => setTimeout(r, Math.max(0, longEnded + 1200 - Date.now())));
    const listed = await jobs.client.collectGarbage({ olderThanSeconds: 1n, dryRun: true });
    assert.deepEqual(listed.jobs.map((j) => j.uid), [long!.metadata!.uid]);
    assert.ok(listed.freedBytes >= 300_000n, String(listed.freedBytes));
    assert.ok(existsSync(join(longOut, "model.bin")), "a dry run deletes nothing");
    const done = await jobs.client.collectGarbage({ olderThanSeconds: 1n, dryRun: false });
    assert.equal(done.jobs.length, 1);
    assert.ok(!existsSync(longOut));
    await jobs.stop();
  });

  it("refuses a team's new jobs while it is over its disk quota, saying how much it uses and how to free it", async (t) => {
    const jobs = await sb.startJobs({ SWITCHYARD_RETENTION_SWEEP_MS: "200" });
    t.after(() => jobs.stop());
    const queues = sb.client(Queues, jobs.address);
    await queues.applyQueues({ yaml: "teams:\n  vision: {diskQuota: 100Ki}\nqueues:\n  - name: vision\n    team: vision\n    resources: {gpus: 0}\n  - name: default\n    team: default\n    resources: {gpus: 0}\n", fileName: "queues.yaml" });
    const big = shellJob("filler", 'head -c 400000 /dev/zero > "$SWITCHYARD_OUTPUT_DIR/big.bin"', "").replace("metadata:\n  name: filler", "metadata:\n  name: filler\n  team: vision");
    await jobs.client.submitJob({ manifest: big, requestId: "filler" });
    await waitForPhase(jobs.client, "filler", ["Succeeded"]);
    await waitFor("the team's usage to be measured", async () => ((await jobs.client.collectGarbage({ team: "vision", dryRun: true, olderThanSeconds: 0n })).usage.find((u) => u.team === "vision")?.bytes ?? 0n) > 100n * 1024n || undefined);
    await assert.rejects(jobs.client.submitJob({ manifest: big.replace("filler", "another"), requestId: "another" }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.ResourceExhausted, String(e));
      assert.match(e.message, /team "vision" uses [\d.]+ MiB of its 0\.1 MiB disk quota[\s\S]*switchyard gc --team vision/);
      return true;
    });
    // Other teams are not affected; freeing the space lets the team submit again.
    await jobs.client.submitJob({ manifest: shellJob("other-team", "true"), requestId: "other" });
    await waitFor("the filler to be a second old and collected", async () => (await jobs.client.collectGarbage({ team: "vision", olderThanSeconds: 1n, dryRun: false })).jobs.length > 0 || undefined);
    await jobs.client.submitJob({ manifest: big.replace("filler", "after-gc"), requestId: "after-gc" });
    await jobs.stop();
  });
});
