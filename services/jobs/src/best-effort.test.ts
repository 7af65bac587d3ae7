import { after, describe, it } from "node:test";
import assert from "node:assert/strict";
import { Code, SwitchyardError } from "@switchyard/core";
import { Sandbox, waitFor, waitForPhase } from "./test-harness.js";

/**
 * Kubeflow's pytorch_job_sendrecv.yaml shape: a Master and 3 Workers, no `resources` at all, each replica talking to
 * the Master over MASTER_ADDR:MASTER_PORT. Each Worker sends its rank; the Master answers every Worker once all have
 * connected (so all four ran at the same time), then waits for each to hang up.
 */
const SENDRECV = `
const net = require("node:net");
const rank = Number(process.env.RANK), world = Number(process.env.WORLD_SIZE);
const port = Number(process.env.MASTER_PORT), host = process.env.MASTER_ADDR;
if (rank === 0) {
  const workers = [];
  let gone = 0;
  net.createServer((s) => {
    s.setEncoding("utf8");
    s.once("data", (d) => {
      console.log("master got " + d.trim());
      workers.push(s);
      if (workers.length === world - 1) for (const w of workers) w.write("go\\n");
    });
    s.on("close", () => {
      if (++gone < world - 1) return;
      console.log("master: all " + gone + " workers done");
      process.exit(0);
    });
  }).listen(port, host);
} else {
  const attempt = () => {
    const s = net.connect(port, host, () => s.write("rank=" + rank + "\\n"));
    s.setEncoding("utf8");
    s.on("error", () => setTimeout(attempt, 50));
    s.on("data", (d) => { console.log("worker " + rank + " got " + d.trim()); s.end(); });
  };
  attempt();
}
`;

function sendrecvJob(name: string, resources = ""): string {
  const role = (kind: "Master" | "Worker", replicas: number) => `    ${kind}:
      replicas: ${replicas}
      restartPolicy: OnFailure
      template:
        spec:
          containers:
            - name: pytorch
              image: kubeflow/pytorch-dist-sendrecv-test:1.0
              command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(SENDRECV)}]
${resources}`;
  return `apiVersion: kubeflow.org/v1
kind: PyTorchJob
metadata:
  name: ${name}
spec:
  pytorchReplicaSpecs:
${role("Master", 1)}${role("Worker", 3)}`;
}

// A replica that declares no CPU or memory requests none (Kubernetes' BestEffort): on a node of 2 CPUs and 1 GiB, the
// old default (1 CPU and 1 GiB per replica, 4 CPUs and 4 GiB for this gang) would have held the job back for ever.
describe("jobs service: replicas that declare no resources (BestEffort)", () => {
  const sb = new Sandbox();
  after(() => sb.cleanup());

  it("places and runs the 4 replicas of a PyTorchJob without resources on a 2-CPU node, and the job succeeds", async () => {
    const jobs = await sb.startJobs({ SWITCHYARD_SIMULATE_GPUS: "0", SWITCHYARD_CPU_MILLI: "2000", SWITCHYARD_MEMORY_MB: "1024", SWITCHYARD_NODE_NAME: "small" });
    await jobs.client.submitJob({ requestId: "sendrecv", manifest: sendrecvJob("sendrecv") });
    const done = await waitForPhase(jobs.client, "sendrecv", ["Succeeded", "Failed"], 60_000);
    assert.equal(done.status?.phase, "Succeeded", done.status?.message);
    assert.deepEqual(done.status?.replicas.map((r) => r.role), ["Master", "Worker", "Worker", "Worker"]);
    assert.equal(done.status?.replicas[0]?.exitCode, 0);
    // The Master decides (Kubeflow's success policy); a Worker still exiting then is stopped, and said to be.
    assert.match(done.status!.message, /^(all replicas succeeded|Master succeeded) \(attempt 1\)/);
    const spec = done.spec!;
    assert.deepEqual(spec.roles.map((r) => [r.name, r.replicas, r.resources?.cpuMilli, r.resources?.memoryMb, r.resources?.gpus]), [["Master", 1, 0n, 0n, 0], ["Worker", 3, 0n, 0n, 0]]);

    const d = await jobs.client.describeJob({ name: "sendrecv" });
    const placed = d.events.find((e) => e.type === "Placed")!;
    assert.equal(placed.message, "replica 0 on small (no GPU); replica 1 on small (no GPU); replica 2 on small (no GPU); replica 3 on small (no GPU)");
    assert.ok(d.events.some((e) => e.type === "Started" && /^4 replica\(s\) started/.test(e.message)), d.events.map((e) => e.message).join("\n"));
    // Every replica ran, all at once: each Worker was answered only after all three had connected.
    let master = "";
    for await (const c of jobs.client.getLogs({ name: "sendrecv", replica: 0 })) master += Buffer.from(c.data).toString();
    assert.deepEqual(master.split("\n").filter((l) => l.startsWith("master got")).sort(), ["master got rank=1", "master got rank=2", "master got rank=3"]);
    assert.match(master, /master: all 3 workers done/);
    for (const replica of [1, 2, 3]) {
      let log = "";
      for await (const c of jobs.client.getLogs({ name: "sendrecv", replica })) log += Buffer.from(c.data).toString();
      assert.match(log, new RegExp(`^worker ${replica} got go$`, "m"));
    }
    // A job that asks for CPU is still held to it: a gang of two replicas with only a CPU limit of 2 each (the limit
    // stands in for the request) can never fit this 2-CPU node: refused at submission, saying what it asks against
    // what there is — or, accepted for a cluster that will grow, it waits saying so.
    const cpuBound = sendrecvJob("cpu-bound", "              resources: {limits: {cpu: \"2\"}}\n").replace("replicas: 3", "replicas: 1");
    await assert.rejects(jobs.client.submitJob({ requestId: "cpu-bound-refused", manifest: cpuBound }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError && e.code === Code.InvalidArgument, String(e));
      assert.match(e.message, /^the job can never fit on this platform: the gang needs 4000 cpuMilli in all \(2 replicas\) and the cluster has 2000; node small has 0 GPUs, 2000 cpuMilli \(2 CPUs\) and 1024 MB of memory in all/);
      assert.deepEqual(e.details.map((d) => [d.field, d.got]), [["spec.resources", "1 replica × (2000 cpuMilli) + 1 replica × (2000 cpuMilli)"]]);
      return true;
    });
    await jobs.client.submitJob({ requestId: "cpu-bound", manifest: cpuBound, allowUnschedulable: true });
    const waiting = await waitFor("cpu-bound to wait for CPU", async () => {
      const j = await jobs.client.getJob({ name: "cpu-bound" });
      return j.status?.reason === "Waiting" ? j : undefined;
    });
    assert.equal(waiting.status?.phase, "Queued");
    assert.match(waiting.status!.message, /can never fit: the gang needs 4000 cpuMilli in all \(2 replicas\) and the cluster has 2000/);
    await jobs.client.cancelJob({ name: "cpu-bound" });
    await jobs.stop();
  });
});
