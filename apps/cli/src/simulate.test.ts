import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(ROOT, "apps/cli/bin/switchyard.js");
const OPENB = join(ROOT, "../shared/data/traces/alibaba-openb");

function run(args: string[]) {
  const r = spawnSync(process.execPath, [BIN, "simulate", ...args], { encoding: "utf8", timeout: 120_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe("switchyard simulate", () => {
  it("replays a synthetic Philly workload and reports the figures as JSON, the same for the same seed", () => {
    const args = ["--synthetic", "philly", "--jobs", "200", "--seed", "7", "--nodes", "4", "--gpus-per-node", "8", "--load", "0.9", "--teams", "3", "-o", "json"];
    const a = run(args);
    assert.equal(a.code, 0, a.stderr);
    const r = JSON.parse(a.stdout) as Record<string, number>;
    for (const k of ["jobs", "avgJctS", "p50JctS", "p95JctS", "p99JctS", "avgQueueDelayS", "p95QueueDelayS", "makespanS", "gpuUtilization", "jainFairness", "preemptions", "decisionsPerSec"]) assert.equal(typeof r[k], "number", k);
    assert.equal(r.jobs, 200);
    assert.ok(r.gpuUtilization! > 0 && r.gpuUtilization! <= 1);
    const b = JSON.parse(run(args).stdout) as Record<string, number>;
    assert.equal(b.avgJctS, r.avgJctS);
    const fifo = JSON.parse(run([...args.slice(0, -2), "--policy", "fifo", "-o", "json"]).stdout) as Record<string, number>;
    assert.equal(fifo.preemptions, 0);
  });

  it("refuses bad input with a clear error and exit code 2", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-sim-"));
    const empty = join(dir, "empty.csv");
    writeFileSync(empty, "");
    const e = run(["--trace", empty, "--format", "alibaba-openb"]);
    assert.equal(e.code, 2);
    assert.match(e.stderr, /empty/);
    const cols = join(dir, "cols.csv");
    writeFileSync(cols, "name,gpus,bogus\nj1,1,2\n");
    const c = run(["--trace", cols, "--format", "alibaba-openb"]);
    assert.equal(c.code, 2);
    assert.match(c.stderr, /column/i);
    assert.equal(run(["--synthetic", "philly", "--jobs", "10", "--nodes", "2", "--gpus-per-node", "0"]).code, 2);
    assert.equal(run(["--synthetic", "philly", "--load", "lots"]).code, 2);
  });

  it("refuses a job that can never fit with the reason and replays the rest; stops at the wall-time guard saying where", () => {
    const dir = mkdtempSync(join(tmpdir(), "switchyard-sim-"));
    const trace = join(dir, "trace.csv");
    writeFileSync(trace, "id,submit_s,duration_s,gpus\nsmall,0,100,2\nhuge,5,100,64\nlater,10,50,1\n");
    const r = run(["--trace", trace, "--nodes", "1", "--gpus-per-node", "4", "--policy", "tiresias"]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /refused 1 job that can never fit on this cluster:\n {2}huge: can never fit: the gang needs 64 GPUs in all and the cluster has 4/);
    assert.match(r.stdout, /^jobs\s+2$/m);
    assert.match(r.stdout, /^GPU time lost/m);
    const stopped = run(["--synthetic", "philly", "--jobs", "500", "--nodes", "1", "--gpus-per-node", "4", "--max-wall", "0"]);
    assert.equal(stopped.code, 1);
    assert.match(stopped.stderr, /stopped after \d+ s of wall time .* at simulated time \d+ s: \d+ of \d+ (training )?jobs finished/);
  });

  it("packs an openb variant without time columns, and says a replay needs them", { skip: !existsSync(join(OPENB, "openb_pod_list_multigpu20.csv")) && "the openb variants are not beside the repository (../shared/data)" }, () => {
    const pods = join(OPENB, "openb_pod_list_multigpu20.csv");
    const nodes = join(OPENB, "openb_node_list_gpu_node.csv");
    const r = run(["--trace", pods, "--format", "alibaba-openb", "--cluster", nodes, "--fill", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { allocatedGpus: number }).allocatedGpus > 0);
    const replay = run(["--trace", pods, "--format", "alibaba-openb", "--cluster", nodes]);
    assert.equal(replay.code, 2);
    assert.match(replay.stderr, /has no creation_time, scheduled_time, deletion_time columns: a replay needs arrival and run times/);
    assert.match(replay.stderr, /--fill/);
  });

  it("runs the FGD packing experiment on the openb trace", { skip: !existsSync(join(OPENB, "openb_pod_list_default.csv")) && "the openb trace is not beside the repository (../shared/data)" }, () => {
    const r = run(["--trace", join(OPENB, "openb_pod_list_default.csv"), "--format", "alibaba-openb", "--cluster", join(OPENB, "openb_node_list_gpu_node.csv"), "--fill", "-o", "json"]);
    assert.equal(r.code, 0, r.stderr);
    const o = JSON.parse(r.stdout) as { allocatedGpus: number; strandedGpus: number };
    assert.ok(o.allocatedGpus > 0 && o.strandedGpus >= 0);
  });
});
