import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { freshPostgresDatabase, TEST_POSTGRES_ENV } from "@switchyard/store/testing";
import { Sandbox, shellJob, waitForPhase } from "./test-harness.js";

// The crash-safety test that runs on PostgreSQL as well (the rest of the suite runs on SQLite; the store contract
// suites run on both): kill -9 of the jobs service at named points of a job's lifecycle, then a restart on the same
// database — every acknowledged job is there, the command ran once. The jobs service's tables live in schema `jobs` of
// a database made for this file alone.
const URL = process.env[TEST_POSTGRES_ENV]?.trim();
const skip = URL ? false : `${TEST_POSTGRES_ENV} is not set: the PostgreSQL crash test was not run (url=$(scripts/postgres-local.sh start /tmp/pg) and set it)`;
if (skip) console.log(`# recovery-postgres.test.ts skipped: ${skip}`);

describe("jobs service on PostgreSQL: kill -9 at any point, then restart", { skip }, () => {
  const sb = new Sandbox();
  let db: { url: string; dispose(): Promise<void> };
  before(async () => {
    db = await freshPostgresDatabase(URL!);
  });
  after(async () => {
    sb.cleanup();
    await db?.dispose();
  });

  const runs = (file: string) => readFileSync(file, "utf8").split("\n").filter(Boolean).length;

  for (const point of ["after-place", "after-launch-replica", "after-running"] as const) {
    it(`recovers a job killed ${point} without starting it twice`, async () => {
      const env = { SWITCHYARD_DB: db.url };
      const counter = sb.file(`count-${point}`, "");
      const first = await sb.startJobs(env, point);
      await first.client.submitJob({ manifest: shellJob(`crash-${point}`, `echo run >> ${counter}; sleep 0.3; echo done`), requestId: point }).catch(() => undefined);
      await Sandbox.died(first);
      assert.equal(first.child.signalCode, "SIGKILL", "it died at the crash point, not of something else");
      const second = await sb.startJobs(env);
      const j = await waitForPhase(second.client, `crash-${point}`, ["Succeeded", "Failed"]);
      assert.equal(j.status?.phase, "Succeeded");
      assert.equal(runs(counter), 1, "the command ran exactly once");
      // Nothing of it went to a SQLite file in the data dir: the store is the database.
      assert.ok(!existsSync(join(sb.dataDir, "jobs", "jobs.db")), "no jobs.db: the jobs service's store is PostgreSQL");
      await second.stop();
    });
  }

  it("re-adopts a replica still running across the restart and keeps its metrics exactly once", async () => {
    const env = { SWITCHYARD_DB: db.url };
    const counter = sb.file("count-adopt", "");
    const jobs = await sb.startJobs(env);
    await jobs.client.submitJob({ manifest: shellJob("adopt", `echo run >> ${counter}; echo 'acc=0.5'; sleep 1.5; echo 'acc=0.9'`), requestId: "adopt" });
    await waitForPhase(jobs.client, "adopt", ["Running"]);
    await jobs.crash();
    const again = await sb.startJobs(env);
    const j = await waitForPhase(again.client, "adopt", ["Succeeded", "Failed"]);
    assert.equal(j.status?.phase, "Succeeded");
    assert.equal(runs(counter), 1);
    const m = await again.client.getMetrics({ name: "adopt" });
    assert.deepEqual(m.series.find((s) => s.name === "acc")?.points.map((p) => p.value), [0.5, 0.9]);
    await again.stop();
  });
});
