import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

// RED metrics of every service, aggregated at the gateway's /metrics, scraped by a real Prometheus (Debian's package).
const ROOT = fileURLToPath(new URL("../../../", import.meta.url));
const BIN = join(ROOT, "apps/cli/bin/switchyard.js");

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

describe("metrics scraped by Prometheus", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-prom-"));
  const env: NodeJS.ProcessEnv = { ...process.env, SWITCHYARD_CONFIG: join(dir, "config.yaml") };
  delete env.SWITCHYARD_URL;
  delete env.SWITCHYARD_TOKEN;
  const procs: ChildProcess[] = [];
  let url = "";
  before(async () => {
    const up = spawn(process.execPath, [BIN, "up", "--data-dir", join(dir, "data"), "--port", "0"], { env, stdio: ["ignore", "pipe", "pipe"] });
    procs.push(up);
    url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: up.stdout! }).on("line", (l) => {
        const m = /Switchyard is up at (\S+)/.exec(l);
        if (m) resolve(m[1]!);
      });
      up.once("exit", (c) => reject(new Error(`up exited ${c}`)));
    });
  });
  after(async () => {
    for (const p of procs.reverse()) {
      const exited = new Promise((r) => p.once("exit", r));
      p.kill("SIGTERM");
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows client and server RED series of every service, per method and code, at the gateway and in Prometheus", async () => {
    for (let i = 0; i < 3; i++) assert.equal(spawnSync(process.execPath, [BIN, "list"], { env }).status, 0);
    const text = await (await fetch(`${url}/metrics`)).text();
    assert.match(text, /grpc_client_handled_total\{service="gateway",[^}]*grpc_method="ListJobs"[^}]*grpc_code="OK"[^}]*\} [1-9]/);
    assert.match(text, /grpc_server_handled_total\{service="jobs",[^}]*grpc_method="ListJobs"[^}]*\} [1-9]/);
    assert.match(text, /\{service="control"/);
    assert.equal(text.match(/^# TYPE grpc_server_handled_total /gm)?.length, 1, "one family, one TYPE line");

    const promPort = await freePort();
    const target = new URL(url).host;
    writeFileSync(join(dir, "prometheus.yml"), `global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: switchyard\n    static_configs: [{targets: ["${target}"]}]\n`);
    const prom = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: "ignore" });
    procs.push(prom);
    const q = encodeURIComponent('sum by (service) (grpc_server_handled_total{grpc_method="ListJobs"})');
    let result: { metric: { service: string }; value: [number, string] }[] = [];
    for (let i = 0; i < 150 && result.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      const body = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${q}`).then((r) => r.json() as Promise<{ data?: { result: typeof result } }>, () => undefined);
      result = body?.data?.result ?? [];
    }
    assert.deepEqual(result.map((r) => r.metric.service), ["jobs"]);
    assert.ok(Number(result[0]!.value[1]) >= 3);
  });
});
