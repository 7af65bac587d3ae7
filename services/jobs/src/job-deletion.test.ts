// A finished job's end of life against the real service: cancel says it has finished, delete frees its name (its
// files go only with purge, its accounting stays), a submission with replace and a rerun take the place of a finished
// job, and nothing of this touches a job that still runs.
import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { Queues } from "@switchyard/api";
import { Code, SwitchyardError } from "@switchyard/core";
import { Sandbox, shellJob, waitForPhase, type JobsProcess } from "./test-harness.js";

async function refusal(p: Promise<unknown>): Promise<SwitchyardError> {
  return p.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => SwitchyardError.from(e),
  );
}

async function logOf(jobs: JobsProcess, name: string): Promise<string> {
  let text = "";
  for await (const c of jobs.client.getLogs({ name })) text += Buffer.from(c.data).toString();
  return text;
}

describe("jobs service: deleting, replacing and rerunning finished jobs", () => {
  const sb = new Sandbox();
  let jobs: JobsProcess;
  before(async () => {
    jobs = await sb.startJobs({ SWITCHYARD_SIMULATE_GPUS: "1" });
  });
  after(() => sb.cleanup());

  const writer = (name: string, word: string) => shellJob(name, `echo ${word}; echo ${word} > "$SWITCHYARD_OUTPUT_DIR/model.txt"`);

  it("says a finished job has finished when asked to cancel it", async () => {
    await jobs.client.submitJob({ manifest: writer("done", "one") });
    await waitForPhase(jobs.client, "done", ["Succeeded"]);
    const e = await refusal(jobs.client.cancelJob({ name: "done" }));
    assert.equal(e.code, Code.FailedPrecondition);
    assert.match(e.message, /^job "done" has already finished \(Succeeded at \d{4}-\d\d-\d\dT[\d:.]+Z\): there is nothing to cancel; delete it with `switchyard delete done`/);
  });

  it("deletes a finished job: gone from every lookup, its name free, its files kept until retention, its usage counted", async () => {
    const dup = await refusal(jobs.client.submitJob({ manifest: writer("done", "two") }));
    assert.equal(dup.code, Code.AlreadyExists);
    assert.match(dup.message, /delete the old one \(switchyard delete done\) or replace it \(submit --replace\)/);
    const before = await jobs.client.getJob({ name: "done" });
    const r = await jobs.client.deleteJob({ name: "done" });
    assert.equal(r.job?.metadata?.uid, before.metadata?.uid);
    assert.equal(r.purged, false);
    assert.ok(existsSync(join(r.outputDir, "model.txt")), "without purge the artifacts stay on disk");
    for (const lookup of [{ name: "done" }, { name: before.metadata!.uid }]) assert.equal((await refusal(jobs.client.getJob(lookup))).code, Code.NotFound);
    assert.equal((await refusal(jobs.client.deleteJob({ name: "done" }))).code, Code.NotFound);
    assert.ok(!(await jobs.client.listJobs({})).jobs.some((j) => j.metadata?.name === "done"));
    // The name is free again; the deleted job still counts in the team's accounting.
    await jobs.client.submitJob({ manifest: writer("done", "two") });
    const second = await waitForPhase(jobs.client, "done", ["Succeeded"]);
    assert.notEqual(second.metadata?.uid, before.metadata?.uid);
    assert.equal(await logOf(jobs, "done"), "two\n");
    const queues = sb.client(Queues, jobs.address);
    try {
      const usage = await queues.getUsage({});
      assert.ok((usage.rows.find((u) => u.team === "default")?.jobs ?? 0) >= 2, JSON.stringify(usage.rows));
    } finally {
      queues.close();
    }
    // With purge its logs and artifacts go now.
    const dir = (await jobs.client.listArtifacts({ name: "done" })).outputDir;
    const purged = await jobs.client.deleteJob({ name: "done", purge: true });
    assert.equal(purged.purged, true);
    assert.ok(purged.freedBytes > 0n);
    assert.equal(purged.outputDir, "");
    assert.ok(!existsSync(dir), "purged: the job's directory is gone");
  });

  it("refuses to delete or replace a job that still runs, and takes its place once it is cancelled", async () => {
    await jobs.client.submitJob({ manifest: shellJob("run", "sleep 30") });
    const running = await waitForPhase(jobs.client, "run", ["Running"]);
    const del = await refusal(jobs.client.deleteJob({ name: "run" }));
    assert.equal(del.code, Code.FailedPrecondition);
    assert.equal(del.message, 'job "run" is Running and cannot be deleted until it has finished: cancel it first (switchyard cancel run), then delete it');
    const rep = await refusal(jobs.client.submitJob({ manifest: shellJob("run", "echo replaced"), replace: true }));
    assert.equal(rep.code, Code.FailedPrecondition);
    assert.match(rep.message, /^job "run" is Running and cannot be replaced until it has finished: cancel it first \(switchyard cancel run\), then submit again with --replace/);
    assert.equal((await jobs.client.getJob({ name: "run" })).status?.phase, "Running", "the refusal changed nothing");

    await jobs.client.cancelJob({ name: "run" });
    await waitForPhase(jobs.client, "run", ["Cancelled"]);
    // A second cancel (a retry) answers as the first did.
    assert.equal((await jobs.client.cancelJob({ name: "run" })).status?.phase, "Cancelled");
    const replaced = await jobs.client.submitJob({ manifest: shellJob("run", "echo replaced"), replace: true });
    assert.notEqual(replaced.job?.metadata?.uid, running.metadata?.uid);
    await waitForPhase(jobs.client, "run", ["Succeeded"]);
    assert.equal(await logOf(jobs, "run"), "replaced\n");
    const events = (await jobs.client.describeJob({ name: "run" })).events;
    assert.equal(events[1]?.type, "Replaced");
    assert.match(events[1]!.message, new RegExp(`^replaces the job of the same name that had finished \\(Cancelled, uid ${running.metadata!.uid}\\), now deleted$`));
    assert.equal((await refusal(jobs.client.getJob({ name: running.metadata!.uid }))).code, Code.NotFound);
    // replace with no job of that name is an ordinary submission.
    await jobs.client.submitJob({ manifest: shellJob("fresh", "true"), replace: true });
    await waitForPhase(jobs.client, "fresh", ["Succeeded"]);
  });

  it("reruns a finished job from its stored spec, under its own name or a fresh one, secrets included", async () => {
    const manifest = shellJob("again", 'echo "run token=$TOKEN"', "  env: {TOKEN: {value: inline-s3cret, secret: true}}\n");
    const first = await jobs.client.submitJob({ manifest });
    await waitForPhase(jobs.client, "again", ["Succeeded"]);
    const same = await jobs.client.rerunJob({ name: "again" });
    assert.equal(same.job?.metadata?.name, "again");
    assert.notEqual(same.job?.metadata?.uid, first.job?.metadata?.uid);
    await waitForPhase(jobs.client, "again", ["Succeeded"]);
    assert.equal(await logOf(jobs, "again"), "run token=inline-s3cret\n", "the inline secret was sealed again for the new job");
    assert.equal((await refusal(jobs.client.getJob({ name: first.job!.metadata!.uid }))).code, Code.NotFound, "the old one was deleted");

    const fresh = await jobs.client.rerunJob({ name: "again", generateName: true });
    assert.match(fresh.job!.metadata!.name, /^again-[a-z0-9]{5}$/);
    await waitForPhase(jobs.client, fresh.job!.metadata!.name, ["Succeeded"]);
    assert.equal((await jobs.client.getJob({ name: "again" })).metadata?.uid, same.job?.metadata?.uid, "a fresh name keeps the old job");
    // Idempotent by request id, like a submission.
    const a = await jobs.client.rerunJob({ name: "again", generateName: true, requestId: "rerun-1" });
    const b = await jobs.client.rerunJob({ name: "again", generateName: true, requestId: "rerun-1" });
    assert.equal(b.replayed, true);
    assert.equal(b.job?.metadata?.uid, a.job?.metadata?.uid);

    await jobs.client.submitJob({ manifest: shellJob("busy", "sleep 30") });
    await waitForPhase(jobs.client, "busy", ["Running"]);
    const busy = await refusal(jobs.client.rerunJob({ name: "busy" }));
    assert.equal(busy.code, Code.FailedPrecondition);
    assert.match(busy.message, /^job "busy" is Running and cannot be rerun under its own name until it has finished: cancel it first \(switchyard cancel busy\), then rerun it, or rerun it under a fresh name now \(--generate-name\)$/);
    await jobs.client.cancelJob({ name: "busy" });
  });
});
