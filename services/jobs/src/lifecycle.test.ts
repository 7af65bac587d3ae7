import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Code, SwitchyardError } from "@switchyard/core";
import { Sandbox, shellJob, waitFor, waitForPhase, type JobsProcess } from "./test-harness.js";

function processesWithEnv(marker: string): number[] {
  const pids: number[] = [];
  for (const pid of require_readdir("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/environ`, "latin1").includes(marker)) pids.push(Number(pid));
    } catch {
      /* gone */
    }
  }
  return pids;
}
import { readdirSync as require_readdir } from "node:fs";

describe("jobs service: the lifecycle of a job", () => {
  const sb = new Sandbox();
  let jobs: JobsProcess;
  before(async () => {
    jobs = await sb.startJobs({ SWITCHYARD_SIMULATE_GPUS: "1" });
  });
  after(() => sb.cleanup());

  it("runs a job to Succeeded with its events, logs and name=value metrics", async () => {
    const { job } = await jobs.client.submitJob({ manifest: shellJob("hello", "echo hello; echo 'epoch=1 loss=0.5'; echo 'epoch=2 loss=0.25'"), requestId: "r-hello" });
    assert.equal(job?.status?.phase, "Queued");
    const done = await waitForPhase(jobs.client, "hello", ["Succeeded", "Failed"]);
    assert.equal(done.status?.phase, "Succeeded");
    assert.equal(done.status?.replicas[0]?.exitCode, 0);
    const d = await jobs.client.describeJob({ name: "hello" });
    assert.deepEqual(d.events.map((e) => e.type), ["Queued", "Placed", "Started", "Exited", "Succeeded"]);
    let text = "";
    for await (const c of jobs.client.getLogs({ name: "hello" })) text += Buffer.from(c.data).toString();
    assert.match(text, /^hello\nepoch=1 loss=0.5\n/);
    const m = await jobs.client.getMetrics({ name: done.metadata!.uid });
    const loss = m.series.find((s) => s.name === "loss")!;
    assert.deepEqual(loss.points.map((p) => p.value), [0.5, 0.25]);
    assert.equal(loss.min, 0.25);
  });

  it("returns the first result for a retried submission with the same request id", async () => {
    const a = await jobs.client.submitJob({ manifest: shellJob("idem", "true"), requestId: "same-id" });
    const b = await jobs.client.submitJob({ manifest: shellJob("idem", "true"), requestId: "same-id" });
    assert.equal(b.replayed, true);
    assert.equal(b.job?.metadata?.uid, a.job?.metadata?.uid);
    const all = await jobs.client.listJobs({});
    assert.equal(all.jobs.filter((j) => j.metadata?.name === "idem").length, 1);
  });

  it("refuses a second job with the same name, saying how to fix it", async () => {
    await assert.rejects(jobs.client.submitJob({ manifest: shellJob("idem", "true"), requestId: "other-id" }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError);
      assert.equal(e.code, Code.AlreadyExists);
      assert.match(e.message, /--generate-name/);
      return true;
    });
    const g = await jobs.client.submitJob({ manifest: shellJob("idem", "true"), requestId: "gen-id", generateName: true });
    assert.match(g.job!.metadata!.name, /^idem-[a-z0-9]{5}$/);
  });

  it("rejects a bad spec with positions and stores nothing", async () => {
    const before = (await jobs.client.listJobs({})).jobs.length;
    const bad = "apiVersion: switchyard/v1\nkind: Job\nmetadata:\n  name: bad\nspec:\n  replicas: -2\n  command: [x]\n  resourcez: {}\n";
    await assert.rejects(jobs.client.submitJob({ manifest: bad, fileName: "bad.yaml", requestId: "bad" }), (e: unknown) => {
      assert.ok(e instanceof SwitchyardError);
      assert.equal(e.code, Code.InvalidArgument);
      assert.ok(e.details.some((d) => d.field.includes("replicas") && d.line === 6), JSON.stringify(e.details));
      assert.ok(e.details.some((d) => d.field.includes("resourcez") && d.line === 8));
      return true;
    });
    assert.equal((await jobs.client.listJobs({})).jobs.length, before);
  });

  it("keeps a 2-replica gang on a 1-GPU inventory Queued with a reason, never half-started", async () => {
    // It can never fit: refused at submission, unless accepted for a cluster that will grow.
    const manifest = shellJob("gang", "sleep 30", "  replicas: 2\n").replace("cpu: 10m", "gpus: 1, cpu: 10m");
    await assert.rejects(jobs.client.submitJob({ manifest, requestId: "gang-refused" }), (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument && /^the job can never fit on this platform: the gang needs 2 GPUs in all and the cluster has 1/.test(e.message));
    await jobs.client.submitJob({ manifest, requestId: "gang", allowUnschedulable: true });
    const j = await waitFor("a waiting reason", async () => {
      const j = await jobs.client.getJob({ name: "gang" });
      return j.status?.reason === "Waiting" ? j : undefined;
    });
    assert.equal(j.status?.phase, "Queued");
    assert.match(j.status!.message, /GPU/);
    assert.equal(j.status?.replicas.length, 0);
    const gpus = await jobs.client.listGpus({});
    assert.equal(gpus.gpus.length, 1);
    assert.equal(gpus.gpus[0]!.job, "");
    await jobs.client.cancelJob({ name: "gang" });
    assert.equal((await jobs.client.getJob({ name: "gang" })).status?.phase, "Cancelled");
  });

  it("retries with OnFailure up to backoffLimit, keeping the checkpoint directory", async () => {
    // Fails twice, then succeeds: the checkpoint directory survives across attempts.
    const script = 'n=$(cat "$SWITCHYARD_CHECKPOINT_DIR/n" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$SWITCHYARD_CHECKPOINT_DIR/n"; echo attempt=$n; [ $n -ge 3 ]';
    await jobs.client.submitJob({ manifest: shellJob("flaky", script, "  restartPolicy: OnFailure\n  backoffLimit: 3\n"), requestId: "flaky" });
    const j = await waitForPhase(jobs.client, "flaky", ["Succeeded", "Failed"]);
    assert.equal(j.status?.phase, "Succeeded");
    assert.equal(j.status?.attempt, 3);
    const d = await jobs.client.describeJob({ name: "flaky" });
    assert.equal(d.events.filter((e) => e.type === "Retrying").length, 2);
  });

  it("stops retrying under ExitCode when the exit code is permanent (1–127), and retries 128–255", async () => {
    await jobs.client.submitJob({ manifest: shellJob("perm", "exit 3", "  restartPolicy: ExitCode\n  backoffLimit: 3\n"), requestId: "perm" });
    const p = await waitForPhase(jobs.client, "perm", ["Succeeded", "Failed"]);
    assert.equal(p.status?.phase, "Failed");
    assert.equal(p.status?.attempt, 1);
    assert.equal(p.status?.replicas[0]?.exitCode, 3);
    await jobs.client.submitJob({ manifest: shellJob("signal", "exit 137", "  restartPolicy: ExitCode\n  backoffLimit: 2\n"), requestId: "signal" });
    const s = await waitForPhase(jobs.client, "signal", ["Succeeded", "Failed"]);
    assert.equal(s.status?.phase, "Failed");
    assert.equal(s.status?.attempt, 3, "two retries of a retryable code, then backoffLimit");
    assert.match(s.status!.message, /backoffLimit/);
  });

  it("fails a job past activeDeadlineSeconds and leaves no process behind", async () => {
    await jobs.client.submitJob({ manifest: shellJob("slow", "echo started; sleep 60 & sleep 60; wait", "  activeDeadlineSeconds: 1\n  env: {MARK: deadline-mark-4711}\n"), requestId: "slow" });
    const j = await waitForPhase(jobs.client, "slow", ["Succeeded", "Failed"]);
    assert.equal(j.status?.phase, "Failed");
    assert.equal(j.status?.reason, "DeadlineExceeded");
    assert.deepEqual(processesWithEnv("deadline-mark-4711"), []);
  });

  it("cancels a running job: every process of the replica gets SIGTERM, then SIGKILL", async () => {
    await jobs.client.submitJob({ manifest: shellJob("stubborn", "trap '' TERM; echo ready; sleep 60 & sleep 60; wait", "  env: {MARK: cancel-mark-4711}\n"), requestId: "stubborn" });
    await waitForPhase(jobs.client, "stubborn", ["Running"]);
    await waitFor("its processes", async () => processesWithEnv("cancel-mark-4711").length >= 2 || undefined);
    await jobs.client.cancelJob({ name: "stubborn" });
    const j = await waitForPhase(jobs.client, "stubborn", ["Cancelled"]);
    assert.equal(j.status?.replicas[0]?.state, "Terminated");
    assert.deepEqual(processesWithEnv("cancel-mark-4711"), []);
  });

  it("gives each replica SWITCHYARD_OUTPUT_DIR and lists and streams its artifacts", async () => {
    await jobs.client.submitJob({ manifest: shellJob("art", 'mkdir -p "$SWITCHYARD_OUTPUT_DIR/sub" && echo weights > "$SWITCHYARD_OUTPUT_DIR/sub/model.bin"'), requestId: "art" });
    await waitForPhase(jobs.client, "art", ["Succeeded"]);
    const list = await jobs.client.listArtifacts({ name: "art" });
    assert.deepEqual(list.artifacts.map((a) => a.path), [join("sub", "model.bin")]);
    assert.ok(existsSync(join(list.outputDir, "sub", "model.bin")));
    let data = "";
    for await (const c of jobs.client.readArtifact({ name: "art", path: "sub/model.bin" })) data += Buffer.from(c.data).toString();
    assert.equal(data, "weights\n");
    await assert.rejects(async () => {
      for await (const _ of jobs.client.readArtifact({ name: "art", path: "../../etc/passwd" })) void _;
    }, (e: unknown) => e instanceof SwitchyardError && e.code === Code.InvalidArgument);
  });
});
