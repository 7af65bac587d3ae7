import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { cliEnv, runCli, spawnUp, type UpProcess } from "./test-platform.js";

// A job's life as a user meets it in the CLI: what never fits is refused (unless the cluster will grow), `queues`
// lists what waits and why, `--wait` says why it waits, a finished job is cancelled, deleted and run again by name.

const manifest = (name: string, gpus: number, command: string) =>
  `apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: ${name}}\nspec:\n  resources: {gpus: ${gpus}}\n  command: [/bin/sh, -c, "${command}"]\n`;

describe("switchyard submit, queues, cancel, delete and rerun", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-jobs-cli-"));
  const env = cliEnv(join(dir, "config.yaml"));
  let platform: UpProcess;
  const cli = (...args: string[]) => runCli(env, args);
  const file = (name: string, text: string): string => {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  };

  before(async () => {
    platform = await spawnUp({ ...env, SWITCHYARD_LOG_LEVEL: "warn" }, ["--data-dir", join(dir, "data"), "--port", "0", "--gpus", "1"]);
  });
  after(async () => {
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("refuses a job that can never fit, exit 2, and takes it with --allow-unschedulable", () => {
    const big = file("big.yaml", manifest("big", 4, "true"));
    const refused = cli("submit", big);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /can never fit on this platform: it needs 4 GPUs on one node and the largest node has 1/);
    assert.match(refused.stderr, /--allow-unschedulable/);
    const taken = cli("submit", big, "--allow-unschedulable");
    assert.equal(taken.code, 0, taken.stderr);
    const q = cli("queues");
    assert.equal(q.code, 0, q.stderr);
    assert.match(q.stdout, /LEND-LIMIT/);
    assert.match(q.stdout, /pending jobs:\n.*\n\S+\s+1\s+big\s+default\s+Waiting\s+.*can never fit/, q.stdout);
    assert.equal(cli("cancel", "big").code, 0);
  });

  it("says why a job waits while --wait waits; cancel of a finished job says it has finished; delete and rerun by name", () => {
    const hog = file("hog.yaml", manifest("hog", 1, "sleep 6"));
    const next = file("next.yaml", manifest("next", 1, "echo next ran"));
    assert.equal(cli("submit", hog).code, 0);
    const waited = cli("submit", next, "--wait");
    assert.equal(waited.code, 0, waited.stderr);
    assert.match(waited.stderr, /job\/next is waiting: needs 1 GPU; 0 of 1 GPUs free/);

    const cancel = cli("cancel", "next");
    assert.equal(cancel.code, 2);
    assert.match(cancel.stderr, /job "next" has already finished \(Succeeded/);
    const again = cli("submit", next);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /switchyard delete next/);
    const replaced = cli("submit", next, "--replace", "--wait");
    assert.equal(replaced.code, 0, replaced.stderr);
    const rerun = cli("rerun", "next", "--wait");
    assert.equal(rerun.code, 0, rerun.stderr);
    assert.match(cli("logs", "next").stdout, /next ran/);
    const del = cli("delete", "next", "--purge");
    assert.equal(del.code, 0, del.stderr);
    assert.match(del.stdout, /job\/next deleted \(it had Succeeded\); its files are deleted/);
    assert.equal(cli("get", "next").code, 2, "gone");
    assert.equal(cli("submit", file("long.yaml", manifest("long", 0, "sleep 60"))).code, 0);
    const running = cli("delete", "long");
    assert.equal(running.code, 2);
    assert.match(running.stderr, /cannot be deleted until it has finished: cancel it first/);
    assert.equal(cli("cancel", "long").code, 0);
  });
});
