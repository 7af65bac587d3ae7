// What a submission must pass before it is stored (job-admission.ts), against the real service: a queue of the job's
// team, a size this node can ever hold, working directories that mean something; and what `queues` shows of the jobs
// that wait.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Queues } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import type { MeshClient } from "@switchyard/mesh";
import { Sandbox, waitFor, waitForPhase, type JobsProcess } from "./test-harness.js";

function job(name: string, o: { team?: string; queue?: string; gpus?: number; replicas?: number; cpu?: string; command?: string[]; workingDir?: string } = {}): string {
  return JSON.stringify({
    apiVersion: "switchyard/v1",
    kind: "Job",
    metadata: { name, team: o.team ?? "default" },
    spec: {
      ...(o.queue !== undefined ? { queue: o.queue } : {}),
      replicas: o.replicas ?? 1,
      resources: { gpus: o.gpus ?? 0, ...(o.cpu !== undefined ? { cpu: o.cpu } : {}) },
      command: o.command ?? ["/bin/sh", "-c", "true"],
      ...(o.workingDir !== undefined ? { workingDir: o.workingDir } : {}),
    },
  });
}

/** The error a call fails with (the test fails if it succeeds). */
async function refusal(p: Promise<unknown>): Promise<SwitchyardError> {
  return p.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => SwitchyardError.from(e),
  );
}

// The README's queues.yaml.
const README_QUEUES = `queues:
  - name: default
    team: default
    resources:
      gpus: {nominalQuota: 2}
  - name: vision
    team: vision
    cohort: research
    resources:
      gpus: {nominalQuota: 4, borrowingLimit: 4}
  - name: nlp
    team: nlp
    cohort: research
    resources:
      gpus: {nominalQuota: 4, lendingLimit: 2}
`;

describe("jobs service: admission at submission", () => {
  const sb = new Sandbox();
  let jobs: JobsProcess;
  let queues: MeshClient<typeof Queues>;
  before(async () => {
    jobs = await sb.startJobs({ SWITCHYARD_SIMULATE_GPUS: "4", SWITCHYARD_CPU_MILLI: "2000", SWITCHYARD_MEMORY_MB: "4096", SWITCHYARD_NODE_NAME: "small" });
    queues = sb.client(Queues, jobs.address);
  });
  after(async () => {
    queues.close();
    await sb.cleanup();
  });

  it("admits every job under the queue it names while no queues are configured", async () => {
    const r = await jobs.client.submitJob({ manifest: job("anything", { team: "vision", queue: "nosuch" }) });
    assert.equal(r.job?.spec?.queue, "nosuch");
    await waitForPhase(jobs.client, "anything", ["Succeeded"]);
  });

  it("with the README's queues, sends a job to its team's queue and refuses one whose queue is not its team's", async () => {
    await queues.applyQueues({ yaml: README_QUEUES, fileName: "queues.yaml" });
    // No queue named: the team's first queue (`default` is what a manifest without a queue says).
    const d = await jobs.client.submitJob({ manifest: job("d1") });
    assert.equal(d.job?.spec?.queue, "default");
    await waitForPhase(jobs.client, "d1", ["Succeeded"]);
    const v = await jobs.client.submitJob({ manifest: job("v1", { team: "vision" }) });
    assert.equal(v.job?.spec?.queue, "vision", "a vision job that names no queue is vision's, not the queue called default");
    const events = (await jobs.client.describeJob({ name: "v1", team: "vision" })).events;
    assert.match(events[0]!.message, /^submitted to queue vision \(team vision/);

    const nosuch = await refusal(jobs.client.submitJob({ manifest: job("v2", { team: "vision", queue: "nosuch" }) }));
    assert.equal(nosuch.code, Code.InvalidArgument);
    assert.equal(nosuch.message, 'spec.queue: there is no queue "nosuch": team vision may use vision');
    assert.deepEqual(nosuch.details.map((x) => [x.field, x.expected, x.got]), [["spec.queue", "vision", "nosuch"]]);

    const others = await refusal(jobs.client.submitJob({ manifest: job("v3", { team: "vision", queue: "nlp" }) }));
    assert.equal(others.code, Code.InvalidArgument);
    assert.equal(others.message, 'spec.queue: queue "nlp" belongs to team nlp, not to team vision: team vision may use vision');

    const none = await refusal(jobs.client.submitJob({ manifest: job("m1", { team: "ml" }) }));
    assert.equal(none.code, Code.InvalidArgument);
    assert.match(none.message, /^team "ml" has no queue, so its jobs cannot be admitted: the queues are default \(team default\), vision \(team vision\), nlp \(team nlp\)\. An admin adds a queue with `team: ml` to queues.yaml/);
    assert.equal(none.details[0]?.field, "metadata.team");
    const listed = await jobs.client.listJobs({});
    assert.deepEqual(listed.jobs.map((j) => j.metadata?.name).filter((n) => ["v2", "v3", "m1"].includes(n!)), [], "nothing refused was stored");
  });

  it("refuses a default-team job once the queues leave team default out (it would wait for ever)", async () => {
    await queues.applyQueues({ yaml: README_QUEUES.slice(README_QUEUES.indexOf("  - name: vision")).replace(/^/, "queues:\n") });
    const e = await refusal(jobs.client.submitJob({ manifest: job("d2") }));
    assert.match(e.message, /^team "default" has no queue, so its jobs cannot be admitted: the queues are vision \(team vision\), nlp \(team nlp\)\./);
    await queues.applyQueues({ yaml: README_QUEUES });
  });

  it("refuses what can never fit on this node, counting only what the job declares, unless told the cluster will grow", async () => {
    const big = await refusal(jobs.client.submitJob({ manifest: job("big", { gpus: 99 }) }));
    assert.equal(big.code, Code.InvalidArgument);
    assert.equal(big.message, "the job can never fit on this platform: it needs 99 GPUs on one node and the largest node has 4; node small has 4 GPUs, 2000 cpuMilli (2 CPUs) and 4096 MB of memory in all. Ask for less (spec.resources, spec.replicas), or, if the cluster will grow, submit with --allow-unschedulable (allow_unschedulable) and it waits until then");
    assert.deepEqual(big.details.map((x) => [x.field, x.got]), [["spec.resources", "1 replica × (99 GPUs)"]]);

    const gang = await refusal(jobs.client.submitJob({ manifest: job("gang", { replicas: 4, cpu: "1" }) }));
    assert.match(gang.message, /^the job can never fit on this platform: the gang needs 4000 cpuMilli in all \(4 replicas\) and the cluster has 2000; /);
    // The same replicas declaring nothing (BestEffort) request nothing, and fit.
    await jobs.client.submitJob({ manifest: job("gang-besteffort", { replicas: 4 }) });
    await waitForPhase(jobs.client, "gang-besteffort", ["Succeeded"]);

    const grows = await jobs.client.submitJob({ manifest: job("big", { gpus: 99 }), allowUnschedulable: true });
    assert.equal(grows.job?.status?.phase, "Queued");
    const waiting = await waitFor("big to wait", async () => {
      const j = await jobs.client.getJob({ name: "big" });
      return j.status?.reason === "Waiting" ? j : undefined;
    });
    assert.match(waiting.status!.message, /can never fit: needs 99 GPUs on one node and the largest node has 4/);
    await jobs.client.cancelJob({ name: "big" });
  });

  it("refuses a relative workingDir when no base directory came with the manifest (REST), naming the field", async () => {
    const rel = await refusal(jobs.client.submitJob({ manifest: job("rel", { workingDir: "." }) }));
    assert.equal(rel.code, Code.InvalidArgument);
    assert.match(rel.message, /^spec\.workingDir: "\.": a relative working directory needs the directory it is relative to/);
    assert.deepEqual(rel.details.map((x) => [x.field, x.got]), [["spec.workingDir", "."]]);
    // Validation says the same, so that what validates over REST also submits.
    assert.equal((await refusal(jobs.client.validateJob({ manifest: job("rel", { workingDir: "." }) }))).details[0]?.field, "spec.workingDir");
    const pytorch = await refusal(jobs.client.submitJob({ manifest: pytorchJob("rel-ddp", "work") }));
    assert.deepEqual(pytorch.details.map((x) => x.field), ["spec.pytorchReplicaSpecs.Master.template.spec.containers[pytorch].workingDir", "spec.pytorchReplicaSpecs.Worker.template.spec.containers[pytorch].workingDir"]);
    const base = await refusal(jobs.client.submitJob({ manifest: job("rel", { workingDir: "." }), baseDir: "some/dir" }));
    assert.equal(base.details[0]?.field, "base_dir");
    // From the CLI: the manifest's directory comes with it, and the job runs there.
    await jobs.client.submitJob({ manifest: job("rel", { workingDir: ".", command: ["/bin/sh", "-c", "pwd"] }), baseDir: sb.dir });
    await waitForPhase(jobs.client, "rel", ["Succeeded"]);
    let log = "";
    for await (const c of jobs.client.getLogs({ name: "rel" })) log += Buffer.from(c.data).toString();
    assert.equal(log.trim(), sb.dir);
  });

  it("lists each queue's pending jobs in the order they wait, with why, and its lending limits", async () => {
    await queues.applyQueues({ yaml: "queues:\n  - name: vision\n    team: vision\n    resources:\n      gpus: {nominalQuota: 1}\n  - name: nlp\n    team: nlp\n    cohort: research\n    resources:\n      gpus: {nominalQuota: 2, lendingLimit: 1}\n" });
    const sleep = ["/bin/sh", "-c", "sleep 30"];
    await jobs.client.submitJob({ manifest: job("q1", { team: "vision", gpus: 1, command: sleep }) });
    await waitForPhase(jobs.client, "q1", ["Running"]);
    await jobs.client.submitJob({ manifest: job("q2", { team: "vision", gpus: 1, command: sleep }) });
    await jobs.client.submitJob({ manifest: job("q3", { team: "vision", gpus: 1, command: sleep }) });
    const vision = await waitFor("q2 and q3 to wait for vision's quota", async () => {
      const q = (await queues.listQueues({})).queues.find((x) => x.name === "vision")!;
      return q.pendingJobs.length === 2 && q.pendingJobs.every((p) => p.reason === "Waiting") ? q : undefined;
    });
    assert.equal(vision.pending, 2);
    assert.equal(vision.running, 1);
    assert.deepEqual(vision.pendingJobs.map((p) => [p.name, p.team, p.position]), [["q2", "vision", 1], ["q3", "vision", 2]]);
    assert.match(vision.pendingJobs[0]!.message, /quota/);
    assert.ok(vision.pendingJobs[0]!.uid !== "" && vision.pendingJobs[0]!.queuedTime !== undefined);
    const capped = (await queues.listQueues({ maxPendingJobs: 1 })).queues.find((x) => x.name === "vision")!;
    assert.deepEqual([capped.pending, capped.pendingJobs.map((p) => p.name)], [2, ["q2"]]);
    const nlp = (await queues.listQueues({})).queues.find((x) => x.name === "nlp")!;
    assert.deepEqual(nlp.resources.map((r) => [r.name, r.nominalQuota, r.lendingLimit, r.borrowingLimit]), [["gpus", 2, 1, undefined]]);
    assert.equal((await refusal(queues.listQueues({ maxPendingJobs: -1 }))).code, Code.InvalidArgument);
    for (const n of ["q1", "q2", "q3"]) await jobs.client.cancelJob({ name: n });
  });
});

function pytorchJob(name: string, workingDir: string): string {
  const role = (kind: string) => `    ${kind}:
      replicas: 1
      template:
        spec:
          containers:
            - name: pytorch
              command: [/bin/true]
              workingDir: ${workingDir}
`;
  return `apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata: {name: ${name}}
spec:
  pytorchReplicaSpecs:
${role("Master")}${role("Worker")}`;
}
