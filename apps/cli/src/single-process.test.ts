import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliEnv, runCli, spawnUp, type UpProcess } from "./test-platform.js";

// `switchyard up --single-process`: the same services and the same CLI, every service in one process.

describe("switchyard up --single-process", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-single-"));
  const env = cliEnv(join(dir, "config.yaml"));
  let platform: UpProcess;
  let url = "";
  const cli = (args: string[]) => runCli(env, args);
  before(async () => {
    platform = await spawnUp(env, ["--single-process", "--data-dir", join(dir, "data"), "--port", "0", "--gpus", "1", "--grace-ms", "500"]);
    url = platform.url;
  });
  after(async () => {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs jobs, answers REST, hosts experiments and keeps one process for every service", async () => {
    const state = JSON.parse(readFileSync(join(dir, "data", "up.json"), "utf8")) as { pid: number; mode: string; services: Record<string, number> };
    assert.equal(state.mode, "single-process");
    assert.deepEqual(state.services, {});
    const job = join(dir, "job.yaml");
    writeFileSync(job, "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: one}\nspec:\n  command: [/bin/sh, -c, 'echo from-one; echo score=0.5']\n  resources: {gpus: 1, cpu: 10m}\n");
    const s = cli(["submit", job, "--wait"]);
    assert.equal(s.code, 0, s.stderr);
    assert.match(cli(["logs", "one"]).stdout, /from-one/);
    assert.match(cli(["describe", "one"]).stdout, /replica 0 on \S+ GPUs \[0\]/);
    const token = readFileSync(join(dir, "data", "admin-token"), "utf8").trim();
    const res = await fetch(`${url}/v1/jobs/one`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { status: { phase: string } }).status.phase, "Succeeded");
    // The experiments service is hosted here too, reached through the gateway like the others.
    const experiments = cli(["experiments"]);
    assert.equal(experiments.code, 0, experiments.stderr);
    assert.match(experiments.stdout, /^no experiments/);
    const dry = cli(["experiments", "create", "-f", "examples/demo-train/experiment.yaml", "--dry-run"]);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^experiment\/demo-tune is valid \(dry run, nothing stored\)/);
    // No child process other than the replicas' shims: the services live in the `up` process.
    const children = spawnSync("pgrep", ["-P", String(state.pid)], { encoding: "utf8" }).stdout.trim();
    assert.equal(children, "", `unexpected child processes: ${children}`);
  });
});
