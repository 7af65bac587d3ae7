import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import { cliEnv, runCli, spawnUp, type CliResult, type UpProcess } from "./test-platform.js";

// The platform as a user meets it: `switchyard up` as a real process tree (supervisor, control, jobs, gateway),
// driven through the real CLI binary against real sockets and a real SQLite file in a temp dir.
interface Platform extends UpProcess {
  dataDir: string;
  env: NodeJS.ProcessEnv;
}

const cli = (p: Platform, args: string[]): CliResult => runCli(p.env, args);

async function up(dir: string, extra: string[] = []): Promise<Platform> {
  const dataDir = join(dir, "data");
  const env = cliEnv(join(dir, "config.yaml"));
  return { ...(await spawnUp(env, ["--data-dir", dataDir, "--port", "0", "--grace-ms", "1000", ...extra])), dataDir, env };
}

describe("switchyard CLI against a running platform", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-cli-"));
  let p: Platform;
  before(async () => {
    p = await up(dir, ["--gpus", "2"]);
  });
  after(async () => {
    await p.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("writes the URL and a token to the CLI config, so commands need no flags", () => {
    const cfg = readFileSync(join(dir, "config.yaml"), "utf8");
    assert.match(cfg, new RegExp(`server: ${p.url.replace(/[.:/]/g, "\\$&")}`));
    assert.match(cfg, /token: sy_/);
    const g = cli(p, ["gpus"]);
    assert.equal(g.code, 0, g.stderr);
    assert.match(g.stdout, /Simulated GPU/);
  });

  it("runs the demo job to Succeeded with metrics and an ONNX model that ONNX Runtime loads", async () => {
    const s = cli(p, ["submit", "examples/demo-train/job.yaml", "--generate-name", "--wait"]);
    assert.equal(s.code, 0, s.stderr + s.stdout);
    const name = /job\/(\S+) submitted/.exec(s.stdout)![1]!;
    const j = JSON.parse(cli(p, ["get", name, "-o", "json"]).stdout) as { apiVersion: string; kind: string; metadata: { name: string; uid: string; team: string; creationTimestamp: string }; status: { phase: string; replicas: unknown[] } };
    assert.equal(j.apiVersion, "switchyard/v1");
    assert.equal(j.kind, "Job");
    assert.equal(j.metadata.name, name);
    assert.equal(j.status.phase, "Succeeded");
    assert.ok(j.metadata.uid && j.metadata.creationTimestamp);
    const m = JSON.parse(cli(p, ["metrics", j.metadata.uid, "-o", "json"]).stdout) as Record<string, { latest: number; points: unknown[] }>;
    assert.ok(m.accuracy && m.loss && m.epoch, Object.keys(m).join(","));
    assert.ok(m.val_accuracy!.latest >= 0.9, `val_accuracy ${m.val_accuracy!.latest}`);
    const out = join(dir, "download");
    const a = cli(p, ["artifacts", name, "--download", out]);
    assert.equal(a.code, 0, a.stderr);
    const session = await ort.InferenceSession.create(join(out, "model.onnx"));
    const r = await session.run({ input: new ort.Tensor("float32", new Float32Array([0.1, 0.2]), [1, 2]) });
    const probs = Array.from(r.probabilities!.data as Float32Array);
    assert.ok(Math.abs(probs.reduce((x, y) => x + y, 0) - 1) < 1e-4);
    const d = cli(p, ["describe", name]);
    assert.match(d.stdout, /Placed[\s\S]*Started[\s\S]*Exited\s+1\s+replica 0 exited with code 0[\s\S]*Succeeded/);
    const logs = cli(p, ["logs", name]);
    assert.match(logs.stdout, /epoch=1 loss=/);
  });

  it("runs a real 2-replica PyTorch DDP job with Kubeflow's environment", { skip: !existsSync("/usr/lib/python3/dist-packages/torch") && "python3-torch is not installed" }, () => {
    const s = cli(p, ["submit", "examples/pytorch-ddp/job.yaml", "--generate-name", "--follow"]);
    assert.equal(s.code, 0, s.stderr + s.stdout);
    assert.match(s.stdout, /allreduce ok: sum 3.0 over world size 2 \(rank 0\)/);
    const env = JSON.parse(/ENV (\{.*\})/.exec(s.stdout)![1]!) as Record<string, string>;
    assert.equal(env.WORLD_SIZE, "2");
    assert.equal(env.RANK, "0");
    assert.equal(env.PET_NODE_RANK, "0");
    assert.equal(env.PET_NNODES, "2");
    assert.equal(env.MASTER_ADDR, "127.0.0.1");
    assert.equal(env.PET_MASTER_PORT, env.MASTER_PORT);
    assert.equal(env.PYTHONUNBUFFERED, "1");
    const name = /job\/(\S+) submitted/.exec(s.stdout)![1]!;
    const w = cli(p, ["logs", name, "--replica", "1"]);
    const wenv = JSON.parse(/ENV (\{.*\})/.exec(w.stdout)![1]!) as Record<string, string>;
    assert.equal(wenv.RANK, "1");
    assert.equal(wenv.MASTER_PORT, env.MASTER_PORT);
  });

  it("exits 1 when a waited-for job fails, 2 for bad input, 3 when the platform refuses the token", () => {
    const failing = join(dir, "fail.yaml");
    writeFileSync(failing, "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: fails}\nspec:\n  command: [/bin/sh, -c, 'exit 4']\n  resources: {cpu: 10m}\n");
    assert.equal(cli(p, ["submit", failing, "--wait"]).code, 1);
    const again = cli(p, ["submit", failing]);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /already exists[\s\S]*--generate-name/);
    const bad = join(dir, "bad.yaml");
    writeFileSync(bad, "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: bad}\nspec:\n  command: [x]\n  resources: {gpus: -1}\n");
    const v = cli(p, ["validate", bad]);
    assert.equal(v.code, 2);
    assert.match(v.stderr, /bad\.yaml:6:\d+/);
    const s = cli(p, ["submit", bad]);
    assert.equal(s.code, 2);
    assert.match(s.stderr, /gpus/);
    assert.equal(cli(p, ["list", "--token", "wrong"]).code, 3);
    assert.equal(cli(p, ["list", "--server", "http://127.0.0.1:1"]).code, 3);
    assert.equal(cli(p, ["get", "no-such-job"]).code, 2);
  });

  it("applies team queues from a file and shows quotas and usage", () => {
    const q = join(dir, "queues.yaml");
    writeFileSync(q, "queues:\n  - name: default\n    resources:\n      gpus: {nominalQuota: 2}\n      cpuMilli: 4000\n");
    const a = cli(p, ["apply", "-f", q]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /queues applied \(version 1\): default/);
    const l = cli(p, ["queues"]);
    assert.equal(l.code, 0, l.stderr);
    assert.match(l.stdout, /default\s+default\s+-\s+gpus\s+2\s+∞\s+all\s+0\s+0/);
    assert.match(l.stdout, /cpuMilli\s+4000/);
    const bad = join(dir, "bad-queues.yaml");
    writeFileSync(bad, "queues:\n  - name: default\n    resources:\n      memory: 10\n");
    const b = cli(p, ["apply", "-f", bad]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /bad-queues\.yaml:4:\d+[\s\S]*memoryMb/);
    const u = cli(p, ["usage", "--since", "1h"]);
    assert.equal(u.code, 0, u.stderr);
    assert.match(u.stdout, /^TEAM\s+USER\s+JOBS\s+GPU-HOURS/);
    assert.match(u.stdout, /\ndefault\s/);
  });

  it("applies mesh policies that every service reloads without a restart, and refuses unenforced fields", async () => {
    const drill = join(dir, "drill.yaml");
    writeFileSync(
      drill,
      "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: jobs-drill}\nspec:\n  hosts: [jobs]\n  http:\n" +
        "  - match: [{uri: {exact: /switchyard.v1.Jobs/ListGpus}}]\n    route: [{destination: {host: jobs}}]\n    retries: {attempts: 0}\n    fault: {abort: {grpcStatus: UNAVAILABLE, percentage: {value: 100}}}\n" +
        "  - route: [{destination: {host: jobs}}]\n",
    );
    assert.equal(cli(p, ["gpus"]).code, 0);
    const a = cli(p, ["mesh", "apply", "-f", drill]);
    assert.equal(a.code, 0, a.stderr);
    assert.match(a.stdout, /VirtualService\/jobs-drill v1/);
    assert.match(cli(p, ["mesh", "get"]).stdout, /VirtualService\s+jobs-drill\s+1/);
    // The gateway's mesh client follows the config center: the drill's abort reaches ListGpus only.
    let g = cli(p, ["gpus"]);
    for (let i = 0; i < 50 && g.code === 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      g = cli(p, ["gpus"]);
    }
    assert.equal(g.code, 3, "UNAVAILABLE from the injected fault");
    assert.match(g.stderr, /fault/);
    assert.equal(cli(p, ["list"]).code, 0, "other methods are untouched");
    assert.equal(cli(p, ["mesh", "delete", "VirtualService", "jobs-drill"]).code, 0);
    for (let i = 0; i < 50 && g.code !== 0; i++) {
      await new Promise((r) => setTimeout(r, 100));
      g = cli(p, ["gpus"]);
    }
    assert.equal(g.code, 0);
    const bad = join(dir, "bad-mesh.yaml");
    writeFileSync(bad, "apiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: x}\nspec:\n  hosts: [jobs]\n  http:\n  - route: [{destination: {host: jobs}}]\n    mirror: {host: jobs}\n");
    const b = cli(p, ["mesh", "apply", "-f", bad]);
    assert.equal(b.code, 2);
    assert.match(b.stderr, /mirror/);
    const st = cli(p, ["mesh", "status"]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /^SERVICE\s+ENDPOINTS\s+CALLS\s+ERRORS/);
    assert.match(st.stdout, /\njobs\s+unix:\S+\/jobs\.sock \(serving\)\s+[1-9]\d*\s+[1-9]/, "jobs' calls and the injected faults' errors (jobs listens on a Unix socket in the data dir)");
    assert.match(st.stdout, /\ncontrol\s+unix:\S+\/control\.sock/);
    assert.match(st.stdout, new RegExp(`\\ngateway \\(edge\\)\\s+${p.url.replace(/[.]/g, "\\.")} \\(serving\\)\\s+[1-9]\\d*`), "the gateway is listed too, with the calls it forwarded inward");
  });

  it("answers curl-style Connect JSON on the same port", async () => {
    const token = /token: (\S+)/.exec(readFileSync(join(dir, "config.yaml"), "utf8"))![1]!;
    const res = await fetch(`${p.url}/switchyard.v1.Jobs/ListJobs`, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${token}` }, body: "{}" });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { jobs: { metadata: { name: string } }[] };
    assert.ok(body.jobs.some((j) => j.metadata.name === "fails"));
    const unauth = await fetch(`${p.url}/switchyard.v1.Jobs/ListJobs`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(unauth.status, 401);
  });

  it("keeps every job, and finishes running ones, after kill -9 of every platform process", async () => {
    const slow = join(dir, "slow.yaml");
    writeFileSync(slow, "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: survivor}\nspec:\n  command: [/bin/sh, -c, 'sleep 2; echo survived=1']\n  resources: {cpu: 10m}\n");
    assert.equal(cli(p, ["submit", slow]).code, 0);
    for (;;) {
      if (/Running/.test(cli(p, ["get", "survivor"]).stdout)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = JSON.parse(cli(p, ["list", "-o", "json"]).stdout) as { items: unknown[] };
    const state = JSON.parse(readFileSync(join(p.dataDir, "up.json"), "utf8")) as { pid: number; services: Record<string, number> };
    for (const pid of [state.pid, ...Object.values(state.services)]) process.kill(pid, "SIGKILL");
    await new Promise((r) => setTimeout(r, 300));
    p = await up(dir, ["--gpus", "2"]);
    const w = cli(p, ["submit", slow]);
    assert.equal(w.code, 2, "the name is still taken: the job survived");
    for (;;) {
      const g = cli(p, ["get", "survivor", "-o", "json"]);
      const phase = (JSON.parse(g.stdout) as { status: { phase: string } }).status.phase;
      if (phase === "Succeeded" || phase === "Failed") {
        assert.equal(phase, "Succeeded");
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    const afterList = JSON.parse(cli(p, ["list", "-o", "json"]).stdout) as { items: unknown[] };
    assert.equal(afterList.items.length, before.items.length);
    assert.match(cli(p, ["logs", "survivor"]).stdout, /survived=1/);
  });

  it("stops every service when only the supervisor is killed -9, and the job it was running finishes under the next up", async () => {
    const slow = join(dir, "slow2.yaml");
    writeFileSync(slow, "apiVersion: switchyard/v1\nkind: Job\nmetadata: {name: outlives-up}\nspec:\n  command: [/bin/sh, -c, 'sleep 2; echo outlived=1']\n  resources: {cpu: 10m}\n");
    assert.equal(cli(p, ["submit", slow]).code, 0);
    while (!/Running/.test(cli(p, ["get", "outlives-up"]).stdout)) await new Promise((r) => setTimeout(r, 100));
    const state = JSON.parse(readFileSync(join(p.dataDir, "up.json"), "utf8")) as { pid: number; services: Record<string, number> };
    process.kill(state.pid, "SIGKILL");
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const deadline = Date.now() + 15_000;
    while (Object.values(state.services).some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const orphans = Object.entries(state.services).filter(([, pid]) => alive(pid));
    for (const [, pid] of orphans) process.kill(pid, "SIGKILL");
    assert.deepEqual(orphans, [], "no service may outlive the supervisor that started it");
    p = await up(dir, ["--gpus", "2"]);
    for (;;) {
      const phase = (JSON.parse(cli(p, ["get", "outlives-up", "-o", "json"]).stdout) as { status: { phase: string } }).status.phase;
      if (phase === "Succeeded" || phase === "Failed") {
        assert.equal(phase, "Succeeded");
        break;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(cli(p, ["logs", "outlives-up"]).stdout, /outlived=1/);
  });
});
