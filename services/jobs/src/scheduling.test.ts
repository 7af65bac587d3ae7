import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Queues } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { Sandbox, waitFor, waitForPhase } from "./test-harness.js";

const TRAIN = fileURLToPath(new URL("../../../examples/demo-train/train.mjs", import.meta.url));

function job(name: string, o: { priority?: number; gpus?: number; queue?: string; team?: string; command: string[] }): string {
  return JSON.stringify({
    apiVersion: "switchyard/v1",
    kind: "Job",
    metadata: { name, team: o.team ?? "default" },
    spec: { priority: o.priority ?? 0, queue: o.queue ?? "default", resources: { gpus: o.gpus ?? 1, cpu: "10m", memory: "16Mi" }, command: o.command },
  });
}

// The jobs service on the real scheduler: a preemption with its SIGTERM, and the preempted job resuming from its
// checkpoint directory; team quotas applied without a restart.
describe("jobs service: scheduling with priorities, preemption and quotas", () => {
  const sb = new Sandbox();
  after(() => sb.cleanup());

  it("preempts a low-priority job for a high-priority one; the preempted job resumes from its checkpoint", async () => {
    const jobs = await sb.startJobs({ SWITCHYARD_SIMULATE_GPUS: "1", SWITCHYARD_GRACE_MS: "5000", SWITCHYARD_MIN_RUN_TIME_MS: "0" });
    await jobs.client.submitJob({ requestId: "low", manifest: job("low", { priority: 0, command: [process.execPath, TRAIN, "--epochs", "12", "--sleep-ms", "150", "--checkpoint-every", "100"] }) });
    await waitFor("two epochs of the low-priority job", async () => ((await jobs.client.getMetrics({ name: "low" })).series.find((s) => s.name === "epoch")?.points.length ?? 0) >= 2 || undefined);
    await jobs.client.submitJob({ requestId: "high", manifest: job("high", { priority: 100, command: ["/bin/sh", "-c", "echo high-ran; sleep 0.3"] }) });
    const high = await waitForPhase(jobs.client, "high", ["Succeeded", "Failed"], 30_000);
    assert.equal(high.status?.phase, "Succeeded");
    const low = await waitForPhase(jobs.client, "low", ["Succeeded", "Failed"], 60_000);
    assert.equal(low.status?.phase, "Succeeded");
    assert.equal(low.status?.attempt, 2);

    const d = await jobs.client.describeJob({ name: "low" });
    const types = d.events.map((e) => e.type);
    assert.ok(types.includes("Preempted") && types.includes("Requeued"), types.join(","));
    const exited = d.events.find((e) => e.type === "Exited" && e.attempt === 1)!;
    assert.match(exited.message, /exited with code 143/, "the trainer handled SIGTERM by checkpointing");
    // The GPU was never held twice: the high-priority job was placed after the preempted replica had exited.
    const hd = await jobs.client.describeJob({ name: "high" });
    const placedHigh = hd.events.find((e) => e.type === "Placed")!;
    assert.ok(Number(placedHigh.time!.seconds) * 1000 + placedHigh.time!.nanos / 1e6 >= Number(exited.time!.seconds) * 1000 + exited.time!.nanos / 1e6 - 1);
    let log = "";
    for await (const c of jobs.client.getLogs({ name: "low", attempt: 2 })) log += Buffer.from(c.data).toString();
    const resumed = /resumed from epoch=(\d+)/.exec(log);
    assert.ok(resumed && Number(resumed[1]) >= 2, `attempt 2 resumed from the checkpoint: ${log.slice(0, 300)}`);
    assert.doesNotMatch(log, /^epoch=1 /m, "epoch 1 was not trained again");
    const art = await jobs.client.listArtifacts({ name: "low" });
    assert.ok(existsSync(join(art.outputDir, "model.onnx")));
    await jobs.stop();
  });

  it("applies team quotas without a restart, shows usage, and says which quota a waiting job waits for", async () => {
    const jobs = await sb.startJobs({ SWITCHYARD_SIMULATE_GPUS: "4" });
    const queues = sb.client(Queues, jobs.address);
    await assert.rejects(queues.applyQueues({ yaml: "queues:\n  - name: vision\n    resources:\n      gpu: 2\n", fileName: "queues.yaml" }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.InvalidArgument);
      assert.ok(e.details.some((d) => d.line === 4 && /gpus/.test(d.hint ?? d.message)), JSON.stringify(e.details));
      return true;
    });
    const applied = await queues.applyQueues({ yaml: "queues:\n  - name: vision\n    team: vision\n    resources:\n      gpus: {nominalQuota: 1}\n", fileName: "queues.yaml" });
    assert.equal(applied.version, 1n);
    const sleep = ["/bin/sh", "-c", "sleep 30"];
    // With queues in force, a job of a team without a queue is refused at once, naming the queues (it would wait forever).
    await assert.rejects(jobs.client.submitJob({ requestId: "nq", manifest: job("nq", { team: "nlp", queue: "nlp", command: sleep }) }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /team "nlp" has no queue, so its jobs cannot be admitted: the queues are vision \(team vision\)/.test(e.message));
    await jobs.client.submitJob({ requestId: "v1", manifest: job("v1", { team: "vision", queue: "vision", command: sleep }) });
    await waitForPhase(jobs.client, "v1", ["Running"]);
    await jobs.client.submitJob({ requestId: "v2", manifest: job("v2", { team: "vision", queue: "vision", command: sleep }) });
    const waiting = await waitFor("v2 to wait for its quota", async () => {
      const j = await jobs.client.getJob({ name: "v2" });
      return j.status?.reason === "Waiting" ? j : undefined;
    });
    assert.equal(waiting.status?.phase, "Queued");
    assert.match(waiting.status!.message, /quota|vision/i);
    const list = await queues.listQueues({});
    const vision = list.queues.find((q) => q.name === "vision")!;
    assert.equal(vision.running, 1);
    assert.equal(vision.pending, 1);
    assert.deepEqual(vision.resources.map((r) => [r.name, r.nominalQuota, r.used]), [["gpus", 1, 1]]);
    // Raise the quota: the waiting job starts, with no restart.
    await queues.applyQueues({ yaml: "queues:\n  - name: vision\n    team: vision\n    resources:\n      gpus: 2\n" });
    await waitForPhase(jobs.client, "v2", ["Running"]);
    const usage = await queues.getUsage({ since: "1h" });
    assert.equal(usage.rows.find((r) => r.team === "vision")?.jobs, 2);
    await jobs.client.cancelJob({ name: "v1" });
    await jobs.client.cancelJob({ name: "v2" });
    queues.close();
    await jobs.stop();
  });
});
