import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { Queues } from "@switchyard/api";
import { Sandbox, shellJob, waitForPhase } from "./test-harness.js";

// kill -9 of the jobs service at named points of a job's lifecycle (crash-fixture.ts: the service SIGKILLs itself
// there), then a restart: every job is there, exits that happened meanwhile are recorded, nothing ran twice.
describe("jobs service: kill -9 at any point, then restart", () => {
  const sb = new Sandbox();
  after(() => sb.cleanup());

  const runs = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean).length;

  for (const point of ["after-place", "after-launch-replica", "after-running"] as const) {
    it(`recovers a job killed ${point} without starting it twice`, async () => {
      const counter = sb.file(`count-${point}`, "");
      const first = await sb.startJobs({}, point);
      await first.client.submitJob({ manifest: shellJob(`crash-${point}`, `echo run >> ${counter}; sleep 0.3; echo done`), requestId: point }).catch(() => undefined);
      await Sandbox.died(first);
      assert.equal(first.child.signalCode, "SIGKILL", "it died at the crash point, not of something else");
      const second = await sb.startJobs();
      const j = await waitForPhase(second.client, `crash-${point}`, ["Succeeded", "Failed"]);
      assert.equal(j.status?.phase, "Succeeded");
      assert.equal(runs(counter), 1, "the command ran exactly once");
      await second.stop();
    });
  }

  it("records the exit code of a replica that ended while the service was down", async () => {
    const jobs = await sb.startJobs();
    await jobs.client.submitJob({ manifest: shellJob("ends-while-down", "sleep 1; exit 7"), requestId: "down" });
    await waitForPhase(jobs.client, "ends-while-down", ["Running"]);
    await jobs.crash();
    await new Promise((r) => setTimeout(r, 1500));
    const again = await sb.startJobs();
    const j = await waitForPhase(again.client, "ends-while-down", ["Failed"]);
    assert.equal(j.status?.replicas[0]?.exitCode, 7);
    const d = await again.client.describeJob({ name: "ends-while-down" });
    assert.ok(d.events.some((e) => e.type === "Exited" && /while the jobs service was down/.test(e.message)), d.events.map((e) => `${e.type}: ${e.message}`).join("; "));
    await again.stop();
  });

  it("re-adopts a replica still running across the restart and sees it finish", async () => {
    const counter = sb.file("count-adopt", "");
    const jobs = await sb.startJobs();
    await jobs.client.submitJob({ manifest: shellJob("adopt", `echo run >> ${counter}; sleep 1.5; echo 'acc=0.9'`), requestId: "adopt" });
    await waitForPhase(jobs.client, "adopt", ["Running"]);
    await jobs.crash();
    const again = await sb.startJobs();
    const j = await waitForPhase(again.client, "adopt", ["Succeeded", "Failed"]);
    assert.equal(j.status?.phase, "Succeeded");
    assert.equal(runs(counter), 1);
    const m = await again.client.getMetrics({ name: "adopt" });
    assert.deepEqual(m.series.map((s) => [s.name, s.latest]), [["acc", 0.9]]);
    let log = "";
    for await (const c of again.client.getLogs({ name: "adopt" })) log += Buffer.from(c.data).toString();
    assert.equal(log, "acc=0.9\n");
    await again.stop();
  });

  it("finishes a cancel that was interrupted by a crash", async () => {
    const jobs = await sb.startJobs({ SWITCHYARD_GRACE_MS: "30000" });
    await jobs.client.submitJob({ manifest: shellJob("cancel-crash", "trap '' TERM; sleep 30"), requestId: "cc" });
    await waitForPhase(jobs.client, "cancel-crash", ["Running"]);
    await jobs.client.cancelJob({ name: "cancel-crash" });
    await jobs.crash();
    const again = await sb.startJobs({ SWITCHYARD_GRACE_MS: "200" });
    const j = await waitForPhase(again.client, "cancel-crash", ["Cancelled"]);
    assert.equal(j.status?.replicas[0]?.state, "Terminated");
    await again.stop();
  });

  it("keeps a flooding job's log within its limits while the jobs service is dead, and the job ends with its own exit code", async () => {
    const jobs = await sb.startJobs();
    await sb.client(Queues, jobs.address).applyQueues({ yaml: "queues:\n  - name: flood\n    team: default\n    resources: {gpus: 0}\n    limits: {logHead: 4Mi, logTail: 4Mi}\n", fileName: "queues.yaml" });
    // About 6 s of output at a few hundred MB/s, then its own exit code.
    const flood = "end=$(( $(date +%s) + 6 )); while [ $(date +%s) -lt $end ]; do head -c 8000000 /dev/zero | tr '\\0' x; echo; done; echo last-line; exit 3";
    const { job } = await jobs.client.submitJob({ manifest: shellJob("flood", flood, "  queue: flood\n"), requestId: "flood" });
    await waitForPhase(jobs.client, "flood", ["Running"]);
    await jobs.crash();
    // While nobody watches, the writer between the replica and its log holds the limit: head + tail + one chunk (of
    // log chunks; the run's few small record files come on top).
    const runDir = join(sb.dataDir, "jobs", "runs", `${job!.metadata!.uid}.a1.r0`);
    const bound = 4 * 1024 ** 2 + 4 * 1024 ** 2 + 4 * 1024 ** 2;
    let maxBytes = 0;
    for (let i = 0; i < 40; i++) {
      let bytes = 0;
      for (const name of readdirSync(runDir)) if (/^log\.\d+$/.test(name)) bytes += lstatSync(join(runDir, name), { throwIfNoEntry: false })?.size ?? 0;
      maxBytes = Math.max(maxBytes, bytes);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(maxBytes > 4 * 1024 ** 2, `the job wrote (${maxBytes} bytes seen)`);
    assert.ok(maxBytes <= bound, `${maxBytes} bytes on disk, over ${bound}`);
    const again = await sb.startJobs();
    const j = await waitForPhase(again.client, "flood", ["Failed"], 30_000);
    assert.equal(j.status?.replicas[0]?.exitCode, 3);
    let log = "";
    for await (const c of again.client.getLogs({ name: "flood" })) log += Buffer.from(c.data).toString("latin1");
    assert.match(log, /\[switchyard: \d+ bytes of output dropped here/);
    assert.match(log, /last-line\n$/);
    assert.ok(log.length <= bound, `${log.length} bytes read back`);
    await again.stop();
  });
});
