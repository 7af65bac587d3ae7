import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// `switchyard up --single-process`: the same services and the same CLI, every service in one process.
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(ROOT, "apps/cli/bin/switchyard.js");

describe("switchyard up --single-process", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-single-"));
  const { SWITCHYARD_URL: _u, SWITCHYARD_TOKEN: _t, ...inherited } = process.env;
  const env: NodeJS.ProcessEnv = { ...inherited, SWITCHYARD_CONFIG: join(dir, "config.yaml") };
  let proc: ChildProcess;
  let url = "";
  const cli = (args: string[]) => {
    const r = spawnSync(process.execPath, [BIN, ...args], { env, encoding: "utf8", timeout: 60_000 });
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
  };
  before(async () => {
    proc = spawn(process.execPath, [BIN, "up", "--single-process", "--data-dir", join(dir, "data"), "--port", "0", "--gpus", "1", "--grace-ms", "500"], { env, stdio: ["ignore", "pipe", "pipe"] });
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: proc.stdout! }).on("line", (l) => {
        const m = /Switchyard is up at (\S+) .*single-process/.exec(l);
        if (m) resolve(m[1]!);
      });
      proc.once("exit", (c) => reject(new Error(`up exited ${c}`)));
    });
  });
  after(async () => {
    const exited = new Promise((r) => proc.once("exit", r));
    proc.kill("SIGTERM");
    await exited;
    rmSync(dir, { recursive: true, force: true });
  });

  it("runs jobs, answers REST and keeps one process for every service", async () => {
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
    // No child process other than the replicas' shims: the services live in the `up` process.
    const children = spawnSync("pgrep", ["-P", String(state.pid)], { encoding: "utf8" }).stdout.trim();
    assert.equal(children, "", `unexpected child processes: ${children}`);
  });
});
