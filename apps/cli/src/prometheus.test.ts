import { after, before, describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { findFreePort } from "@switchyard/executors";
import { cliEnv, runCli, spawnUp, type UpProcess } from "./test-platform.js";

// RED metrics of every service, aggregated at the gateway's /metrics, scraped by a real Prometheus (Debian's package).

describe("metrics scraped by Prometheus", () => {
  const dir = mkdtempSync(join(tmpdir(), "switchyard-prom-"));
  const env = cliEnv(join(dir, "config.yaml"));
  let platform: UpProcess;
  let prom: ChildProcess | undefined;
  let url = "";
  before(async () => {
    platform = await spawnUp(env, ["--data-dir", join(dir, "data"), "--port", "0"]);
    url = platform.url;
  });
  after(async () => {
    if (prom && prom.exitCode === null) {
      const exited = new Promise((r) => prom!.once("exit", r));
      prom.kill("SIGTERM");
      await exited;
    }
    await platform.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("shows client and server RED series of every service, per method and code, at the gateway and in Prometheus", async () => {
    for (let i = 0; i < 3; i++) assert.equal(runCli(env, ["list"]).code, 0);
    // /metrics is for admins: the admin's token here, from the file `up` wrote; none, a forged one or a viewer's is refused.
    const tokenFile = join(dir, "data", "admin-token");
    const token = readFileSync(tokenFile, "utf8").trim();
    assert.equal((await fetch(`${url}/metrics`)).status, 401);
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: "Bearer sy_eyJhbGciOiJIUzI1NiJ9.e30.x" } })).status, 401);
    const viewer = runCli(env, ["token", "create", "--user", "vic", "--team", "default", "--role", "viewer"]).stdout.trim();
    assert.equal((await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${viewer}` } })).status, 403, "admins only");
    const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
    assert.match(text, /grpc_client_handled_total\{service="gateway",[^}]*grpc_method="ListJobs"[^}]*grpc_code="OK"[^}]*\} [1-9]/);
    assert.match(text, /grpc_server_handled_total\{service="jobs",[^}]*grpc_method="ListJobs"[^}]*\} [1-9]/);
    assert.match(text, /\{service="control"/);
    assert.equal(text.match(/^# TYPE grpc_server_handled_total /gm)?.length, 1, "one family, one TYPE line");

    const promPort = await findFreePort();
    const target = new URL(url).host;
    writeFileSync(join(dir, "prometheus.yml"), `global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: switchyard\n    authorization: {type: Bearer, credentials_file: ${tokenFile}}\n    static_configs: [{targets: ["${target}"]}]\n`);
    prom = spawn("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`], { stdio: "ignore" });
    const q = encodeURIComponent('sum by (service) (grpc_server_handled_total{grpc_method="ListJobs"})');
    let result: { metric: { service: string }; value: [number, string] }[] = [];
    for (let i = 0; i < 150 && result.length === 0; i++) {
      await new Promise((r) => setTimeout(r, 200));
      // Not up yet (refused) or still starting (503, a text body): ask again.
      const body = await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${q}`)
        .then((r) => (r.ok ? (r.json() as Promise<{ data?: { result: typeof result } }>) : undefined))
        .catch(() => undefined);
      result = body?.data?.result ?? [];
    }
    assert.deepEqual(result.map((r) => r.metric.service), ["jobs"]);
    assert.ok(Number(result[0]!.value[1]) >= 3);
  });
});
